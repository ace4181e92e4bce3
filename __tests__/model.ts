// The model behind __tests__/model.test.ts (issue 19, "Beyond the list"): what a case is, how it
// is generated, how it runs against the emulator (the bundled action, as the runner runs it), and
// the invariants every run must keep.
import fc from 'fast-check'
import { DAY, type GeneratedCertificate, makeCa, makeLeaf } from '../tools/certs.mjs'
import type { Emulator, Fault } from '../tools/emulator.mjs'
import { type ActionRun, runAction } from '../tools/run-action.mjs'
import { workspace } from './helpers.js'

/** Projects `project-ids` may name. */
export const PROJECTS = ['proj_a', 'proj_b'] as const
/** An archived project: it keeps the certificates active in it, and no run activates there. */
export const ARCHIVED = 'proj_old'
/** Every project of the organization (seeded in every case), where certificates may be active. */
export const ALL_PROJECTS = [...PROJECTS, ARCHIVED] as const
export type Project = (typeof ALL_PROJECTS)[number]

/**
 * The `managed-names` patterns a case may use, each with what it matches, written out here (not
 * asked of the action's glob library). The names in a case: `ca-3` or `ca-3 (2)` (the template's,
 * for a file certificate), `held-12`, `expired-0`, `by hand`, or none.
 */
export const PATTERNS: Record<string, RegExp> = {
  'ca-*': /^ca-.*$/,
  'ca-[0-3]*': /^ca-[0-3].*$/,
  'held-?': /^held-.$/,
  'expired-*': /^expired-.*$/,
  'by hand': /^by hand$/,
  '*': /^.+$/
}

/** Whether `managed-names` manages a name: always when it is empty, never a certificate without a name. */
export const manages = (patterns: readonly string[], name: string | null): boolean =>
  patterns.length === 0 || (name !== null && name !== '' && patterns.some((p) => PATTERNS[p].test(name)))
export const CAP = 50

/** Certificates the files may hold (ca-0 … ca-7), certificates only the organization holds, expired ones. */
export const FILE_CAS = 8
const FILLERS = 50
const EXPIRED = 6

export interface Pools {
  file: GeneratedCertificate[]
  filler: GeneratedCertificate[]
  expired: GeneratedCertificate[]
  /** Content (whitespace removed) → `file:3`, `filler:12`, `expired:0`. */
  keyOf: Map<string, string>
}

/**
 * The certificates every case draws from, made once. Three validity windows, a second apart, so
 * that many listed certificates share a local one's dates and the action must read their content.
 */
export async function makePools(): Promise<Pools> {
  const base = Date.now() - DAY
  const make = (cn: string, i: number) => makeCa({ cn, notBefore: new Date(base - (i % 3) * 1000) })
  const file = await Promise.all(Array.from({ length: FILE_CAS }, (_, i) => make(`ca-${i}`, i)))
  const filler = await Promise.all(Array.from({ length: FILLERS }, (_, i) => make(`held-${i}`, i)))
  const expired = await Promise.all(
    Array.from({ length: EXPIRED }, (_, i) =>
      makeCa({
        cn: `expired-${i}`,
        notBefore: new Date(Date.now() - 400 * DAY),
        notAfter: new Date(Date.now() - (i + 1) * DAY)
      })
    )
  )
  const keyOf = new Map<string, string>()
  const add = (pool: string, certs: GeneratedCertificate[]) =>
    certs.forEach((c, i) => keyOf.set(c.pem.replace(/\s/g, ''), `${pool}:${i}`))
  add('file', file)
  add('filler', filler)
  add('expired', expired)
  return { file, filler, expired, keyOf }
}

// ---------------------------------------------------------------------------------------------
// What a case is

/** A certificate of the pools: `file:3` (ca-3, which files may hold), `filler:12`, `expired:0`. */
export type CertKey = string

/** One certificate the organization holds when the case starts, in upload order (copies: the same key twice). */
export interface Stored {
  cert: CertKey
  /** `template`: the name the files' template gives it; `other`: a name set by hand; `none`. */
  name: 'template' | 'other' | 'none'
  org: boolean
  projects: Project[]
}

export interface Inputs {
  /** Files `certs/f0.pem` …, each holding these `file` certificates (several: a bundle). */
  files: number[][]
  activate: boolean
  exclusive: boolean
  projectIds: Project[]
  pruneExpired: boolean
  syncNames: boolean
  maxRetries: number
  /** For activation at the organization: a client certificate issued by the first file CA, by a CA only the organization holds, or none. */
  client: 'none' | 'file' | 'held'
  /** A workload's client certificate (workload-certificates), issued by the first file CA or by a CA only the organization holds. */
  workload: 'none' | 'file' | 'held'
  /** `managed-names`: keys of PATTERNS; empty by default. */
  managedNames: string[]
  /** `prune-retired` (only with managed-names: else the run refuses its inputs). */
  pruneRetired: 'false' | 'as-needed' | 'all'
}

export type FaultTarget =
  'upload' | 'list' | 'read' | 'activate' | 'deactivate' | 'project-list' | 'projects' | 'rename' | 'delete'
export type FaultKind =
  | 'status-500'
  | 'status-429'
  | 'reset'
  | 'store-then-fail'
  | 'store-then-reset'
  | 'answer-unapplied'
  | 'apply-some-then-fail'

export interface FaultSpec {
  target: FaultTarget
  kind: FaultKind
  /** Requests to that endpoint let through first. */
  skip: number
  times: number
}

export interface Case {
  stored: Stored[]
  inputs: Inputs
  faults: FaultSpec[]
  /** New certificates appear in listings only after this many further list calls. */
  lag: number
  /** Two runs at once (both take their inventory before either writes): the other run's inputs. */
  racer?: Inputs
}

// ---------------------------------------------------------------------------------------------
// Generators

const projectsArb = fc.subarray([...PROJECTS])

const storedArb = (cert: fc.Arbitrary<CertKey>): fc.Arbitrary<Stored> =>
  fc.record({
    cert,
    name: fc.constantFrom<Stored['name']>('template', 'other', 'none'),
    org: fc.boolean(),
    projects: fc.subarray<Project>([...ALL_PROJECTS])
  })

