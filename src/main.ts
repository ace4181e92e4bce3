import { checkCertificate } from './check.js'
import { discover, readFiles } from './discover.js'
import { ActionError, messageOf } from './errors.js'
import { getSettings, type Settings } from './inputs.js'
import { renderName } from './name-template.js'
import type { Certificate, ParsedFile } from './parse.js'
import { annotate, buildReport, type Outcome, writeReport } from './report.js'
import { actionsRunner, type Runner } from './runner.js'

/** Each certificate's name; a certificate met again keeps the name of its first appearance. */
function names(files: readonly ParsedFile[], settings: Settings): Map<Certificate, string> {
  const named = new Map<Certificate, string>()
  const first = new Map<string, string>()
  for (const file of files) {
    const stem = file.file
      .split('/')
      .pop()!
      .replace(/\.[^.]*$/, '')
    for (const cert of file.certificates) {
      const values = {
        stem,
        file: file.file,
        cn: cert.commonName,
        fingerprint: cert.fingerprint.slice(0, 16),
        index: String(cert.index),
        ref: settings.ref,
        sha: settings.sha
      }
      const name = first.get(cert.fingerprint) ?? renderName(settings.name, values, file.certificates.length)
      first.set(cert.fingerprint, name)
      named.set(cert, name)
    }
  }
  return named
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

/** discover → parse → check: everything offline. False when there is nothing to go on with. */
async function check(runner: Runner, settings: Settings, outcome: Outcome, now: Date): Promise<boolean> {
  const found = await runner.group('Discover', async () => {
    const found = await discover(settings.patterns, settings.workspace)
    runner.info(`Found ${plural(found.length, 'file')} matching ${settings.patterns.map((p) => `'${p}'`).join(', ')}.`)
    return found
  })
  if (found.length === 0) {
    const message = `No files matched ${settings.patterns.map((p) => `'${p}'`).join(', ')} in ${settings.workspace}: check the 'files' patterns (they are relative to the workspace).`
    if (settings.ifNoFilesFound === 'error') throw new ActionError(message)
    if (settings.ifNoFilesFound === 'warn') runner.warning(message)
    else runner.info(message)
    return false
  }

  await runner.group('Check', async () => {
    const started = performance.now()
    outcome.files = await readFiles(found)
    const certificates = outcome.files.flatMap((f) => f.certificates)
    const checks = { now, expiryWarningDays: settings.expiryWarningDays, skip: settings.skipChecks }
    outcome.problems = [
      ...outcome.files.flatMap((f) => f.problems),
      ...certificates.flatMap((c) => checkCertificate(c, checks))
    ]
    outcome.problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line))
    outcome.names = names(outcome.files, settings)
    runner.info(`Read ${plural(certificates.length, 'certificate')} in ${Math.round(performance.now() - started)} ms.`)
    annotate(runner, outcome.problems)
  })

  const errors = outcome.problems.filter((p) => p.severity === 'error')
  const warnings = outcome.problems.length - errors.length
  const nothingWritten = settings.mode === 'validate' ? '' : ', so nothing was changed'
  if (errors.length > 0) {
    const files = new Set(errors.map((p) => p.file)).size
    throw new ActionError(
      `${plural(errors.length, 'error')} in ${plural(files, 'file')}${nothingWritten}: fix the certificates annotated above (the job summary lists every problem).`
    )
  }
  if (warnings > 0 && settings.failOn === 'warning') {
    throw new ActionError(
      `${plural(warnings, 'warning')} and 'fail-on: warning'${nothingWritten}: fix the certificates annotated above, or set 'fail-on: error'.`
    )
  }
  return settings.mode !== 'validate'
}

/**
 * Runs the action. Outputs and the summary are written however far the run got; an expected
 * failure is one line, an unexpected one says so and keeps its stack for debug logging only.
 */
export async function run(runner: Runner = actionsRunner, now: Date = new Date()): Promise<void> {
  let outcome: Outcome | undefined
  let settings: Settings | undefined
  let failure: string | undefined
  try {
    settings = getSettings(runner)
    outcome = { mode: settings.mode, files: [], problems: [], names: new Map(), uploaded: new Map(), changes: [] }
    Object.assign(outcome, { label: settings.label, warningDays: settings.expiryWarningDays })
    if (settings.label) runner.info(`OpenAI certificates (${settings.label}): ${settings.mode}.`)
    if (await check(runner, settings, outcome, now)) {
      // Only publish and plan talk to the API: validate runs never load the API client.
      const { publish } = await import('./publish.js')
      await publish(runner, settings, outcome, now)
    }
  } catch (error) {
    if (error instanceof ActionError) {
      failure = error.message
    } else {
      if (error instanceof Error && error.stack) runner.debug(error.stack)
      failure = `Unexpected error: ${messageOf(error)}. Please report it with the debug log (re-run with debug logging on).`
    }
  }
  try {
    if (outcome && settings) {
      const report = buildReport({ ...outcome, failure }, now)
      await writeReport(runner, report)
      if (settings.commentOnPr !== 'false') {
        const { commentOnPullRequest } = await import('./comment.js')
        await commentOnPullRequest({
          token: settings.githubToken,
          body: report.summary,
          worthSaying: outcome.problems.length > 0 || outcome.changes.length > 0 || failure !== undefined,
          always: settings.commentOnPr === 'always',
          label: settings.label,
          log: (message) => runner.info(message),
          warn: (message) => runner.warning(message)
        })
      }
    }
  } catch (error) {
    failure ??= `Could not write the outputs or the job summary: ${messageOf(error)}.`
  }
  // Last, so that the reason is the final line of the log.
  if (failure !== undefined) runner.setFailed(failure)
}
