import { createHash } from 'node:crypto'
import { mkdir, readFile, realpath, writeFile } from 'node:fs/promises'
import * as path from 'node:path'
import { ActionError, messageOf } from '../shared/errors.js'
import type { Inventory } from '../openai/inventory.js'
import type { Change, ProjectStates } from './plan.js'
import { type Deletion, reasonText } from './retire.js'

/** A change as a reviewer approves it: what, on which certificate, where; never whether it is done. */
export interface PlannedChange {
  action: Change['action']
  id: string | null
  name: string | null
  scope: string | null
  fingerprint: string | null
  from: string | null
  /** For a deletion: why the certificate may go. */
  reason?: string
}

/** A certificate the run deletes instead of a planned one refused at the last moment. */
export interface SpareDeletion {
  id: string
  name: string | null
  reason: string
}

/** The state of a remote certificate that a change relies on, as the plan saw it. */
export interface ReliedState {
  id: string
  name: string | null
  active: boolean
  /** Projects (of `project-ids`) where it is active. */
  projects: string[]
}

/** The `plan` output and the plan file: the data `plan-hash` is the SHA-256 of. */
export interface PlanDocument {
  version: 1
  changes: PlannedChange[]
  relies_on: ReliedState[]
  /**
   * The certificates publish may delete instead, in this order, when a planned deletion is
   * refused as in use and the uploads still need the slot; absent when there are none.
   */
  spares?: SpareDeletion[]
}

/** What publish was approved to apply (`reviewed-plan`): the reviewed plan's file, or its hash alone. */
export type ReviewedPlan = { file: string } | { hash: string }

export interface ReviewablePlan {
  hash: string
  plan: PlanDocument
  /** Where the plan was written (under RUNNER_TEMP), if it was. */
  file?: string
}

/** JSON with object keys sorted, so that equal data always gives equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')
export const hashPlan = (plan: PlanDocument): string => sha256(canonicalJson(plan))

const byText = <T>(items: T[]): T[] =>
  items
    .map((item) => [canonicalJson(item), item] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, item]) => item)

/**
 * The plan a reviewer sees: its changes (in a canonical order, so that a listing in another order
 * gives the same hash) and the state of every remote certificate they touch.
 */
export function reviewablePlan(
  changes: readonly Change[],
  inventory: Inventory,
  projects: ProjectStates,
  spares: readonly Deletion[] = []
): ReviewablePlan {
  const planned = changes.map((c): PlannedChange => ({
    action: c.action,
    id: c.id,
    name: c.name,
    scope: c.scope,
    fingerprint: c.fingerprint,
    from: c.from ?? null,
    reason: c.reason
  }))
  const spare = spares.map((d): SpareDeletion => ({
    id: d.remote.id,
    name: d.remote.name,
    reason: reasonText(d.reason)
  }))
  const touched = new Set([...changes.map((c) => c.id).filter((id) => id !== null), ...spare.map((d) => d.id)])
  const relied = inventory.certificates
    .filter((r) => touched.has(r.id))
    .map((r): ReliedState => ({
      id: r.id,
      name: r.name,
      active: r.active === true,
      projects: [...projects]
        .filter(([, active]) => active.has(r.id))
        .map(([id]) => id)
        .sort()
    }))
  const plan: PlanDocument = {
    version: 1,
    changes: byText(planned),
    relies_on: byText(relied),
    ...(spare.length > 0 ? { spares: spare } : {})
  }
  return { hash: hashPlan(plan), plan }
}

/** Writes the plan where a workflow can upload it as an artifact: RUNNER_TEMP, else nowhere. */
export async function writePlanFile(
  reviewable: ReviewablePlan,
  runnerTemp: string | undefined,
  label: string
): Promise<void> {
  if (!runnerTemp) return
  const slug = label.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '')
  const file = path.join(runnerTemp, `openai-certificates-plan${slug ? `-${slug}` : ''}.json`)
  await mkdir(runnerTemp, { recursive: true })
  await writeFile(file, `${JSON.stringify({ hash: reviewable.hash, ...reviewable.plan }, null, 2)}\n`)
  reviewable.file = file
}