const fileKey = fc.integer({ min: 0, max: FILE_CAS - 1 }).map((i) => `file:${i}`)
const fillerKey = fc.integer({ min: 0, max: FILLERS - 1 }).map((i) => `filler:${i}`)
const expiredKey = fc.integer({ min: 0, max: EXPIRED - 1 }).map((i) => `expired:${i}`)

/** A few certificates, often copies of the files' ones; or an organization that is (nearly) full. */
const storedListArb: fc.Arbitrary<Stored[]> = fc.oneof(
  { weight: 5, arbitrary: fc.array(storedArb(fc.oneof(fileKey, fileKey, fillerKey, expiredKey)), { maxLength: 8 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.array(storedArb(fc.oneof(fileKey, expiredKey, expiredKey)), { maxLength: 6 }),
        fc.integer({ min: 40, max: CAP })
      )
      .map(([some, total]) => {
        // Some of them named `held-<i>`, which `held-?` manages when i < 10.
        const fill: Stored[] = Array.from({ length: Math.max(0, total - some.length) }, (_, i) => ({
          cert: `filler:${i}`,
          name: i % 3 === 0 ? 'template' : 'none',
          org: false,
          projects: []
        }))
        return [...fill, ...some].slice(0, CAP)
      })
  }
)

export const inputsArb: fc.Arbitrary<Inputs> = fc
  .record({
    files: fc.array(fc.array(fc.integer({ min: 0, max: FILE_CAS - 1 }), { minLength: 1, maxLength: 2 }), {
      minLength: 1,
      maxLength: 4
    }),
    activate: fc.boolean(),
    exclusive: fc.boolean(),
    projectIds: projectsArb,
    pruneExpired: fc.boolean(),
    syncNames: fc.boolean(),
    maxRetries: fc.integer({ min: 0, max: 2 }),
    client: fc.constantFrom<Inputs['client']>('none', 'file', 'file', 'held'),
    workload: fc.constantFrom<Inputs['workload']>('none', 'none', 'file', 'held'),
    managedNames: fc.oneof(
      { weight: 1, arbitrary: fc.constant<string[]>([]) },
      { weight: 2, arbitrary: fc.subarray(Object.keys(PATTERNS), { minLength: 1, maxLength: 2 }) }
    ),
    pruneRetired: fc.constantFrom<Inputs['pruneRetired']>('false', 'as-needed', 'as-needed', 'all')
  })
  // exclusive and project-ids only mean something with activate, prune-retired with managed-names
  // (else the run refuses its inputs).
  .map((i) => (i.activate ? i : { ...i, exclusive: false, projectIds: [] }))
  .map((i) => (i.managedNames.length ? i : { ...i, pruneRetired: 'false' }))

const WRITES: FaultTarget[] = ['upload', 'activate', 'deactivate', 'rename', 'delete']

const faultArb: fc.Arbitrary<FaultSpec> = fc
  .record({
    target: fc.constantFrom<FaultTarget>(
      'upload',
      'upload',
      'list',
      'read',
      'activate',
      'activate',
      'deactivate',
      'project-list',
      'projects',
      'rename',
      'delete',
      'delete'
    ),
    kind: fc.constantFrom<FaultKind>(
      'status-500',
      'status-429',
      'reset',
      'store-then-fail',
      'store-then-reset',
      'answer-unapplied',
      'apply-some-then-fail'
    ),
    skip: fc.integer({ min: 0, max: 2 }),
    times: fc.integer({ min: 1, max: 3 })
  })
  .filter(
    (f) =>
      (WRITES.includes(f.target) || !f.kind.startsWith('store-')) &&
      (f.target === 'activate' ||
        f.target === 'deactivate' ||
        (f.kind !== 'answer-unapplied' && f.kind !== 'apply-some-then-fail'))
  )

export const caseArb: fc.Arbitrary<Case> = fc
  .record({
    stored: storedListArb,
    inputs: inputsArb,
    faults: fc.oneof(
      { weight: 2, arbitrary: fc.constant<FaultSpec[]>([]) },
      { weight: 3, arbitrary: fc.array(faultArb, { minLength: 1, maxLength: 3 }) }
    ),
    lag: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 }) }),
    racer: fc.option(
      fc.oneof({ weight: 2, arbitrary: fc.constant<'same' | Inputs>('same') }, { weight: 1, arbitrary: inputsArb }),
      { freq: 4 }
    )
  })
  .map(({ racer, ...c }): Case => (racer === null ? c : { ...c, racer: racer === 'same' ? c.inputs : racer }))

// ---------------------------------------------------------------------------------------------
// Running a case

export const cnOf = (key: CertKey): string => {
  const [pool, i] = key.split(':')
  return pool === 'file' ? `ca-${i}` : `${pool === 'filler' ? 'held' : 'expired'}-${i}`
}

const certOf = (pools: Pools, key: CertKey): GeneratedCertificate => {
  const [pool, i] = key.split(':') as ['file' | 'filler' | 'expired', string]
  return pools[pool][Number(i)]
}

/** The name the `{cn}` template gives each file certificate: its first appearance, `(n)` in a bundle. */
export function templateNames(inputs: Inputs): Map<CertKey, string> {
  const names = new Map<CertKey, string>()
  for (const file of inputs.files)
    file.forEach((i, at) => {
      const key = `file:${i}`
      if (!names.has(key)) names.set(key, file.length > 1 ? `ca-${i} (${at + 1})` : `ca-${i}`)
    })
  return names
}

/** The organization as the emulator holds it: id → what a person would see. */
export interface Snapshot {
  ids: string[]
  byId: Map<string, { cert: CertKey; name: string | null; scopes: Set<string>; createdAt: number }>
}

export const ORG = 'organization'
const scopeKey = (project: string): string => `project ${project}`

export function snapshot(emulator: Emulator, pools: Pools): Snapshot {
  const byId: Snapshot['byId'] = new Map()
  for (const c of emulator.certificates) {
    const scopes = new Set<string>([...c.projects].map(scopeKey))
    if (c.active) scopes.add(ORG)
    byId.set(c.id, {
      cert: pools.keyOf.get(c.content.replace(/\s/g, '')) ?? `unknown:${c.id}`,
      name: c.name,
      scopes,
      createdAt: c.created_at
    })
  }
  return { ids: [...byId.keys()], byId }
}

