// The step's outputs: the ids, the `results` JSON cut to GitHub's 1 MB, the counts and branch
// outputs a later step tests, the reviewed plan; and the counts sentence the log and summary open with.
import { type Change, type Plan, slotsAfter } from '../plan/plan.js'
import type { ReviewablePlan } from '../plan/plan-hash.js'
import { distinctIds, EXISTING, type Outcome, type Result, type Status } from './results.js'

/** Every output of a run, and how many entries of `results` fit in its output. Pure. */
export function buildOutputs(
  outcome: Outcome,
  results: readonly Result[],
  now: Date
): { outputs: Record<string, string>; kept: number } {
  const resultsJson = resultsOutput(results)
  const outputs: Record<string, string> = {
    'certificate-ids': JSON.stringify(distinctIds(results, ['uploaded', ...EXISTING])),
    'uploaded-ids': JSON.stringify(distinctIds(results, ['uploaded'])),
    'existing-ids': JSON.stringify(distinctIds(results, EXISTING)),
    results: resultsJson.json,
    'slots-left': outcome.plan ? String(slotsLeft(outcome, outcome.plan)) : '',
    'activated-ids': doneIds(outcome, 'activate'),
    'deactivated-ids': doneIds(outcome, 'deactivate'),
    'renamed-ids': doneIds(outcome, 'rename'),
    'deleted-ids': doneIds(outcome, 'delete'),
    changes: JSON.stringify(outcome.changes),
    workloads: JSON.stringify(outcome.workloads ?? []),
    ...branchOutputs(outcome, results, now),
    ...planOutputs(outcome.reviewable)
  }
  return { outputs, kept: resultsJson.kept }
}

/** GitHub limits each output to 1 MB; `results` keeps the entries that fit below this many bytes. */
export const OUTPUT_LIMIT = 1000 * 1000 - 1024

/** `results` as JSON, with only as many entries as fit in OUTPUT_LIMIT bytes, and how many that is. */
function resultsOutput(results: readonly Result[]): { json: string; kept: number } {
  const json = JSON.stringify(results)
  if (Buffer.byteLength(json) <= OUTPUT_LIMIT) return { json, kept: results.length }
  const sizes = results.map((r) => Buffer.byteLength(JSON.stringify(r)) + 1)
  let kept = 0
  for (let total = 2; kept < results.length && total + sizes[kept] <= OUTPUT_LIMIT; kept++) total += sizes[kept]
  return { json: JSON.stringify(results.slice(0, kept)), kept }
}

export function countsOf(outcome: Outcome, results: readonly Result[]): string {
  // A certificate met twice is counted once.
  // The statuses count distinct certificates; blocks and files that hold none are counted apart.
  const distinct = new Map<string, Status>()
  for (const r of results) if (r.fingerprint !== null) distinct.set(r.fingerprint, r.status)
  const byStatus = new Map<Status, number>()
  for (const status of distinct.values()) byStatus.set(status, (byStatus.get(status) ?? 0) + 1)
  const parts = [...byStatus].map(([status, n]) => `${n} ${status}`)
  const rejected = results.filter((r) => r.fingerprint === null).length
  if (rejected > 0)
    parts.push(`${rejected} ${rejected === 1 ? 'block or file' : 'blocks or files'} with no certificate`)
  const verdicts = outcome.workloads ?? []
  const refused = verdicts.filter((v) => v.problem !== null).length
  if (verdicts.length > 0)
    parts.push(
      `${verdicts.length} client certificate${verdicts.length === 1 ? '' : 's'} verified${refused > 0 ? ` (${refused} refused)` : ''}`
    )
  const { errors, warnings } = tally(outcome)
  const certificates = results.filter((r) => r.fingerprint !== null)
  const unique = new Set(certificates.map((r) => r.fingerprint)).size
  const found = `${certificates.length} certificate${certificates.length === 1 ? '' : 's'}${unique < certificates.length ? ` (${unique} distinct)` : ''}`
  let text = `Checked ${outcome.files.length} file${outcome.files.length === 1 ? '' : 's'}, ${found}: ${parts.join(', ') || 'nothing found'}; ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}.`
  if (outcome.plan) {
    const left = slotsLeft(outcome, outcome.plan)
    text += ` The organization holds ${outcome.plan.cap - left} of ${outcome.plan.cap} certificates (${left} slot${left === 1 ? '' : 's'} left)`
    if (outcome.mode === 'plan') text += `; publishing would leave ${slotsAfter(outcome.plan)}`
    text += '.'
  }
  return text
}

