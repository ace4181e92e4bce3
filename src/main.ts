import { cancellation } from './shared/cancel.js'
import { checkCertificate } from './certificates/check.js'
import { discover, readFiles } from './github/discover.js'
import { ActionError, CancelledError, messageOf } from './shared/errors.js'
import { getSettings, modeOf, type Settings } from './github/inputs.js'
import { nameCertificates } from './plan/name-template.js'
import { CERTIFICATE_CAP } from './openai/limits.js'
import { parseFile } from './certificates/files.js'
import { annotate, buildReport, writeReport } from './github/report.js'
import type { Outcome } from './github/results.js'
import { redacting } from './github/redact.js'
import { actionsRunner, type Runner } from './github/runner.js'
import type { Presented } from './certificates/chain.js'
import { fileAnchors, judgeWorkloads, presentedOf } from './certificates/workloads.js'

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
    if (settings.ifNoFilesFound === 'warn') {
      runner.warning(message)
      outcome.notices = [message]
    } else runner.info(message)
    return false
  }

  await runner.group('Check', async () => {
    const started = performance.now()
    outcome.files = await readFiles(found)
    const certificates = outcome.files.flatMap((f) => f.certificates)
    const checks = {
      now,
      expiryWarningDays: settings.expiryWarningDays,
      skip: settings.skipChecks,
      rules: settings.caRules
    }
    outcome.problems = [
      ...outcome.files.flatMap((f) => f.problems),
      ...certificates.flatMap((c) => checkCertificate(c, checks))
    ]
    outcome.problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line))
    outcome.names = nameCertificates(outcome.files, settings)
    runner.info(`Read ${plural(certificates.length, 'certificate')} in ${Math.round(performance.now() - started)} ms.`)
    await checkWorkloads(runner, settings, outcome, now)
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
  const distinct = new Set(outcome.files.flatMap((f) => f.certificates.map((c) => c.fingerprint))).size
  if (distinct > CERTIFICATE_CAP) {
    throw new ActionError(
      `The files hold ${distinct} distinct certificates, but an organization holds at most ${CERTIFICATE_CAP}${nothingWritten}: publish could never upload them all. Keep at most ${CERTIFICATE_CAP} in the files (remove retired or expired CAs, or split them across organizations with separate 'files' patterns).`
    )
  }
  if (warnings > 0 && settings.failOn === 'warning') {
    throw new ActionError(
      `${plural(warnings, 'warning')} and 'fail-on: warning'${nothingWritten}: fix the certificates annotated above, or set 'fail-on: error'.`
    )
  }
  return settings.mode !== 'validate'
}

const baseUrlOrigin = {
  input: "the 'base-url' input",
  environment: 'OPENAI_BASE_URL',
  default: 'the default'
} as const

/** How long changes under way may take to finish once the runner asks the job to stop. */
export const CANCEL_GRACE_MS = 5000

/**
 * Reads the workload certificates (and `client-certificate`) and, unless the anchors depend on a
 * plan (publish and plan with `activate`, checked in publish.ts), verifies them against the files'
 * certificates: the CAs a pull request leaves.
 */
async function checkWorkloads(runner: Runner, settings: Settings, outcome: Outcome, now: Date): Promise<void> {
  const presented: Presented[] = []
  if (settings.workloadPatterns.length > 0) {
    const found = await discover(settings.workloadPatterns, settings.workspace, 'workload-certificates')
    if (found.length === 0)
      throw new ActionError(
        `No files matched workload-certificates ${settings.workloadPatterns.map((p) => `'${p}'`).join(', ')} in ${settings.workspace}: check the patterns (they are relative to the workspace), or remove the input.`
      )
    const files = await readFiles(found)
    for (const f of files) {
      outcome.problems.push(...f.problems)
      if (f.certificates.length === 0 && f.problems.length === 0)
        outcome.problems.push({
          check: 'no-certificate',
          severity: 'error',
          message: 'A workload-certificates file must hold the client certificate the workload presents.',
          file: f.file,
          line: 1
        })
    }
    presented.push(...presentedOf(files))
  }
  const client = parseFile('client-certificate', Buffer.from(settings.clientCertificate, 'utf8')).certificates
  if (client.length > 0) {
    const [first, ...rest] = client
    presented.push({
      source: 'client-certificate',
      file: 'client-certificate',
      line: 1,
      der: first.der,
      intermediates: rest.map((c) => c.der)
    })
  }
  outcome.presented = presented
  if (presented.length === 0 || (settings.mode !== 'validate' && settings.lifecycle.activate)) return
  const anchors = fileAnchors(outcome.files.flatMap((f) => f.certificates))
  const judged = await judgeWorkloads(presented, anchors, {
    now,
    expiryWarningDays: settings.expiryWarningDays,
    where: 'in the files'
  })
  outcome.workloads = judged.verdicts
  outcome.problems.push(...judged.problems)
  runner.info(`Verified ${plural(presented.length, 'client certificate')} against the files' CAs.`)
}