/** The emulator's `beforeAnswer` for a lane: peaks, then the barrier. */
export const beforeAnswer = (lane: () => Lane) => (request: Emulator['requests'][number]) => {
  const l = lane()
  for (const o of l.watchers) o.peak = Math.max(o.peak, l.emulator.certificates.length)
  return l.barrier?.(request)
}

/** What a lane of the model uses: its own emulator, reset between cases. */
export interface Lane {
  emulator: Emulator
  pools: Pools
  /** Runs under way: each one's peak is followed before every request is answered. */
  watchers: Set<Observed>
  /** Holds requests back, so that runs overlap. */
  barrier?: (request: Emulator['requests'][number]) => void | Promise<void>
  clients: Map<string, { 'client-certificate': string; 'client-key': string }>
}

export function seedCase(lane: Lane, c: Case): void {
  const { emulator, pools } = lane
  emulator.reset({ listLag: c.lag ? { calls: c.lag } : undefined })
  for (const id of PROJECTS) emulator.addProject({ id })
  emulator.addProject({ id: ARCHIVED, archived: true })
  for (const s of c.stored) {
    const name =
      s.name === 'none' ? null : s.name === 'other' ? 'by hand' : (templateNames(c.inputs).get(s.cert) ?? cnOf(s.cert))
    const stored = emulator.seed(certOf(pools, s.cert).pem, name, { expired: s.cert.startsWith('expired') })
    stored.active = s.org
    for (const p of s.projects) stored.projects.add(p)
  }
}

export function emulatorFaults(specs: readonly FaultSpec[]): Fault[] {
  const paths: Record<FaultTarget, { method: string; path: RegExp | string }> = {
    upload: { method: 'POST', path: '/organization/certificates' },
    list: { method: 'GET', path: '/organization/certificates' },
    read: { method: 'GET', path: /^\/organization\/certificates\/cert_[^/]+$/ },
    activate: { method: 'POST', path: /\/certificates\/activate$/ },
    deactivate: { method: 'POST', path: /\/certificates\/deactivate$/ },
    'project-list': { method: 'GET', path: /^\/organization\/projects\/[^/]+\/certificates$/ },
    projects: { method: 'GET', path: '/organization/projects' },
    rename: { method: 'POST', path: /^\/organization\/certificates\/cert_[^/]+$/ },
    delete: { method: 'DELETE', path: /^\/organization\/certificates\/cert_[^/]+$/ }
  }
  // A short Retry-After keeps the retries quick; the action honours it.
  const quick = { 'retry-after-ms': '5' }
  return specs.map((f): Fault => {
    const where = { ...paths[f.target], skip: f.skip, times: f.times }
    switch (f.kind) {
      case 'status-500':
        return { ...where, status: 500, headers: quick }
      case 'status-429':
        return {
          ...where,
          status: 429,
          headers: quick,
          body: JSON.stringify({
            error: {
              message: 'Rate limit reached for requests per min (RPM): Limit 60, Used 60. Please try again in 5ms.',
              type: 'requests',
              param: null,
              code: 'rate_limit_exceeded'
            }
          })
        }
      case 'reset':
        return { ...where, action: 'reset' }
      case 'store-then-fail':
        return { ...where, action: 'store-then-fail', headers: quick }
      case 'store-then-reset':
        return { ...where, action: 'store-then-reset' }
      case 'answer-unapplied':
        return { ...where, action: 'answer-unapplied' }
      case 'apply-some-then-fail':
        return { ...where, action: 'apply-some-then-fail', headers: quick }
    }
  })
}

/** The action's inputs for a run of the case. */
export function actionInputs(lane: Lane, inputs: Inputs, mode: 'plan' | 'publish'): Record<string, string> {
  const organization = inputs.activate && inputs.projectIds.length === 0
  const client = organization && inputs.client !== 'none' ? clientFor(lane, inputs) : undefined
  return {
    files: 'certs/*.pem',
    mode,
    name: '{cn}',
    'admin-api-key': lane.emulator.adminKey,
    'base-url': lane.emulator.baseUrl,
    // No fault here is a slow answer; a loaded machine must not turn a slow start into one.
    'timeout-seconds': '15',
    'max-retries': String(inputs.maxRetries),
    activate: String(inputs.activate),
    exclusive: String(inputs.exclusive),
    'project-ids': inputs.projectIds.join('\n'),
    'prune-expired': String(inputs.pruneExpired),
    'sync-names': String(inputs.syncNames),
    'managed-names': inputs.managedNames.join('\n'),
    'prune-retired': inputs.pruneRetired,
    ...(client ?? {}),
    ...(inputs.workload === 'none' ? {} : { 'workload-certificates': 'workloads/*.pem' })
  }
}

/** The CA that issues the run's client certificate, when it has one. */
export function clientIssuer(inputs: Inputs): CertKey | undefined {
  if (!inputs.activate || inputs.projectIds.length > 0 || inputs.client === 'none') return undefined
  return inputs.client === 'file' ? `file:${inputs.files[0][0]}` : 'filler:0'
}

function clientFor(lane: Lane, inputs: Inputs) {
  return lane.clients.get(clientIssuer(inputs)!)
}

/** Client certificates for every CA that may issue one (made once). */
export async function makeClients(pools: Pools): Promise<Lane['clients']> {
  const clients: Lane['clients'] = new Map()
  const issuers = [...pools.file.map((c, i) => [`file:${i}`, c] as const), ['filler:0', pools.filler[0]] as const]
  for (const [key, ca] of issuers) {
    const leaf = await makeLeaf(ca, { cn: 'release workflow' })
    clients.set(key, { 'client-certificate': leaf.pem, 'client-key': leaf.key })
  }
  return clients
}

/** The CA that issues the workload's client certificate, when there is one. */
export function workloadIssuer(inputs: Inputs): CertKey | undefined {
  return inputs.workload === 'none' ? undefined : inputs.workload === 'file' ? `file:${inputs.files[0][0]}` : 'filler:0'
}

