import type { Mode } from './inputs.js'
import type { ParsedFile } from '../certificates/files.js'
import type { Problem } from '../certificates/problem.js'
import type { Certificate } from '../certificates/x509.js'
import type { Inventory } from '../openai/inventory.js'
import { type Change, type Plan, type ProjectStates, scopeName, slotsAfter } from '../plan/plan.js'
import type { ReviewablePlan } from '../plan/plan-hash.js'
import { ganttBlock, type Lane, lanesByState, type Window } from '../certificates/timeline.js'
import type { Runner } from './runner.js'
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

export interface Report {
  results: Result[]
  outputs: Record<string, string>
  summary: string
  lines: string[]
}

/** How many annotations of each severity a step gets before GitHub drops the rest. */
export const ANNOTATION_LIMIT = 10
const SUMMARY_LIMIT = 1024 * 1024 - 4096

const shortFingerprint = (fingerprint: string | null): string => (fingerprint ? fingerprint.slice(0, 16) : '')
export const problemText = (p: Problem): string => `${p.file}:${p.line}: ${p.message} [${p.check}]`

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

function distinctIds(results: readonly Result[], statuses: readonly Status[]): string[] {
  const ids = results.filter((r) => r.id !== null && statuses.includes(r.status)).map((r) => r.id as string)
  return [...new Set(ids)]
}

const ICON: Record<Status, string> = {
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

/**
 * Untrusted text (a certificate's name, a file name, a message quoting them) as inert Markdown on
 * one table line: HTML and Markdown syntax characters escaped, so that a name like
 * `[x](https://evil)` or `<img src=…>` shows as written and links or loads nothing.
 */
const cell = (text: string): string =>
  text
    .replace(/\r\n|\r|\n/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`[\]|]/g, '\\$&')

/**
 * Untrusted text as a code span on one table line: fenced by more backticks than any run inside it,
 * so that a backtick in a file name cannot close the span and let the rest be read as Markdown.
 */
const code = (text: string): string => {
  const inner = text.replace(/\r\n|\r|\n/g, ' ').replace(/\|/g, '\\|')
  const fence = '`'.repeat(Math.max(0, ...(inner.match(/`+/g) ?? []).map((run) => run.length)) + 1)
  const pad = /^`|`$/.test(inner) ? ' ' : ''
  return `${fence}${pad}${inner}${pad}${fence}`
}

/** The table of a pull-request check: what a reviewer needs, with each problem on its row. */
function validateRows(results: readonly Result[]): string[] {
  return [
    '| | certificate | file | expires | issue |',
    '| --- | --- | --- | --- | --- |',
    ...results.map((r) => {
      const worst = r.problems.some((p) => p.severity === 'error') ? '❌' : r.problems.length ? '⚠️' : '✅'
      const what =
        r.subject !== null
          ? r.subject.replace(/(?<!\\), .*$/, '') || 'empty subject'
          : r.index === null
            ? 'the file'
            : 'not a certificate'
      const issues = r.problems.map((p) => `${cell(p.message)} \`${p.check}\``).join('<br>')
      return `| ${worst} | ${cell(what)} | ${code(`${r.file}:${r.line}`)} | ${r.not_after?.slice(0, 10) ?? ''} | ${issues} |`
    })
  ]
}

function publishRows(results: readonly Result[]): string[] {
  return [
    '| status | name | file | fingerprint | not after | id |',
    '| --- | --- | --- | --- | --- | --- |',
    ...results.map((r) => {
      const where = `${r.file}${r.index === null ? '' : `:${r.line}`}`
      return `| ${ICON[r.status]} ${r.status} | ${cell(r.name ?? '')} | ${code(where)} | ${r.fingerprint ? `\`${shortFingerprint(r.fingerprint)}\`` : ''} | ${r.not_after?.slice(0, 10) ?? ''} | ${r.id ? `\`${r.id}\`` : ''} |`
    })
  ]
}

/** The client certificates verified, and the CA that will accept each one, or why none will. */
function workloadRows(verdicts: readonly Verdict[], problems: readonly Problem[]): string[] {
  if (verdicts.length === 0) return []
  const warningOf = (v: Verdict): Problem | undefined =>
    problems.find(
      (p) => p.severity === 'warning' && p.check.startsWith('workload-') && p.file === v.file && p.line === v.line
    )
  return [
    '',
    '### Client certificates after this run',
    '',
    '| | client certificate | file | expires | accepted by | path or problem |',
    '| --- | --- | --- | --- | --- | --- |',
    ...verdicts.map((v) => {
      const where = v.source === 'workload' ? `${code(`${v.file}:${v.line}`)}` : 'input `client-certificate`'
      const how =
        v.problem === null
          ? v.path === 'direct'
            ? 'signed directly'
            : 'through its intermediates'
          : `${cell(v.problem)} \`${v.check}\``
      const warning = v.source === 'workload' ? warningOf(v) : undefined
      const icon = v.problem !== null ? '❌' : warning ? '⚠️' : '✅'
      const note = warning ? `<br>${cell(warning.message)} \`${warning.check}\`` : ''
      return `| ${icon} | ${cell(v.subject ?? '')} | ${where} | ${v.not_after?.slice(0, 10) ?? ''} | ${cell(v.anchor ?? '')} | ${how}${note} |`
    })
  ]
}