/**
 * Watches for what could end the run without its outputs: SIGINT or SIGTERM (GitHub cancelling the
 * job: no new write starts, those under way get a few seconds), a promise that can never settle (the
 * event loop runs dry, which Node would end with exit code 13), an unhandled rejection or exception.
 * `stopped` rejects when the run must stop waiting for the pipeline and write what it knows.
 */
function watch(runner: Runner): { stopped: Promise<never>; dispose: () => void } {
  let stop: (reason: unknown) => void = () => undefined
  const stopped = new Promise<never>((_, reject) => (stop = reject))
  stopped.catch(() => undefined)
  let grace: NodeJS.Timeout | undefined
  const onSignal = (signal: NodeJS.Signals): void => {
    if (cancellation.signal) return
    cancellation.signal = signal
    runner.info(
      `${signal} received: no new change will be started; waiting up to ${CANCEL_GRACE_MS / 1000} s for those under way.`
    )
    grace = setTimeout(
      () =>
        stop(
          new CancelledError(
            signal,
            `changes under way did not finish within ${CANCEL_GRACE_MS / 1000} s, so they may or may not have been made (a rerun skips what is there)`
          )
        ),
      CANCEL_GRACE_MS
    )
  }
  const onStall = (): void => stop(new Error('the run stopped making progress (a promise that never settles)'))
  const onUnhandled = (reason: unknown): void => stop(reason)
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  process.on('beforeExit', onStall)
  process.on('unhandledRejection', onUnhandled)
  process.on('uncaughtException', onUnhandled)
  return {
    stopped,
    dispose: () => {
      clearTimeout(grace)
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      process.off('beforeExit', onStall)
      process.off('unhandledRejection', onUnhandled)
      process.off('uncaughtException', onUnhandled)
    }
  }
}

/**
 * Runs the action. Outputs and the summary are written however far the run got, also when it is
 * cancelled; an expected failure is one line, an unexpected one says so and keeps its stack for
 * debug logging only.
 */
export async function run(unredacted: Runner = actionsRunner, now: Date = new Date()): Promise<void> {
  // Every text that leaves the process (log, annotations, outputs, summary, failure, PR comment)
  // goes through one redactor; it learns each secret as the inputs mask it, before any line.
  const runner = redacting(unredacted)
  let outcome: Outcome | undefined
  let settings: Settings | undefined
  let failure: string | undefined
  delete cancellation.signal
  const watcher = watch(runner)
  try {
    await Promise.race([
      (async () => {
        settings = getSettings(runner)
        outcome = { mode: settings.mode, files: [], problems: [], names: new Map(), uploaded: new Map(), changes: [] }
        Object.assign(outcome, { label: settings.label, warningDays: settings.expiryWarningDays })
        if (settings.label) runner.info(`OpenAI certificates (${settings.label}): ${settings.mode}.`)
        if (await check(runner, settings, outcome, now)) {
          runner.info(`OpenAI API: ${settings.baseUrl} (from ${baseUrlOrigin[settings.baseUrlSource ?? 'default']}).`)
          // Only publish and plan talk to the API: validate runs never load the API client.
          const { publish } = await import('./publish.js')
          await publish(runner, settings, outcome, now)
        }
      })(),
      watcher.stopped
    ])
  } catch (error) {
    if (error instanceof ActionError) {
      failure = error.message
    } else {
      if (error instanceof Error && error.stack) runner.debug(error.stack)
      failure = `Unexpected error: ${messageOf(error)}. Please report it with the debug log (re-run with debug logging on).`
    }
  }
  const signal = cancellation.signal
  if (signal && !failure?.startsWith('Cancelled')) {
    failure = failure ? `Cancelled (${signal}): ${failure}` : new CancelledError(signal).message
  }
  try {
    // An input error stops the run before there is an outcome: outputs and summary still say so.
    outcome ??= { mode: modeOf(runner), files: [], problems: [], names: new Map(), uploaded: new Map(), changes: [] }
    const report = buildReport({ ...outcome, failure }, now)
    await writeReport(runner, report)
    if (settings && settings.commentOnPr !== 'false') {
      const { commentOnPullRequest } = await import('./github/comment.js')
      await commentOnPullRequest({
        token: settings.githubToken,
        body: runner.redact(report.summary),
        worthSaying: outcome.problems.length > 0 || outcome.changes.length > 0 || failure !== undefined,
        always: settings.commentOnPr === 'always',
        label: settings.label,
        log: (message) => runner.info(message),
        warn: (message) => runner.warning(message)
      })
    }
  } catch (error) {
    if (error instanceof Error && error.stack) runner.debug(error.stack)
    failure ??= `Could not write the outputs or the job summary: ${messageOf(error)}.`
  }
  // Last, so that the reason is the final line of the log.
  if (failure !== undefined) runner.setFailed(failure)
  watcher.dispose()
}