export async function filesOf(lane: Lane, inputs: Inputs): Promise<string> {
  const issuer = workloadIssuer(inputs)
  return workspace({
    ...Object.fromEntries(
      inputs.files.map((certs, j) => [`certs/f${j}.pem`, certs.map((i) => lane.pools.file[i].pem).join('')])
    ),
    ...(issuer ? { 'workloads/w.pem': lane.clients.get(issuer)!['client-certificate'] } : {})
  })
}

export interface Observed {
  run: ActionRun
  inputs: Inputs
  mode: 'plan' | 'publish'
  /** The most certificates the organization held while the run was under way. */
  peak: number
  /** Requests other than GET made while the run was under way (with another run at once: both's). */
  writes: string[]
}

/** Runs the bundled action once, and what the emulator saw meanwhile. */
/** Clears the faults and the listing lag, publishes once more and checks that run against `before`. */
async function againWithoutFaults(lane: Lane, root: string, inputs: Inputs, before: Snapshot) {
  const { emulator, pools } = lane
  emulator.faults.length = 0
  for (const cert of emulator.certificates) delete cert.listed
  emulator.setListLag(undefined)
  const second = await runOnce(lane, root, inputs, 'publish')
  const s2 = snapshot(emulator, pools)
  checkRuns(pools, before, s2, [second])
  return { second, s2 }
}

export async function runOnce(lane: Lane, root: string, inputs: Inputs, mode: 'plan' | 'publish'): Promise<Observed> {
  const from = lane.emulator.requests.length
  const observed: Observed = {
    run: undefined as unknown as ActionRun,
    inputs,
    mode,
    peak: lane.emulator.certificates.length,
    writes: []
  }
  lane.watchers.add(observed)
  try {
    observed.run = await runAction({ workspace: root, inputs: actionInputs(lane, inputs, mode) })
  } finally {
    lane.watchers.delete(observed)
  }
  observed.peak = Math.max(observed.peak, lane.emulator.certificates.length)
  observed.writes = lane.emulator.requests
    .slice(from)
    .filter((r) => r.method !== 'GET')
    .map((r) => `${r.method} ${r.path}`)
  return observed
}

/** Whether two snapshots show the same organization: ids, names and where each is active. */
function sameState(a: Snapshot, b: Snapshot): boolean {
  const text = (s: Snapshot) =>
    JSON.stringify([...s.byId].map(([id, c]) => [id, c.cert, c.name, [...c.scopes].sort()]).sort())
  return text(a) === text(b)
}

/**
 * A run that must free slots, where an expired certificate is active only in a project the run
 * does not list: the organization's listing shows it inactive, so it is tried, and the API refuses
 * to delete it (in use). The run cannot know (no endpoint says where a certificate is active), says
 * so, and passes it over; with no other to delete, it fails. Not a bug: the model expects it.
 */
function blockedPrune(inputs: Inputs, s: Snapshot, run: ActionRun): boolean {
  // With prune-retired, the run lists every project, and so knows.
  const listed = new Set(targetScopes(inputs))
  return (
    inputs.pruneExpired &&
    inputs.pruneRetired === 'false' &&
    /^::error::Only \d+ of the \d+ expired certificates needed to make room could be deleted/m.test(run.stdout) &&
    [...s.byId.values()].some(
      (c) => c.cert.startsWith('expired') && !c.scopes.has(ORG) && [...c.scopes].some((scope) => !listed.has(scope))
    )
  )
}

/** What a change is, whatever its id (a planned upload has none yet). */
const changeKey = (c: ChangeEntry): string =>
  `${c.action} ${c.fingerprint ? `fp:${c.fingerprint.slice(0, 12)}` : c.id}${c.scope ? ` in the ${c.scope}` : ''}${c.action === 'rename' ? ` to '${c.name}'` : ''}`

/** Runs one case: plan, publish (with the faults), then with the faults cleared until nothing is left to do. */
export async function runCase(lane: Lane, c: Case): Promise<void> {
  const { emulator, pools } = lane
  seedCase(lane, c)
  const root = await filesOf(lane, c.inputs)
  const s0 = snapshot(emulator, pools)
  if (c.racer) return raceCase(lane, c, root, s0)
  const plan = await runOnce(lane, root, c.inputs, 'plan')
  checkRuns(pools, s0, snapshot(emulator, pools), [plan])
  emulator.faults.push(...emulatorFaults(c.faults))
  const first = await runOnce(lane, root, c.inputs, 'publish')
  const s1 = snapshot(emulator, pools)
  checkRuns(pools, s0, s1, [first])
  if (plan.run.code !== 0)
    must(first.writes.length === 0, `plan failed (${tail(plan.run)}), but publish wrote: ${first.writes.join(', ')}`)
  if (plan.run.outputs['plan-hash'] && first.run.outputs['plan-hash'])
    must(
      plan.run.outputs['plan-hash'] === first.run.outputs['plan-hash'],
      'plan and then publish with the same inputs hashed different plans'
    )
  const faulty = c.faults.length > 0 || c.lag > 0
  if (!faulty && plan.run.code === 0 && !blockedPrune(c.inputs, s0, first.run)) {
    must(
      first.run.code === 0,
      `plan succeeded, but publish with the same inputs and no fault failed: ${tail(first.run)}`
    )
    const planned = json<ChangeEntry[]>(plan.run, 'changes').map(changeKey).sort()
    const made = json<ChangeEntry[]>(first.run, 'changes')
    must(
      made.every((m) => m.done),
      `publish left changes not made: ${made
        .filter((m) => !m.done)
        .map(changeKey)
        .join('; ')}`
    )
    const done = made.map(changeKey).sort()
    must(
      JSON.stringify(planned) === JSON.stringify(done),
      `plan said [${planned.join('; ')}], publish made [${done.join('; ')}]`
    )
  }
  const { second, s2 } = await againWithoutFaults(lane, root, c.inputs, s1)
  if (plan.run.code !== 0)
    must(second.writes.length === 0, `plan failed, but publish wrote: ${second.writes.join(', ')}`)
  else if (!blockedPrune(c.inputs, s1, second.run))
    must(second.run.code === 0, `with the faults cleared, publish did not converge: ${tail(second.run)}`)
  if (second.run.code === 0) expectConverged(pools, s1, s2, second)
  if (!faulty) {
    if (first.run.code === 0 && retiresDeactivated(c.inputs, s0, s1, second))
      return settled(lane, root, c.inputs, second, s2, s1)
    if (first.run.code === 0)
      must(second.writes.length === 0, `a second identical publish wrote: ${second.writes.join(', ')}`)
    else must(sameState(s1, s2), 'a second identical publish after a failed one changed the organization')
    return
  }
  await settled(lane, root, c.inputs, second, s2, s1)
}

