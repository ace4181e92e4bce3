// The results of a run: what it found and did (`Outcome`), one entry per certificate or rejected
// block (`Result`) and its status, and the ids the outputs list by status.
import type { Mode } from './inputs.js'
import type { ParsedFile } from '../certificates/files.js'
import type { Problem } from '../certificates/problem.js'
import type { Certificate } from '../certificates/x509.js'
import type { Inventory } from '../openai/inventory.js'
import type { Change, Plan, ProjectStates } from '../plan/plan.js'
import type { ReviewablePlan } from '../plan/plan-hash.js'
import type { Presented, Verdict } from '../certificates/chain.js'

export type Status =
  | 'uploaded'
  | 'existing'
  | 'would-upload'
  | 'would-rename'
  | 'would-activate'
  | 'not-uploaded'
  | 'unknown'
  | 'valid'
  | 'invalid'

/** One entry of the `results` output: a certificate found, or a block or file that is not one. */
export interface Result {
  file: string
  /** Position of the PEM block in its file; null for a problem with the file as a whole. */
  index: number | null
  line: number
  name: string | null
  fingerprint: string | null
  id: string | null
  status: Status
  not_before: string | null
  not_after: string | null
  subject: string | null
  problems: { check: string; severity: Problem['severity']; line: number; message: string }[]
  /** The changes that concern this certificate (activation, rename), made or planned. */
  changes: Change[]
}

/** What a run found and did, as far as it got. Everything the report says is derived from it. */
export interface Outcome {
  mode: Mode
  files: ParsedFile[]
  problems: Problem[]
  names: Map<Certificate, string>
  plan?: Plan
  /** Fingerprint → id, for certificates created by this run. */
  uploaded: Map<string, string>
  /** Every change planned, with those made marked done. */
  changes: Change[]
  /** Why the run failed, if it did. */
  failure?: string
  /** The client certificates to verify: workload files, and `client-certificate`. */
  presented?: Presented[]
  /** How OpenAI would judge each of them once the run is done. */
  workloads?: Verdict[]
  /** The `label` input: names the run in the summary heading, the log and the PR comment. */
  label?: string
  /** What the organization held before the run (publish and plan). */
  inventory?: Inventory
  /** Project id → ids active there before the run (with `activate` and `project-ids`). */
  projects?: ProjectStates
  /** The plan as reviewed and hashed, taken before anything was applied. */
  reviewable?: ReviewablePlan
  /** `expiry-warning-days`: windows ending sooner are drawn as critical. */
  warningDays?: number
  /** Warnings of the run itself, tied to no file (no file matched, with `if-no-files-found: warn`). */
  notices?: string[]
}

export const shortFingerprint = (fingerprint: string | null): string => (fingerprint ? fingerprint.slice(0, 16) : '')

function statusOf(cert: Certificate, hasErrors: boolean, outcome: Outcome): { status: Status; id: string | null } {
  if (hasErrors) return { status: 'invalid', id: null }
  const uploaded = outcome.uploaded.get(cert.fingerprint)
  if (uploaded) return { status: 'uploaded', id: uploaded }
  const existing = outcome.plan?.existing.get(cert.fingerprint)
  if (existing && outcome.mode === 'plan') {
    const mine = outcome.changes.filter((c) => c.id === existing.id)
    if (mine.some((c) => c.action === 'rename')) return { status: 'would-rename', id: existing.id }
    if (mine.some((c) => c.action === 'activate')) return { status: 'would-activate', id: existing.id }
  }
  if (existing) return { status: 'existing', id: existing.id }
  if (outcome.plan && outcome.mode === 'plan') return { status: 'would-upload', id: null }
  if (outcome.plan && outcome.mode === 'publish') {
    const upload = outcome.changes.find((c) => c.action === 'upload' && c.fingerprint === cert.fingerprint)
    return { status: upload?.unsure && !upload.done ? 'unknown' : 'not-uploaded', id: null }
  }
  return { status: 'valid', id: null }
}

/** The entry of a block that is not a certificate, or of a file as a whole (index null). */
function invalidEntry(file: string, index: number | null, line: number, problems: Result['problems']): Result {
  return {
    file,
    index,
    line,
    name: null,
    fingerprint: null,
    id: null,
    status: 'invalid',
    not_before: null,
    not_after: null,
    subject: null,
    problems,
    changes: []
  }
}

/** One entry per certificate or rejected block, files in sorted order, blocks in file order. */
export function buildResults(outcome: Outcome): Result[] {
  const results: Result[] = []
  for (const file of outcome.files) {
    const problemsOf = (index: number | undefined): Result['problems'] =>
      outcome.problems
        .filter((p) => p.file === file.file && p.index === index)
        .map((p) => ({ check: p.check, severity: p.severity, line: p.line, message: p.message }))
    const loose = problemsOf(undefined)
    if (loose.length > 0) results.push(invalidEntry(file.file, null, loose[0].line, loose))
    const entries: Result[] = []
    for (const cert of file.certificates) {
      const problems = problemsOf(cert.index)
      const { status, id } = statusOf(
        cert,
        problems.some((p) => p.severity === 'error'),
        outcome
      )
      entries.push({
        file: file.file,
        index: cert.index,
        line: cert.line,
        // One already there is shown under its name in the organization; the template's name is what
        // `sync-names` would give it (a planned rename says so in the changes).
        name: outcome.plan?.existing.get(cert.fingerprint)?.name || (outcome.names.get(cert) ?? null),
        fingerprint: cert.fingerprint,
        id,
        status,
        not_before: cert.notBefore.toISOString(),
        not_after: cert.notAfter.toISOString(),
        subject: cert.subject,
        problems,
        changes: outcome.changes.filter((c) => c.action !== 'upload' && c.fingerprint === cert.fingerprint)
      })
    }
    for (const block of file.rejected) {
      entries.push(invalidEntry(file.file, block.index, block.line, problemsOf(block.index)))
    }
    results.push(...entries.sort((a, b) => (a.index ?? 0) - (b.index ?? 0)))
  }
  return results
}

export function distinctIds(results: readonly Result[], statuses: readonly Status[]): string[] {
  const ids = results.filter((r) => r.id !== null && statuses.includes(r.status)).map((r) => r.id as string)
  return [...new Set(ids)]
}

/** The statuses of a certificate the organization already holds: a plan's changes to it do not hide its id. */
export const EXISTING: Status[] = ['existing', 'would-rename', 'would-activate']

/** How each status is shown, in the log and in the job summary. */
export const ICON: Record<Status, string> = {
  uploaded: '🆕',
  existing: '✅',
  'would-upload': '📝',
  'would-rename': '📝',
  'would-activate': '📝',
  'not-uploaded': '⏸️',
  unknown: '❔',
  valid: '✅',
  invalid: '❌'
}
