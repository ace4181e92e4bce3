/**
 * The lock-out proofs against a plan: which CAs each scope it touches accepts before and after it,
 * and whether the action's own next run would still get in.
 */
import { type Anchor, list, type Presented, quote, type Verdict, verifyPresented } from '../certificates/chain.js'
import type { Problem } from '../certificates/problem.js'
import { parseFile } from '../certificates/files.js'
import { fileAnchors } from '../certificates/workloads.js'
import type { Certificate } from '../certificates/x509.js'
import type { RemoteCertificate } from '../openai/wire.js'
import type { Inventory } from '../openai/inventory.js'
import { mapLimit } from '../shared/pool.js'
import { type Plan, type ProjectStates, scopeName } from './plan.js'

/** The anchors of the scopes a plan activates in, as they are now and as the plan leaves them. */
export interface PlanAnchors {
  before: Anchor[]
  after: Anchor[]
  /**
   * Each scope the plan activates in, with what it accepts before and after (a project's own CAs and
   * the organization's). A scope with none active before (`open`) accepts every client: no check happens.
   */
  scopes: { name: string; open: boolean; before: Anchor[]; after: Anchor[] }[]
  /** At organization scope, when the plan activates there. */
  organization?: { before: Anchor[]; after: Anchor[]; firstActivation: boolean; deactivates: boolean }
}

/**
 * Which certificates are active in each scope the plan touches, before and after it: the
 * organization's for requests to a project too (project certificates are tried first, then the
 * organization's). Remote certificates the files do not hold are read with `fetchPem`, once each.
 */
export async function planAnchors(
  plan: Plan,
  inventory: Inventory,
  projects: ProjectStates,
  local: readonly Certificate[],
  fetchPem: (id: string) => Promise<string | undefined>
): Promise<PlanAnchors> {
  const orgActive = inventory.certificates.filter((r) => r.active === true)
  const byId = new Map(inventory.certificates.map((r) => [r.id, r]))
  type Key = string // a remote id, or `sha256:<fingerprint>` for an upload
  const scopes = plan.scopes.map((s) => {
    const before = new Set<Key>(
      s.scope.kind === 'organization' ? orgActive.map((r) => r.id) : [...(projects.get(s.scope.id) ?? [])]
    )
    const after = new Set(before)
    for (const r of s.deactivate) after.delete(r.id)
    for (const r of s.activate) after.add(r.id)
    if (s.activateUploads) for (const u of plan.uploads) after.add(`sha256:${u.cert.fingerprint}`)
    if (s.scope.kind === 'project') {
      for (const r of orgActive) {
        before.add(r.id)
        after.add(r.id)
      }
    }
    return { scope: s, before, after }
  })

  const named = fileAnchors(local)
  const localAnchors = new Map(local.map((c, i) => [c.fingerprint, named[i]]))
  const fingerprintOfId = new Map([...plan.existing].map(([fingerprint, r]) => [r.id, fingerprint]))
  const keys = new Set(scopes.flatMap((s) => [...s.before, ...s.after]))
  const remoteOnly = [...keys].filter((k) => !k.startsWith('sha256:') && !fingerprintOfId.has(k))
  const fetched = new Map<string, Anchor>()
  await mapLimit(remoteOnly, 8, async (id) => {
    const pem = await fetchPem(id)
    const der = pem === undefined ? undefined : parseFile('remote', Buffer.from(pem, 'utf8')).certificates[0]?.der
    const r: RemoteCertificate | undefined = byId.get(id)
    if (der) fetched.set(id, { der, label: `${r?.name ? `'${r.name}' ` : ''}(${id})` })
  })
  const anchor = (key: Key): Anchor | undefined =>
    key.startsWith('sha256:')
      ? localAnchors.get(key.slice(7))
      : fingerprintOfId.has(key)
        ? localAnchors.get(fingerprintOfId.get(key)!)
        : fetched.get(key)
  const anchors = (set: ReadonlySet<Key>): Anchor[] => {
    const seen = new Set<Anchor>()
    for (const key of set) {
      const a = anchor(key)
      if (a) seen.add(a)
    }
    return [...seen]
  }
  const union = (pick: 'before' | 'after'): Anchor[] => [...new Set(scopes.flatMap((s) => anchors(s[pick])))]
  const org = scopes.find((s) => s.scope.scope.kind === 'organization')
  return {
    before: union('before'),
    after: union('after'),
    scopes: scopes.map((s) => ({
      name: scopeName(s.scope.scope),
      open: s.before.size === 0,
      before: anchors(s.before),
      after: anchors(s.after)
    })),
    organization: org && {
      before: anchors(org.before),
      after: anchors(org.after),
      firstActivation: org.before.size === 0 && org.after.size > 0,
      deactivates: org.scope.deactivate.length > 0
    }
  }
}

/**
 * Why the plan would lock the action's own next run out, or undefined. An organization-wide change
 * that starts requiring client certificates, or removes a CA, needs `client-certificate`, and that
 * certificate must verify against the organization's CAs after the run.
 */
export function organizationLockOut(org: PlanAnchors['organization'], client: Verdict | undefined): string | undefined {
  if (!org || !(org.firstActivation || org.deactivates)) return undefined
  const what = org.firstActivation
    ? "activate certificates for the organization, where none is active yet: from then on every request to it, this action's next run included, needs a client certificate that chains to an active CA (at https://mtls.api.openai.com/v1)"
    : "deactivate certificates for the organization: the action's next run must still present a client certificate that chains to a CA left active"
  if (!client)
    return `This run would ${what}. Set client-certificate and client-key (from secrets) to a client certificate issued from one of the files' CAs, so that the run can prove the next one gets in; nothing was changed.`
  if (client.problem !== null)
    return `This run would ${what}, and client-certificate ${quote(client.subject ?? '')} would not verify against the organization's CAs after it: ${client.problem}. Give client-certificate and client-key of a certificate issued from ${list(org.after.map((a) => a.label)) || 'a CA in the files'}; nothing was changed.`
  return undefined
}

/**
 * Workloads that get into a scope today (it has no active CA, so no check happens, or one accepts
 * them) but would not after the run: accepted somewhere else after it is not enough, since the action
 * cannot know which project a workload calls. Each is an error at its file, and its verdict says so.
 */
export async function strandedInScopes(
  workloads: readonly Presented[],
  verdicts: Verdict[],
  scopes: PlanAnchors['scopes'],
  now: Date
): Promise<Problem[]> {
  const problems: Problem[] = []
  for (const scope of scopes) {
    const after = await verifyPresented(workloads, scope.after, now)
    const before = scope.open ? [] : await verifyPresented(workloads, scope.before, now)
    for (const [i, w] of workloads.entries()) {
      const verdict = verdicts.find((v) => v.file === w.file && v.line === w.line)
      if (!verdict || verdict.problem !== null || after[i].problem === null) continue
      if (!scope.open && before[i].problem !== null) continue
      const today = scope.open ? `no CA is active there yet, so no check happens` : `it chains to ${before[i].anchor}`
      verdict.problem = `it gets into the ${scope.name} today (${today}) but would not after this run: ${after[i].problem}`
      verdict.check = 'stranded-in-scope'
      problems.push({
        check: 'workload-stranded-in-scope',
        severity: 'error',
        file: w.file,
        line: w.line,
        message: `Workload certificate ${quote(verdict.subject ?? '')} ${verdict.problem.replace(/^it /, '')}. Issue it from a CA this run leaves active in the ${scope.name}${scope.open ? '' : `, or keep ${before[i].anchor} active there`}; nothing was changed.`
      })
    }
  }
  return problems
}