/**
 * Whether a run after a successful one wrote only the deletions of certificates that one
 * deactivated (prune-retired: all): retiring them waits for the next run, by design.
 */
function retiresDeactivated(inputs: Inputs, prior: Snapshot, before: Snapshot, next: Observed): boolean {
  if (inputs.pruneRetired !== 'all' || next.writes.length === 0) return false
  return next.writes.every((w) => {
    const id = /^DELETE \/organization\/certificates\/(cert_\w+)$/.exec(w)?.[1]
    return id !== undefined && (prior.byId.get(id)?.scopes.size ?? 0) > 0 && before.byId.get(id)?.scopes.size === 0
  })
}

/**
 * Once a run converged (or keeps failing the same way), another identical one changes nothing,
 * but for retiring what the converged run deactivated (then one more changes nothing).
 */
async function settled(
  lane: Lane,
  root: string,
  inputs: Inputs,
  last: Observed,
  before: Snapshot,
  prior: Snapshot
): Promise<void> {
  for (let round = 0; round < 2; round++) {
    const next = await runOnce(lane, root, inputs, 'publish')
    const after = snapshot(lane.emulator, lane.pools)
    checkRuns(lane.pools, before, after, [next])
    must(
      next.run.code === last.run.code,
      `once converged, another identical publish ended ${next.run.code}, not ${last.run.code}: ${tail(next.run)}`
    )
    if (last.run.code !== 0)
      return must(sameState(before, after), 'a publish that keeps failing changed the organization')
    if (round === 0 && retiresDeactivated(inputs, prior, before, next)) {
      expectConverged(lane.pools, before, after, next)
      ;[prior, before, last] = [before, after, next]
      continue
    }
    return must(next.writes.length === 0, `once converged, another identical publish wrote: ${next.writes.join(', ')}`)
  }
}

/** Two runs at once, both taking their inventory before either writes; then one run converges. */
async function raceCase(lane: Lane, c: Case, root: string, s0: Snapshot): Promise<void> {
  const { emulator, pools } = lane
  const racer = c.racer!
  const rootB = await filesOf(lane, racer)
  let arrived = 0
  const waiting: (() => void)[] = []
  const release = () => {
    arrived = Infinity
    for (const go of waiting.splice(0)) go()
  }
  lane.barrier = (r) => {
    if (r.method !== 'GET' || r.path !== '/organization/certificates' || arrived >= 2) return
    if (++arrived >= 2) return release()
    return new Promise<void>((resolve) => waiting.push(resolve))
  }
  emulator.faults.push(...emulatorFaults(c.faults))
  let runs: Observed[]
  try {
    runs = await Promise.all(
      [runOnce(lane, root, c.inputs, 'publish'), runOnce(lane, rootB, racer, 'publish')].map((p) => p.finally(release))
    )
  } finally {
    lane.barrier = undefined
  }
  const s1 = snapshot(emulator, pools)
  checkRuns(pools, s0, s1, runs)
  const { second, s2 } = await againWithoutFaults(lane, root, c.inputs, s1)
  if (second.run.code === 0) expectConverged(pools, s1, s2, second)
  else
    must(
      sameState(s1, s2) || blockedPrune(c.inputs, s1, second.run),
      `after the race, publish changed the organization and failed: ${tail(second.run)}`
    )
  await settled(lane, root, c.inputs, second, s2, s1)
}

// ---------------------------------------------------------------------------------------------
// Invariants

export class Violation extends Error {}

export function must(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Violation(message)
}

const json = <T>(run: ActionRun, name: string): T => {
  const text = run.outputs[name]
  must(text !== undefined, `output '${name}' is missing (exit ${run.code})`)
  return JSON.parse(text) as T
}

interface ResultEntry {
  fingerprint: string | null
  id: string | null
  status: string
  problems: { check: string }[]
}
interface ChangeEntry {
  action: string
  id: string | null
  scope: string | null
  fingerprint: string | null
  name: string | null
  done: boolean
  unsure?: boolean
  error?: string
}

const sameSet = (a: Iterable<string>, b: Iterable<string>): boolean => {
  const x = new Set(a)
  const y = new Set(b)
  return x.size === y.size && [...x].every((v) => y.has(v))
}
const show = (ids: Iterable<string>): string => `[${[...ids].sort().join(', ')}]`

const fingerprintOf = (pools: Pools, key: CertKey): string => certOf(pools, key).fingerprint

/** The (id, scope) pairs active in a snapshot. */
const activePairs = (s: Snapshot): Set<string> =>
  new Set([...s.byId].flatMap(([id, c]) => [...c.scopes].map((scope) => `${id}@${scope}`)))

const targetScopes = (inputs: Inputs): string[] =>
  !inputs.activate ? [] : inputs.projectIds.length ? inputs.projectIds.map(scopeKey) : [ORG]

const ALL_SCOPES = [ORG, ...ALL_PROJECTS.map(scopeKey)]

/** The certificates of a run's files. */
const fileKeys = (inputs: Inputs): Set<CertKey> => new Set(inputs.files.flat().map((i) => `file:${i}`))

type Held = Snapshot['byId'] extends Map<string, infer V> ? V : never

/**
 * Retired for a run (docs/retiring.md): prune-retired on, not in its files, its name managed, and
 * inactive for the organization and in every project (the archived one included) in `s`.
 */
const retiredFor = (inputs: Inputs, c: Held): boolean =>
  inputs.pruneRetired !== 'false' &&
  !fileKeys(inputs).has(c.cert) &&
  manages(inputs.managedNames, c.name) &&
  c.scopes.size === 0

/** What prune-expired may delete: expired, inactive everywhere (never a file's certificate). */
const expiredFor = (inputs: Inputs, c: Held): boolean =>
  inputs.pruneExpired && c.cert.startsWith('expired') && c.scopes.size === 0

/**
 * The copy of a certificate held more than once that a run keeps and names: the one active in
 * most of the scopes it activates in (else the organization), then the oldest, then the smallest id.
 */