/** Reads a plan file (or `plan` output) from the workspace, by its real path. */
export async function readPlanFile(file: string, workspace: string): Promise<PlanDocument> {
  const where = `Input 'reviewed-plan' (${file})`
  let text: string
  try {
    const real = await realpath(path.resolve(workspace, file))
    const root = await realpath(workspace)
    if (real !== root && !real.startsWith(root + path.sep))
      throw new ActionError(`${where} is outside the workspace: download the plan artifact into the workspace.`)
    text = await readFile(real, 'utf8')
  } catch (error) {
    if (error instanceof ActionError) throw error
    throw new ActionError(
      `${where} cannot be read: ${messageOf(error)}. Download the plan artifact of the reviewed run.`
    )
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new ActionError(`${where} is not JSON: give the file the plan run wrote (its 'plan-file' output).`)
  }
  const doc = parsed as Partial<PlanDocument>
  if (!doc || doc.version !== 1 || !Array.isArray(doc.changes) || !Array.isArray(doc.relies_on))
    throw new ActionError(`${where} is not a plan of this action: give the file the plan run wrote.`)
  const plan: PlanDocument = {
    version: 1,
    changes: doc.changes,
    relies_on: doc.relies_on,
    ...(Array.isArray(doc.spares) ? { spares: doc.spares } : {})
  }
  // The plan file carries the hash the plan run computed (the `plan` output does not): a file whose
  // content no longer gives it was edited after the review, and is not the plan that was approved.
  const { hash } = parsed as { hash?: unknown }
  if (hash !== undefined && hash !== hashPlan(plan))
    throw new ActionError(
      `${where} does not match its own 'hash' field (${typeof hash === 'string' ? `${hash.slice(0, 12)}…` : 'not text'}, its content hashes to ${hashPlan(plan).slice(0, 12)}…): the file was changed after the plan run wrote it. Download the reviewed run's plan artifact again, unedited.`
    )
  return plan
}

const describe = (c: PlannedChange): string =>
  `${c.action} ${c.name ? `'${c.name}'` : 'certificate'}${c.id ? ` (${c.id})` : ''}${c.action === 'rename' ? ` from '${c.from ?? ''}'` : c.scope ? ` for the ${c.scope}` : ''}`

const stateText = (s: ReliedState): string =>
  `${s.id} '${s.name ?? ''}' ${s.active ? 'active' : 'inactive'}${s.projects.length ? ` (active in ${s.projects.join(', ')})` : ''}`

/** What differs between the reviewed plan and the current one, as one clause. */
export function planDifference(reviewed: PlanDocument | undefined, current: PlanDocument): string {
  const list = (changes: readonly PlannedChange[]): string => changes.map(describe).join(', ') || 'no change'
  if (!reviewed) return `the plan is now: ${list(current.changes)}`
  const minus = <T>(a: readonly T[], b: readonly T[]): T[] => {
    const rest = b.map(canonicalJson)
    return a.filter((item) => {
      const at = rest.indexOf(canonicalJson(item))
      if (at === -1) return true
      rest.splice(at, 1)
      return false
    })
  }
  const parts: string[] = []
  const added = minus(current.changes, reviewed.changes)
  const removed = minus(reviewed.changes, current.changes)
  if (added.length) parts.push(`now also ${list(added)}`)
  if (removed.length) parts.push(`no longer ${list(removed)}`)
  const before = new Map(reviewed.relies_on.map((s) => [s.id, s]))
  const changedState = minus(current.relies_on, reviewed.relies_on).filter((s) => before.has(s.id))
  for (const s of changedState) parts.push(`certificate ${stateText(before.get(s.id)!)} is now ${stateText(s)}`)
  return parts.join('; ') || 'the organization changed under the same changes'
}

/**
 * The reviewed-plan gate: before publish writes anything, the current plan must be the one that was
 * approved: the reviewed file's (whose hash is its own), or the hash given. Throws one line saying
 * what changed since the review; with the file, the changes added and dropped.
 */
export async function checkReviewedPlan(
  current: ReviewablePlan,
  reviewed: ReviewedPlan | undefined,
  workspace: string
): Promise<void> {
  if (!reviewed) return
  const file = 'file' in reviewed ? await readPlanFile(reviewed.file, workspace) : undefined
  const expected = 'hash' in reviewed ? reviewed.hash : hashPlan(file!)
  if (current.hash === expected) return
  throw new ActionError(
    `The plan changed since it was reviewed (approved plan-hash ${expected.slice(0, 12)}…, now ${current.hash.slice(0, 12)}…), so nothing was changed: ${planDifference(file, current.plan)}. Review the new plan and approve its hash.`
  )
}