/** The log's failure line points at the annotations and the summary; the summary itself lists the problems. */
const inSummary = (failure: string): string =>
  failure
    .replace(
      'fix the certificates annotated above (the job summary lists every problem)',
      'fix the certificates listed below'
    )
    .replace('fix the certificates annotated above', 'fix the certificates listed below')
    .replace('see the annotations above', 'see the list below')

function summaryOf(outcome: Outcome, results: readonly Result[], counts: string, now: Date): string {
  const parts = [
    `## OpenAI certificates${outcome.label ? ` (${cell(outcome.label)})` : ''}: ${outcome.mode}`,
    '',
    counts,
    '',
    ...(outcome.failure ? [`> [!CAUTION]`, `> ${cell(inSummary(outcome.failure))}`, ''] : []),
    ...(outcome.notices ?? []).flatMap((n) => [`> [!WARNING]`, `> ${cell(n)}`, '']),
    ...(outcome.mode === 'validate' ? validateRows(results) : publishRows(results)),
    ...timelineSection(outcome, results, now)
  ]
  if (outcome.changes.length > 0) {
    parts.push('', '### Changes', '', '| change | certificate | scope | result |', '| --- | --- | --- | --- |')
    for (const c of outcome.changes) {
      const result = c.done
        ? '✅ done'
        : c.error
          ? `❌ ${cell(c.error)}`
          : outcome.mode === 'plan'
            ? '📝 planned'
            : '⏸️ not made'
      const what =
        c.action === 'rename'
          ? `rename from ${cell(c.from ?? '')}`
          : c.reason
            ? `${c.action} (${cell(c.reason)})`
            : c.action
      parts.push(`| ${what} | ${cell(c.name ?? '')}${c.id ? ` \`${c.id}\`` : ''} | ${c.scope ?? ''} | ${result} |`)
    }
  }
  parts.push(...planHashLines(outcome.reviewable))
  if (outcome.problems.length > 0 && outcome.mode !== 'validate') {
    parts.push('', '### Problems', '')
    for (const p of outcome.problems)
      parts.push(
        `- ${p.severity === 'error' ? '❌' : '⚠️'} ${code(`${p.file}:${p.line}`)} ${cell(p.message)} \`${p.check}\``
      )
  }
  parts.push(...workloadRows(outcome.workloads ?? [], outcome.problems))
  const summary = parts.join('\n') + '\n'
  if (Buffer.byteLength(summary) <= SUMMARY_LIMIT) return summary
  // Cut by UTF-8 bytes, as GitHub counts (beyond the limit it drops the whole summary), at a line end.
  const kept = Buffer.from(summary).subarray(0, SUMMARY_LIMIT).toString('utf8')
  return (
    kept.replace(/\n[^\n]*$/, '\n') +
    '\n… cut here: the job summary is limited to 1 MiB; the log has every entry, the `results` output the first ones.\n'
  )
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

function countsOf(outcome: Outcome, results: readonly Result[]): string {
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
  const errors = outcome.problems.filter((p) => p.severity === 'error').length
  const warnings = outcome.problems.length - errors + (outcome.notices?.length ?? 0)
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

/** The statuses of a certificate the organization already holds: a plan's changes to it do not hide its id. */
const EXISTING: Status[] = ['existing', 'would-rename', 'would-activate']

/** Outputs, job summary and log lines of a run. Pure. */
export function buildReport(outcome: Outcome, now: Date = new Date()): Report {
  const results = buildResults(outcome)
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
  const lines = results.map((r) => {
    const where = `${r.file}${r.index === null ? '' : `:${r.line}`}`
    const fingerprint = r.fingerprint ? ` sha256:${shortFingerprint(r.fingerprint)}` : ''
    const checks = r.problems.length ? ` [${[...new Set(r.problems.map((p) => p.check))].join(', ')}]` : ''
    return `${ICON[r.status]} ${r.status.padEnd(12)} ${where}${r.name ? ` '${r.name}'` : ''}${fingerprint}${r.id ? ` ${r.id}` : ''}${checks}`
  })
  const counts = countsOf(outcome, results)
  lines.push(outcome.label ? `[${outcome.label}] ${counts}` : counts)
  let summary = summaryOf(outcome, results, counts, now)
  if (resultsJson.kept < results.length) {
    const note = `The \`results\` output holds the first ${resultsJson.kept} of ${results.length} entries: GitHub limits an output to 1 MB. The log above lists every entry.`
    lines.push(note.replace(/`/g, "'"))
    summary = summary.replace(/\n/, `\n\n> [!NOTE]\n> ${note}\n`)
  }
  return { results, outputs, summary, lines }
}

/**
 * Annotates problems on their file and line: the first ANNOTATION_LIMIT of each severity, since
 * GitHub drops the rest; the others still get a log line, and the summary lists them all.
 */
export function annotate(runner: Runner, problems: readonly Problem[]): void {
  const shown = { error: 0, warning: 0 }
  for (const p of problems) {
    const place = { file: p.file, startLine: p.line }
    if (shown[p.severity]++ < ANNOTATION_LIMIT) {
      if (p.severity === 'error') runner.error(problemText(p), place)
      else runner.warning(problemText(p), place)
    } else {
      runner.info(`${p.severity}: ${problemText(p)}`)
    }
  }
  for (const severity of ['error', 'warning'] as const) {
    const more = shown[severity] - ANNOTATION_LIMIT
    if (more > 0)
      runner.info(
        `${more} more ${severity}s are not annotated (GitHub shows ${ANNOTATION_LIMIT} a step); the job summary lists them all.`
      )
  }
}

export async function writeReport(runner: Runner, report: Report): Promise<void> {
  for (const [name, value] of Object.entries(report.outputs)) runner.setOutput(name, value)
  for (const line of report.lines) runner.info(line)
  await runner.appendSummary(report.summary)
}

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
  const errors = outcome.problems.filter((p) => p.severity === 'error').length
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
    warnings: outcome.problems.length - errors + (outcome.notices?.length ?? 0),
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

/** Certificates active in each activation scope once the run is done (in plan: once publish is). */
function activeAfter(outcome: Outcome): Lane[] {
  const { plan, inventory } = outcome
  if (!plan || !inventory || plan.scopes.length === 0) return []
  const counted = outcome.mode === 'plan' ? outcome.changes : outcome.changes.filter((c) => c.done)
  const local = new Map(outcome.files.flatMap((f) => f.certificates.map((c) => [c.fingerprint, c])))
  const windowOf = (id: string | null, fingerprint: string | null, name: string | null): Window | undefined => {
    const remote = inventory.certificates.find((r) => r.id === id)
    if (remote?.validAt !== undefined && remote.expiresAt !== undefined)
      return {
        name: remote.name ?? remote.id,
        notBefore: new Date(remote.validAt * 1000),
        notAfter: new Date(remote.expiresAt * 1000)
      }
    const cert = fingerprint ? local.get(fingerprint) : undefined
    return cert
      ? { name: name ?? cert.commonName ?? '', notBefore: cert.notBefore, notAfter: cert.notAfter }
      : undefined
  }
  return plan.scopes.map((s) => {
    const scope = scopeName(s.scope)
    const active = new Map<string, Window | undefined>()
    for (const r of inventory.certificates) {
      const on =
        s.scope.kind === 'organization' ? r.active === true : (outcome.projects?.get(s.scope.id)?.has(r.id) ?? false)
      if (on) active.set(r.id, windowOf(r.id, null, null))
    }
    for (const c of counted.filter((c) => c.scope === scope)) {
      const key = c.id ?? `sha256:${c.fingerprint}`
      if (c.action === 'activate') active.set(key, windowOf(c.id, c.fingerprint, c.name))
      else if (c.action === 'deactivate') active.delete(key)
    }
    // A certificate renamed by the run is shown under its new name.
    const renamed = new Map(counted.filter((c) => c.action === 'rename').map((c) => [c.id, c.name]))
    for (const [id, window] of active) if (window && renamed.has(id)) window.name = renamed.get(id) ?? window.name
    // Short enough for the chart's section column: a project's id says what it is.
    const title = s.scope.kind === 'organization' ? 'Active for the organization' : `Active in ${s.scope.id}`
    return { title, windows: [...active.values()].filter((w) => w !== undefined) }
  })
}

/** The summary's timeline: the matched certificates by state and, with `activate`, what is active where. */
function timelineSection(outcome: Outcome, results: readonly Result[], now: Date): string[] {
  const warningDays = outcome.warningDays ?? 30
  const seen = new Set<string>()
  const windows: Window[] = []
  for (const r of results) {
    if (!r.fingerprint || seen.has(r.fingerprint) || !r.not_before || !r.not_after) continue
    seen.add(r.fingerprint)
    const name = r.name ?? r.subject?.replace(/,.*$/, '').replace(/^CN=/, '') ?? r.fingerprint.slice(0, 16)
    windows.push({ name, notBefore: new Date(r.not_before), notAfter: new Date(r.not_after) })
  }
  const matched = ganttBlock(
    'Validity of the matched certificates',
    lanesByState(windows, now, warningDays),
    now,
    warningDays
  )
  const after = outcome.mode === 'plan' ? 'once publish has run' : 'after this run'
  const active = ganttBlock(`Active certificates ${after}`, activeAfter(outcome), now, warningDays)
  const parts = matched.length ? ['', '### Validity', '', ...matched] : []
  if (active.length) parts.push('', `### Active ${after}`, '', ...active)
  const deletedTitle = outcome.mode === 'plan' ? 'Deleted once publish has run' : 'Deleted by this run'
  const deleted = ganttBlock(deletedTitle, deletedLane(outcome), now, warningDays)
  if (deleted.length) parts.push('', `### ${deletedTitle}`, '', ...deleted)
  return parts
}

/** The certificates this run deleted (in plan: would delete), by their validity windows. */
function deletedLane(outcome: Outcome): Lane[] {
  const counted = outcome.mode === 'plan' ? outcome.changes : outcome.changes.filter((c) => c.done)
  const windows: Window[] = []
  for (const c of counted.filter((c) => c.action === 'delete')) {
    const r = outcome.inventory?.certificates.find((r) => r.id === c.id)
    if (r?.validAt === undefined || r.expiresAt === undefined) continue
    windows.push({
      name: r.name ?? r.id,
      notBefore: new Date(r.validAt * 1000),
      notAfter: new Date(r.expiresAt * 1000)
    })
  }
  return [{ title: 'Deleted', windows }]
}

/** The hash a reviewer approves, where the reviewer reads the plan. */
function planHashLines(reviewable: ReviewablePlan | undefined): string[] {
  return reviewable ? ['', `Plan hash (for \`reviewed-plan\`): \`${reviewable.hash}\``] : []
}
