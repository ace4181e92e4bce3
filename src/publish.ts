import { CertificatesApi } from './api.js'
import { Applier, describeChange, ORGANIZATION_ACTIVATION_WARNING } from './apply.js'
import { refusalProblem } from './check.js'
import { ActionError } from './errors.js'
import type { Settings } from './inputs.js'
import { projectStates, takeInventory } from './inventory.js'
import { capProblem, makePlan, type NamedCertificate, planChanges } from './plan.js'
import { checkReviewedPlan, reviewablePlan, writePlanFile } from './plan-hash.js'
import { annotate, type Outcome } from './report.js'
import type { Runner } from './runner.js'

/** inventory → plan → apply: the part that talks to the API. */
export async function publish(runner: Runner, settings: Settings, outcome: Outcome, now: Date): Promise<void> {
  const api = new CertificatesApi({
    baseUrl: settings.baseUrl,
    adminKey: settings.adminKey,
    clientTls: settings.clientTls,
    timeoutSeconds: settings.timeoutSeconds,
    maxRetries: settings.maxRetries,
    log: (message) => runner.info(message)
  })
  try {
    const { lifecycle } = settings
    const certificates = outcome.files.flatMap((f) => f.certificates)
    const [inventory, projects] = await runner.group('Inventory', () =>
      Promise.all([
        takeInventory(api, certificates, (message) => runner.info(message)),
        projectStates(api, lifecycle.activate ? lifecycle.projectIds : [])
      ])
    )
    const plan = await runner.group('Plan', async () => {
      const local: NamedCertificate[] = certificates.map((cert) => ({ cert, name: outcome.names.get(cert)! }))
      const plan = makePlan(local, inventory, now, lifecycle, projects)
      Object.assign(outcome, { plan, inventory, projects })
      outcome.changes = planChanges(plan)
      const refused = capProblem(plan, inventory.certificates)
      if (refused) throw new ActionError(refused)
      await reviewGate(runner, settings, outcome)
      for (const change of outcome.changes)
        runner.info(describeChange(change, settings.mode === 'plan' ? 'would' : 'will'))
      if (outcome.changes.length === 0) runner.info('Nothing to change: the organization already matches the files.')
      if (outcome.changes.some((c) => c.action === 'activate' && c.scope === 'organization'))
        runner.warning(ORGANIZATION_ACTIVATION_WARNING)
      return plan
    })
    if (settings.mode === 'plan' || outcome.changes.length === 0) return
    await runner.group('Apply', () =>
      new Applier(api, plan, outcome.changes, outcome.uploaded, {
        maxRetries: settings.maxRetries,
        inventory,
        log: (message) => runner.info(message),
        warn: (message) => runner.warning(message),
        refused: (named, error) => {
          const problem = refusalProblem(named.cert, error.message, settings.caRules)
          outcome.problems.push(problem)
          annotate(runner, [problem])
        }
      }).run()
    )
  } finally {
    runner.debug(`API calls: ${api.calls.length} (${api.calls.join(', ')})`)
    api.dispose()
  }
}

/** Hashes the plan (and writes it, in plan mode); in publish, refuses a plan other than the reviewed one. */
async function reviewGate(runner: Runner, settings: Settings, outcome: Outcome): Promise<void> {
  const reviewable = reviewablePlan(outcome.changes, outcome.inventory!, outcome.projects ?? new Map())
  outcome.reviewable = reviewable
  runner.info(`Plan hash: ${reviewable.hash}`)
  if (settings.mode === 'plan') await writePlanFile(reviewable, runner.env('RUNNER_TEMP'), settings.label)
  else await checkReviewedPlan(reviewable, settings.expectedPlanHash, settings.reviewedPlan, settings.workspace)
}