const doneIds = (outcome: Outcome, action: Change['action']): string =>
  JSON.stringify([...new Set(outcome.changes.filter((c) => c.action === action && c.done).map((c) => c.id))])

/** Slots left after what this run did: its deletions free some, its uploads take some. */
const slotsLeft = (outcome: Outcome, plan: Plan): number =>
  plan.held !== undefined
    ? plan.cap - plan.held
    : plan.cap -
      plan.total -
      outcome.uploaded.size +
      outcome.changes.filter((c) => c.action === 'delete' && c.done).length

/** The numbers of the `counts` output. */
export interface Counts {
  found: number
  distinct: number
  valid: number
  invalid: number
  existing: number
  uploaded: number
  activated: number
  deactivated: number
  renamed: number
  deleted: number
  warnings: number
  errors: number
}

/**
 * The errors and warnings a run reports, in the counts line and the `counts` output: every problem
 * by its severity, every warning of the run itself (`notices`, the apply's warnings among them), and
 * a failure tied to no certificate (a write that failed) as one error, so an exit-1 run never says 0.
 */
export function tally(outcome: Outcome): { errors: number; warnings: number } {
  const problemErrors = outcome.problems.filter((p) => p.severity === 'error').length
  return {
    errors: problemErrors > 0 ? problemErrors : outcome.failure ? 1 : 0,
    warnings: outcome.problems.length - problemErrors + (outcome.notices?.length ?? 0)
  }
}

const DAY_MS = 24 * 60 * 60 * 1000

/**
 * The outputs a later step branches on: whether anything changed (or would, in plan), the counts,
 * and the earliest expiry among the matched certificates. In plan, the change counts are what
 * publish would do; in publish, what was done.
 */
export function branchOutputs(outcome: Outcome, results: readonly Result[], now: Date): Record<string, string> {
  const counted = outcome.mode === 'plan' ? outcome.changes : outcome.changes.filter((c) => c.done)
  const changed = (action: Change['action']): number => counted.filter((c) => c.action === action).length
  // One verdict per distinct certificate; every rejected block or file is one invalid entry.
  const verdicts = new Map<string, boolean>()
  results.forEach((r, i) => verdicts.set(r.fingerprint ?? `entry ${i}`, r.status !== 'invalid'))
  const certificates = results.filter((r) => r.fingerprint !== null)
  const { errors, warnings } = tally(outcome)
  const counts: Counts = {
    found: certificates.length,
    distinct: new Set(certificates.map((r) => r.fingerprint)).size,
    valid: [...verdicts.values()].filter(Boolean).length,
    invalid: [...verdicts.values()].filter((ok) => !ok).length,
    existing: outcome.plan?.existing.size ?? 0,
    uploaded: changed('upload'),
    activated: changed('activate'),
    deactivated: changed('deactivate'),
    renamed: changed('rename'),
    deleted: changed('delete'),
    warnings,
    errors
  }
  const expiries = outcome.files.flatMap((f) => f.certificates.map((c) => c.notAfter.getTime()))
  const next = expiries.length ? Math.min(...expiries) : undefined
  return {
    // A write whose outcome is unknown may have changed the organization.
    'has-changes': String(
      outcome.mode !== 'validate' && (counted.length > 0 || outcome.changes.some((c) => c.unsure && !c.done))
    ),
    counts: JSON.stringify(counts),
    'next-expiry': next === undefined ? '' : new Date(next).toISOString(),
    'days-until-next-expiry': next === undefined ? '' : String(Math.floor((next - now.getTime()) / DAY_MS))
  }
}

/** `plan-hash` and `plan`: what a reviewer approves and `reviewed-plan` checks. */
function planOutputs(reviewable: ReviewablePlan | undefined): Record<string, string> {
  return {
    'plan-hash': reviewable?.hash ?? '',
    plan: reviewable ? JSON.stringify(reviewable.plan) : '',
    'plan-file': reviewable?.file ?? ''
  }
}
