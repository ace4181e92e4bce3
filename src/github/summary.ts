// The job summary's Markdown (also the pull-request comment's body): the tables of results, changes,
// problems and client certificates, the timeline charts and the plan hash, cut to GitHub's 1 MiB.
// Names, file names and messages (untrusted text) go through cell() or code().
import type { Problem } from '../certificates/problem.js'
import { scopeName } from '../plan/plan.js'
import type { ReviewablePlan } from '../plan/plan-hash.js'
import { ganttBlock, type Lane, lanesByState, type Window } from '../certificates/timeline.js'
import type { Verdict } from '../certificates/chain.js'
import { ICON, type Outcome, type Result, shortFingerprint } from './results.js'

const SUMMARY_LIMIT = 1024 * 1024 - 4096

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

export function summaryOf(outcome: Outcome, results: readonly Result[], counts: string, now: Date): string {
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
          ? // A deletion refused leaves the certificate kept: a warning, never a failure (docs/retiring.md).
            `${c.action === 'delete' ? '⚠️' : '❌'} ${cell(c.error)}`
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