export function keptId(s: Snapshot, inputs: Inputs, cert: CertKey): string | undefined {
  const keep = inputs.activate && inputs.projectIds.length ? targetScopes(inputs) : [ORG]
  const copies = [...s.byId].filter(([, c]) => c.cert === cert)
  const activeIn = (c: Held) => keep.filter((scope) => c.scopes.has(scope)).length
  copies.sort(
    ([ia, a], [ib, b]) => activeIn(b) - activeIn(a) || a.createdAt - b.createdAt || (ia < ib ? -1 : ia > ib ? 1 : 0)
  )
  return copies[0]?.[0]
}

/** The ids a run names for the certificates of its files already held in `s`: the kept copies. */
const keptIds = (s: Snapshot, inputs: Inputs): Set<string> =>
  new Set([...fileKeys(inputs)].map((cert) => keptId(s, inputs, cert)).filter((id) => id !== undefined))

/** How many deletions a run's uploads need: the new certificates past the cap. */
const slotsNeeded = (s: Snapshot, inputs: Inputs): number =>
  Math.max(
    0,
    s.ids.length + [...fileKeys(inputs)].filter((k) => ![...s.byId.values()].some((c) => c.cert === k)).length - CAP
  )

/**
 * Every invariant of runs made together, from `before` to `after`: never over the cap, no
 * duplicate created, no scope left without an active CA that had one, the action's own next run
 * not locked out, and the outputs equal to what the store shows. With one run, exactly what
 * changed; with runs at once, each change made by one of them.
 */
