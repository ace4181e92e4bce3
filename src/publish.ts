import { CertificatesApi } from './openai/api.js'
import type { Certificate } from './certificates/x509.js'
import { Applier } from './plan/apply.js'
import { describeChange } from './plan/changes.js'
import { refusalProblem } from './certificates/check.js'
import { ActionError } from './shared/errors.js'
import type { Settings } from './github/inputs.js'
import { duplicateProblems, type Inventory, projectStates, takeInventory } from './openai/inventory.js'
import {
  capProblem,
  deletionLockOut,
  makePlan,
  type NamedCertificate,
  type LifecycleOptions,
  needsAllProjects,
  type Plan,
  planChanges,
  type ProjectStates,
  scopeName
} from './plan/plan.js'
import { checkReviewedPlan, reviewablePlan, writePlanFile } from './plan/plan-hash.js'
import { annotate } from './github/report.js'
import type { Outcome } from './github/results.js'
import { claimsEveryName, managedBy } from './plan/retire.js'
import type { RemoteCertificate } from './openai/wire.js'
import type { Runner } from './github/runner.js'
import { judgeWorkloads } from './certificates/workloads.js'
import { organizationLockOut, planAnchors, strandedInScopes } from './plan/lockout.js'

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
    // A warning of the run itself: annotated, shown in the summary and counted in `counts`.
    const warn = (message: string): void => {
      runner.warning(message)
      outcome.notices = [...(outcome.notices ?? []), message]
    }
    const certificates = outcome.files.flatMap((f) => f.certificates)
    const [inventory, projects] = await runner.group('Inventory', () =>
      Promise.all([
        takeInventory(api, certificates, (message) => runner.info(message)),
        projectStates(api, lifecycle.activate ? lifecycle.projectIds : [], needsAllProjects(lifecycle), (message) =>
          runner.info(message)
        )
      ])
    )
    const plan = await runner.group('Plan', async () => {
      const local: NamedCertificate[] = certificates.map((cert) => ({ cert, name: outcome.names.get(cert)! }))
      const plan = makePlan(local, inventory, now, lifecycle, projects)
      for (const message of managedNamesWarnings(plan, lifecycle)) warn(message)
      for (const message of sparedNotices(plan, lifecycle.managedNames)) runner.notice(message)
      const duplicates = duplicateProblems(inventory, certificates, plan.existing)
      outcome.problems.push(...duplicates)
      annotate(runner, duplicates)
      Object.assign(outcome, { plan, inventory, projects })
      outcome.changes = planChanges(plan)
      const refused = capProblem(plan, inventory.certificates) ?? deletionLockOut(plan, projects)
      if (refused) throw new ActionError(refused)
      await reviewGate(runner, settings, outcome)
      for (const change of outcome.changes)
        runner.info(describeChange(change, settings.mode === 'plan' ? 'would' : 'will'))
      if (outcome.changes.length === 0) runner.info('Nothing to change: the organization already matches the files.')
      await refuseLockOut(runner, settings, outcome, { plan, inventory, projects, certificates, api, now })
      return plan
    })
    if (settings.mode === 'plan' || outcome.changes.length === 0) return
    await runner.group('Apply', () =>
      new Applier(api, plan, outcome.changes, outcome.uploaded, {
        maxRetries: settings.maxRetries,
        lagWindowMs: settings.timeoutSeconds * 1000,
        inventory,
        managedNames: lifecycle.managedNames,
        log: (message) => runner.info(message),
        warn,
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

/**
 * With `activate`, verifies the client certificates against the anchors the plan leaves, and
 * refuses, before anything is written, a plan that would lock a workload or the next run out.
 */
async function refuseLockOut(
  runner: Runner,
  settings: Settings,
  outcome: Outcome,
  context: {
    plan: Plan
    inventory: Inventory
    projects: ProjectStates
    certificates: Certificate[]
    api: CertificatesApi
    now: Date
  }
): Promise<void> {
  const { plan, now } = context
  if (plan.scopes.length === 0) return
  const presented = outcome.presented ?? []
  const organization = plan.scopes.some((s) => s.scope.kind === 'organization')
  if (presented.length === 0 && !organization) return
  // The content of remote certificates is read only when there are certificates to verify.
  const fetchPem = presented.length > 0 ? (id: string) => context.api.getContent(id) : async () => undefined
  const anchors = await planAnchors(plan, context.inventory, context.projects, context.certificates, fetchPem)
  const workloads = presented.filter((p) => p.source === 'workload')
  const judged = await judgeWorkloads(workloads, anchors.after, {
    now,
    expiryWarningDays: settings.expiryWarningDays,
    where: 'in the scopes this run activates in',
    before: anchors.before
  })
  const client = presented.filter((p) => p.source === 'client-certificate')
  const [clientVerdict] = await judgeWorkloads(client, anchors.organization?.after ?? anchors.after, {
    now,
    expiryWarningDays: settings.expiryWarningDays,
    where: 'for the organization'
  }).then((j) => j.verdicts)
  outcome.workloads = [...judged.verdicts, ...(clientVerdict ? [clientVerdict] : [])]
  judged.problems.push(...(await strandedInScopes(workloads, judged.verdicts, anchors.scopes, now)))
  outcome.problems.push(...judged.problems)
  annotate(runner, judged.problems)
  const errors = judged.problems.filter((p) => p.severity === 'error').length
  if (errors > 0)
    throw new ActionError(
      `${errors} workload certificate${errors === 1 ? '' : 's'} would verify against no active CA after this run, so nothing was changed: see the annotations above.`
    )
  if (judged.problems.length > 0 && settings.failOn === 'warning')
    throw new ActionError(
      `Workload certificates expire soon and 'fail-on: warning', so nothing was changed: reissue them, or set 'fail-on: error'.`
    )
  const lockOut = organizationLockOut(anchors.organization, clientVerdict)
  if (lockOut) throw new ActionError(lockOut)
}

const firstFive = (items: readonly string[]): string =>
  `${items.slice(0, 5).join(', ')}${items.length > 5 ? ` and ${items.length - 5} more` : ''}`

const named = (r: RemoteCertificate): string => `${r.name ? `'${r.name}'` : 'a certificate without a name'} (${r.id})`

/**
 * Warnings at the `managed-names` input: a pattern that matches every name (every team's
 * certificates become this repository's); names this run gives new uploads (or renames to) that no
 * pattern matches; certificates the files hold whose name (after `sync-names`) no pattern matches.
 * Later runs would neither deactivate nor retire either kind.
 */
export function managedNamesWarnings(plan: Plan, options: LifecycleOptions): string[] {
  const patterns = options.managedNames
  if (patterns.length === 0) return []
  const input = `Input 'managed-names' (${patterns.map((p) => `'${p}'`).join(', ')})`
  const out: string[] = []
  const everything = claimsEveryName(patterns)
  if (everything !== undefined)
    out.push(
      `Input 'managed-names' has '${everything}', which matches every certificate name: 'exclusive' deactivates, and 'prune-retired' deletes, every team's certificates in the organization that the files do not hold. List only the names this repository gives, e.g. 'payments-*'.`
    )
  const unmanaged = (name: string | null): boolean => managedBy(name, patterns) === undefined
  const given = [...new Set([...plan.uploads.map((u) => u.name), ...plan.renames.map((r) => r.name)])].filter(unmanaged)
  if (given.length > 0)
    out.push(
      `${input} matches none of the names this run gives its own certificates: ${firstFive(given.map((n) => `'${n}'`))}. The run would stop managing them: 'exclusive' and 'prune-retired' leave them alone. Add a pattern that matches them (or change 'name').`
    )
  const renamed = new Set(plan.renames.map((r) => r.remote.id))
  const held = [...plan.existing.values()].filter((r) => !renamed.has(r.id) && unmanaged(r.name))
  if (held.length > 0)
    out.push(
      `${input} matches none of the names ${held.length === 1 ? 'a certificate the files hold has' : `${held.length} certificates the files hold have`} in the organization: ${firstFive(held.map(named))}. 'exclusive' and 'prune-retired' will never touch ${held.length === 1 ? 'it' : 'them'} once the files drop ${held.length === 1 ? 'it' : 'them'}: rename ${held.length === 1 ? 'it' : 'them'} ('sync-names: true' gives the 'name' template's) or widen 'managed-names'.`
    )
  return out
}

/** With `exclusive` and `managed-names`, a notice per scope naming the active certificates it left active, their names being unmanaged. */
export function sparedNotices(plan: Plan, patterns: readonly string[]): string[] {
  return plan.scopes
    .filter((s) => s.spared.length > 0)
    .map(
      (s) =>
        `'exclusive' left ${s.spared.length === 1 ? '1 active certificate' : `${s.spared.length} active certificates`} the files do not hold active for the ${scopeName(s.scope)}, as 'managed-names' (${patterns.map((p) => `'${p}'`).join(', ')}) does not match ${s.spared.length === 1 ? 'its name' : 'their names'}: ${firstFive(s.spared.map(named))}. If this repository manages ${s.spared.length === 1 ? 'it' : 'them'}, rename ${s.spared.length === 1 ? 'it' : 'them'} or widen 'managed-names'.`
    )
}

/** Hashes the plan (and writes it, in plan mode); in publish, refuses a plan other than the reviewed one. */
async function reviewGate(runner: Runner, settings: Settings, outcome: Outcome): Promise<void> {
  const reviewable = reviewablePlan(
    outcome.changes,
    outcome.inventory!,
    outcome.projects ?? new Map(),
    // Spares matter only when the uploads need slots freed.
    outcome.plan?.deletions ? outcome.plan.prunable.filter((d) => !outcome.plan!.toDelete.includes(d)) : []
  )
  outcome.reviewable = reviewable
  runner.info(`Plan hash: ${reviewable.hash}`)
  if (settings.mode === 'plan') await writePlanFile(reviewable, runner.env('RUNNER_TEMP'), settings.label)
  else await checkReviewedPlan(reviewable, settings.reviewedPlan, settings.workspace)
}
