// The report of a run, as it leaves the process: outputs, log lines and job summary built from the
// outcome (buildReport, pure), the annotations of problems, and writing it all through the runner.
import type { Problem } from '../certificates/problem.js'
import { buildOutputs, countsOf } from './outputs.js'
import { buildResults, ICON, type Outcome, type Result, shortFingerprint } from './results.js'
import type { Runner } from './runner.js'
import { summaryOf } from './summary.js'

export interface Report {
  results: Result[]
  outputs: Record<string, string>
  summary: string
  lines: string[]
}

/** How many annotations of each severity a step gets before GitHub drops the rest. */
export const ANNOTATION_LIMIT = 10

export const problemText = (p: Problem): string => `${p.file}:${p.line}: ${p.message} [${p.check}]`

/** Outputs, job summary and log lines of a run. Pure. */
export function buildReport(outcome: Outcome, now: Date = new Date()): Report {
  const results = buildResults(outcome)
  const { outputs, kept } = buildOutputs(outcome, results, now)
  const lines = results.map((r) => {
    const where = `${r.file}${r.index === null ? '' : `:${r.line}`}`
    const fingerprint = r.fingerprint ? ` sha256:${shortFingerprint(r.fingerprint)}` : ''
    const checks = r.problems.length ? ` [${[...new Set(r.problems.map((p) => p.check))].join(', ')}]` : ''
    return `${ICON[r.status]} ${r.status.padEnd(12)} ${where}${r.name ? ` '${r.name}'` : ''}${fingerprint}${r.id ? ` ${r.id}` : ''}${checks}`
  })
  const counts = countsOf(outcome, results)
  lines.push(outcome.label ? `[${outcome.label}] ${counts}` : counts)
  let summary = summaryOf(outcome, results, counts, now)
  if (kept < results.length) {
    const note = `The \`results\` output holds the first ${kept} of ${results.length} entries: GitHub limits an output to 1 MB. The log above lists every entry.`
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