export function checkRuns(pools: Pools, before: Snapshot, after: Snapshot, runs: readonly Observed[]): void {
  const alone = runs.length === 1
  const peak = Math.max(after.ids.length, ...runs.map((r) => r.peak))
  must(peak <= CAP, `the organization held ${peak} certificates, over the cap of ${CAP}`)

  // No duplicate created.
  const count = (s: Snapshot) => {
    const n = new Map<string, number>()
    for (const c of s.byId.values()) n.set(c.cert, (n.get(c.cert) ?? 0) + 1)
    return n
  }
  const [was, now] = [count(before), count(after)]
  // A copy a run stored and then could not delete (the API refused the delete) stays; the run fails
  // naming it, for a person to delete.
  const named = (id: string) => runs.some((r) => r.run.code !== 0 && errorLine(r.run).includes(id))
  const undeletable = (cert: CertKey) => after.ids.some((id) => after.byId.get(id)!.cert === cert && named(id))
  for (const [cert, n] of now)
    must(
      n <= Math.max(was.get(cert) ?? 0, 1) || undeletable(cert),
      `${cnOf(cert)} is held ${n} times after the run${runs.length > 1 ? 's' : ''} (${was.get(cert) ?? 0} before): a duplicate was created`
    )

  // No scope left with no active CA that had one.
  for (const scope of ALL_SCOPES) {
    const had = [...before.byId.values()].some((c) => c.scopes.has(scope))
    const has = [...after.byId.values()].some((c) => c.scopes.has(scope))
    must(!had || has, `the ${scope} had an active certificate before and has none after`)
  }

  // The action's own next run gets in: whoever activated for the organization presented a client
  // certificate issued by a CA active there after.
  const orgActive = (s: Snapshot) => [...s.byId.values()].filter((c) => c.scopes.has(ORG)).map((c) => c.cert)
  const deactivatedAtOrg = runs.some((r) =>
    json<ChangeEntry[]>(r.run, 'changes').some(
      (c) => c.action === 'deactivate' && c.scope === ORG && (c.done || c.unsure)
    )
  )
  if ((orgActive(before).length === 0 && orgActive(after).length > 0) || deactivatedAtOrg) {
    const issuers = runs.map((r) => clientIssuer(r.inputs)).filter((k) => k !== undefined)
    must(
      issuers.some((k) => orgActive(after).includes(k)),
      `the organization requires mutual TLS after the run, but no run's client certificate chains to a CA active there (${show(orgActive(after).map(cnOf))})`
    )
  }

  // No workload locked out: one that verified in a scope a run activates in still does (OpenAI
  // tries a project's certificates, then the organization's), and a run that changed activations
  // there leaves it verifying.
  const verifies = (s: Snapshot, issuer: CertKey, scope: string) =>
    [...s.byId.values()].some((c) => c.cert === issuer && (c.scopes.has(scope) || c.scopes.has(ORG)))
  for (const r of runs) {
    const issuer = workloadIssuer(r.inputs)
    if (!issuer || r.mode === 'plan') continue
    const changed = json<ChangeEntry[]>(r.run, 'changes').filter(
      (c) => (c.action === 'activate' || c.action === 'deactivate') && (c.done || c.unsure)
    )
    for (const scope of targetScopes(r.inputs)) {
      const was = verifies(before, issuer, scope)
      const touched = changed.some((c) => c.scope === scope)
      must(
        verifies(after, issuer, scope) || (!was && !touched),
        `the workload issued by ${cnOf(issuer)} ${was ? 'verified' : 'was activated for'} in the ${scope} before the run and does not verify after it`
      )
    }
  }

  // What left the organization: for some run, expired and inactive everywhere (prune-expired), or
  // retired (prune-retired: not in its files, name managed, inactive everywhere), in both cases
  // since before the run, so that a certificate a run deactivates is deleted no earlier than the
  // next run. As-needed deletes only as many as the uploads need; `all` every retired one.
  const gone = before.ids.filter((id) => !after.byId.has(id))
  const publishing = runs.filter((r) => r.mode === 'publish')
  for (const id of gone) {
    const c = before.byId.get(id)!
    must(
      publishing.some((r) => expiredFor(r.inputs, c) || retiredFor(r.inputs, c)),
      `${id} (${cnOf(c.cert)}, named '${c.name}'${c.scopes.size ? `, active in the ${[...c.scopes].join(', ')}` : ''}) was deleted`
    )
  }
  const allowed = publishing.reduce((sum, r) => {
    const needed = slotsNeeded(before, r.inputs)
    const retired = [...before.byId.values()].filter((c) => retiredFor(r.inputs, c)).length
    return sum + (r.inputs.pruneRetired === 'all' ? Math.max(needed, retired) : needed)
  }, 0)
  must(
    gone.length <= allowed,
    `${gone.length} certificates were deleted (${show(gone)}), but the uploads needed ${allowed} slots${publishing.some((r) => r.inputs.pruneRetired === 'all') ? ' (with every retired one)' : ''}`
  )
  // A deactivation is exclusive's, in a scope it activates in, of a certificate its files do not
  // hold and whose name managed-names manages.
  for (const [id, b] of before.byId) {
    const a = after.byId.get(id)
    if (!a) continue
    for (const scope of [...b.scopes].filter((x) => !a.scopes.has(x)))
      must(
        runs.some(
          (r) =>
            r.inputs.exclusive &&
            targetScopes(r.inputs).includes(scope) &&
            !fileKeys(r.inputs).has(b.cert) &&
            manages(r.inputs.managedNames, b.name)
        ),
        `${id} (${cnOf(b.cert)}, named '${b.name}') was deactivated in the ${scope}, which no run's exclusive manages`
      )
  }
  // Scopes no run activates in are left alone, and no name changes but the renames asked for.
  const targets = new Set(runs.flatMap((r) => targetScopes(r.inputs)))
  for (const id of after.ids) {
    const [b, a] = [before.byId.get(id), after.byId.get(id)!]
    for (const scope of ALL_SCOPES.filter((s) => !targets.has(s)))
      must(
        (b?.scopes.has(scope) ?? false) === a.scopes.has(scope),
        `${id} (${cnOf(a.cert)}) changed state in the ${scope}, where no run activates`
      )
    if (b && b.name !== a.name)
      must(
        runs.some((r) => r.inputs.syncNames),
        `${id} was renamed from '${b.name}' to '${a.name}' without sync-names`
      )
  }

  const activeBefore = activePairs(before)
  const activeAfter = activePairs(after)
  const appeared = after.ids.filter((id) => !before.byId.has(id))
  const renamed = after.ids.filter(
    (id) => before.byId.has(id) && before.byId.get(id)!.name !== after.byId.get(id)!.name
  )
  const outputs = {
    uploaded: new Set<string>(),
    deleted: new Set<string>(),
    activated: new Set<string>(),
    deactivated: new Set<string>(),
    renamed: new Set<string>()
  }
  const unsure = new Set<string>()
  for (const r of runs) {
    const { run } = r
    must(run.outputs.results !== undefined, `a run ended without outputs (exit ${run.code}): ${tail(run)}`)
    if (run.code !== 0) {
      const errors = run.stdout.split('\n').filter((l) => l.startsWith('::error::'))
      must(errors.length === 1, `a failed run printed ${errors.length} '::error::' lines: ${tail(run)}`)
      must(!/\n\s+at /.test(run.stdout), `a failed run printed a stack trace: ${tail(run)}`)
      must(!/^::error::Unexpected error/.test(errors[0]), `the run failed unexpectedly: ${errors[0]}`)
      // A rate limit says it is not the cap (issue 19.4); the cap is blamed only at the cap.
      if (/certificate cap/.test(errors[0]) && !/rate limit, not the certificate cap/.test(errors[0]))
        must(peak >= CAP, `the run blamed the certificate cap, but the organization held at most ${peak}: ${errors[0]}`)
    }
    const results = json<ResultEntry[]>(run, 'results')
    const changes = json<ChangeEntry[]>(run, 'changes')
    for (const c of changes) if (c.unsure && !c.done) unsure.add(`${c.action}:${c.id ?? c.fingerprint}@${c.scope}`)
    // Every id named exists, and holds the certificate it is named for.
    // But for one that another run at once deleted as its own (retired by its managed-names, which
    // then overlap this run's names: two repositories claiming one name, a misconfiguration).
    const takenByOther = (id: string) =>
      !alone && runs.some((o) => o !== r && o.mode === 'publish' && json<string[]>(o.run, 'deleted-ids').includes(id))
    for (const entry of results) {
      if (entry.id === null || takenByOther(entry.id)) continue
      const held = after.byId.get(entry.id)
      must(held, `results name ${entry.id} (${entry.status}), which the organization does not hold`)
      must(
        fingerprintOf(pools, held.cert) === entry.fingerprint,
        `results name ${entry.id} for a certificate it does not hold (it holds ${cnOf(held.cert)})`
      )
    }
    for (const name of ['certificate-ids', 'uploaded-ids', 'existing-ids', 'activated-ids', 'renamed-ids'])
      for (const id of json<string[]>(run, name))
        must(after.byId.has(id) || takenByOther(id), `${name} names ${id}, which the organization does not hold`)
    for (const id of json<string[]>(run, 'deleted-ids'))
      must(!after.byId.has(id), `deleted-ids names ${id}, which the organization still holds`)
    // The kept copy of each certificate of the files already held is the id named for it.
    const kept = keptIds(before, r.inputs)
    if (alone && run.code === 0) {
      for (const entry of results) {
        const cert = entry.fingerprint
          ? [...fileKeys(r.inputs)].find((k) => fingerprintOf(pools, k) === entry.fingerprint)
          : undefined
        const id = cert && keptId(before, r.inputs, cert)
        if (id)
          must(
            entry.id === id,
            `results name ${entry.id} for ${cnOf(cert)}, but the copy to keep is ${id} (active in most scopes, then oldest)`
          )
      }
      // In plan, every one; in publish, those not activated or renamed.
      const existing = json<string[]>(run, 'existing-ids')
      must(
        r.mode === 'plan' ? sameSet(existing, kept) : existing.every((id) => kept.has(id)),
        `existing-ids ${show(existing)}, but the files' certificates held before are ${show(kept)}`
      )
    }
    if (r.mode === 'plan') {
      must(r.writes.length === 0, `plan wrote: ${r.writes.join(', ')}`)
      // plan names every id that exists (issue 19.2): would-activate and would-rename ones too.
      if (run.code === 0)
        must(
          sameSet(json<string[]>(run, 'certificate-ids'), kept),
          `plan's certificate-ids ${show(json<string[]>(run, 'certificate-ids'))}, but the files' certificates held are ${show(kept)}`
        )
      continue
    }
    // certificate-ids: the id of every distinct certificate of the files (when the run got that far).
    const matched = new Map<string, string>()
    for (const entry of results) if (entry.id && entry.fingerprint) matched.set(entry.fingerprint, entry.id)
    must(
      sameSet(json<string[]>(run, 'certificate-ids'), matched.values()),
      `certificate-ids ${show(json<string[]>(run, 'certificate-ids'))} differ from the ids in results ${show(matched.values())}`
    )
    for (const id of json<string[]>(run, 'uploaded-ids')) outputs.uploaded.add(id)
    for (const id of json<string[]>(run, 'deleted-ids')) outputs.deleted.add(id)
    for (const id of json<string[]>(run, 'renamed-ids')) outputs.renamed.add(id)
    for (const c of changes.filter((c) => c.done && c.id)) {
      if (c.action === 'activate') outputs.activated.add(`${c.id}@${c.scope}`)
      if (c.action === 'deactivate') outputs.deactivated.add(`${c.id}@${c.scope}`)
    }
    const changed = gone.length + appeared.length + renamed.length > 0 || !sameSet(activeBefore, activeAfter)
    if (alone && changed)
      must(
        run.outputs['has-changes'] === 'true',
        `the organization changed, but has-changes is '${run.outputs['has-changes']}'`
      )
  }
  const publishes = runs.filter((r) => r.mode === 'publish')
  if (publishes.length === 0) return
  const uncertain = (action: string, id: string, scope: string | null) =>
    unsure.has(`${action}:${id}@${scope}`) ||
    [...unsure].some((u) => u.startsWith(`${action}:`) && u.endsWith(`@${scope}`))
  // uploaded-ids, deleted-ids, activations and renames are what changed. An upload reported
  // `unknown` (its answer lost and the look-up failed too) may be one of the new certificates.
  const unaccounted = appeared.filter((id) => !outputs.uploaded.has(id) && !named(id))
  const unknownUploads = [...unsure].filter((u) => u.startsWith('upload:')).length
  must(
    [...outputs.uploaded].every((id) => appeared.includes(id)) &&
      (unaccounted.length === 0 || unaccounted.length <= unknownUploads),
    `uploaded-ids ${show(outputs.uploaded)}, but the certificates new in the organization are ${show(appeared)}`
  )
  must(
    sameSet(outputs.deleted, gone),
    `deleted-ids ${show(outputs.deleted)}, but the certificates gone are ${show(gone)}`
  )
  for (const pair of activeAfter) {
    if (activeBefore.has(pair)) continue
    const [id, scope] = pair.split('@')
    must(
      outputs.activated.has(pair) || uncertain('activate', id, scope),
      `${id} became active in the ${scope}, but no run reports activating it`
    )
  }
  for (const pair of activeBefore) {
    const [id, scope] = pair.split('@')
    if (activeAfter.has(pair) || !after.byId.has(id)) continue
    must(
      outputs.deactivated.has(pair) || uncertain('deactivate', id, scope),
      `${id} became inactive in the ${scope}, but no run reports deactivating it`
    )
  }
  if (alone) {
    for (const pair of outputs.activated)
      must(
        activeAfter.has(pair) && !activeBefore.has(pair),
        `activated ${pair} is reported, but the organization shows no such change`
      )
    for (const pair of outputs.deactivated)
      must(
        !activeAfter.has(pair) && activeBefore.has(pair),
        `deactivated ${pair} is reported, but the organization shows no such change`
      )
    must(
      sameSet(outputs.renamed, renamed),
      `renamed-ids ${show(outputs.renamed)}, but the names changed of ${show(renamed)}`
    )
  }
}

/**
 * After a run with no fault that succeeded: the organization is what the inputs describe. Every
 * certificate of the files is held, under the template's name with sync-names, and active in
 * each scope with activate; with exclusive, nothing else is active there.
 */
export function expectConverged(pools: Pools, before: Snapshot, after: Snapshot, o: Observed): void {
  const { inputs, run } = o
  // prune-retired: all leaves no retired certificate but those this run deactivated (the next run's).
  if (inputs.pruneRetired === 'all') {
    const left = [...after.byId].filter(([id, c]) => retiredFor(inputs, c) && !before.byId.get(id)?.scopes.size)
    must(
      left.length === 0,
      `with prune-retired: all, ${left.map(([id, c]) => `${id} (${cnOf(c.cert)}, '${c.name}')`).join(', ')} ${left.length === 1 ? 'is' : 'are'} retired and still held`
    )
  }
  const results = json<ResultEntry[]>(run, 'results')
  const names = templateNames(inputs)
  const files = new Set(inputs.files.flat().map((i) => `file:${i}`))
  for (const key of files) {
    const fingerprint = fingerprintOf(pools, key)
    const entry = results.find((r) => r.fingerprint === fingerprint)
    must(entry?.id, `${cnOf(key)} has no id in results after a successful run`)
    const held = after.byId.get(entry.id)!
    if (inputs.syncNames)
      must(
        held.name === names.get(key),
        `${entry.id} (${cnOf(key)}) is named '${held.name}', not '${names.get(key)}' (sync-names)`
      )
    for (const scope of targetScopes(inputs)) {
      must(
        held.scopes.has(scope),
        `${entry.id} (${cnOf(key)}) is not active in the ${scope} after a successful run with activate`
      )
      if (!inputs.exclusive) continue
      const others = [...after.byId].filter(
        ([, c]) => c.scopes.has(scope) && !files.has(c.cert) && manages(inputs.managedNames, c.name)
      )
      must(
        others.length === 0,
        `with exclusive, ${others.map(([id, c]) => `${id} (${cnOf(c.cert)})`).join(', ')} ${others.length === 1 ? 'is' : 'are'} still active in the ${scope}`
      )
    }
  }
}

/** The run's one failure line (the last `::error::` command), or ''. */
export const errorLine = (run: ActionRun): string =>
  run.stdout
    .split('\n')
    .filter((l) => l.startsWith('::error::'))
    .at(-1) ?? ''

export const tail = (run: ActionRun): string =>
  run.stdout
    .split('\n')
    .filter((l) => !l.startsWith('::debug::') && !l.startsWith('::add-mask::') && l.trim() !== '')
    .slice(-6)
    .join(' | ')
    .slice(0, 1500)
