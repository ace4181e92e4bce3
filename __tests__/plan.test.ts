import { makeCa } from '../tools/certs.mjs'
import type { RemoteCertificate } from '../src/openai/wire.js'
import { candidates, type Inventory } from '../src/openai/inventory.js'
import { parseFile } from '../src/certificates/files.js'
import type { Certificate } from '../src/certificates/x509.js'
import {
  capProblem,
  deletionLockOut,
  keptCopy,
  makePlan,
  type NamedCertificate,
  NO_LIFECYCLE,
  overCap,
  planChanges,
  slotsAfter
} from '../src/plan/plan.js'

const now = new Date()
const seconds = (d: Date): number => Math.floor(d.getTime() / 1000)

async function local(count: number): Promise<Certificate[]> {
  const made = await Promise.all(Array.from({ length: count }, (_, i) => makeCa({ cn: `CA ${i}` })))
  return made.map((m, i) => parseFile(`certs/${i}.pem`, Buffer.from(m.pem)).certificates[0])
}

const remoteFor = (cert: Certificate, id: string, extra: Partial<RemoteCertificate> = {}): RemoteCertificate => ({
  id,
  name: null,
  createdAt: 1,
  validAt: seconds(cert.notBefore),
  expiresAt: seconds(cert.notAfter),
  ...extra
})
const others = (n: number, extra: Partial<RemoteCertificate> = {}): RemoteCertificate[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `cert_other${i}`,
    name: `other ${i}`,
    createdAt: i,
    validAt: 1,
    expiresAt: 2_000_000_000,
    ...extra
  }))
const named = (certs: Certificate[]): NamedCertificate[] => certs.map((cert, i) => ({ cert, name: `n${i}` }))

describe('makePlan', () => {
  it('skips certificates already in the organization and uploads each new one once', async () => {
    const [a, b, c] = await local(3)
    const remoteA = remoteFor(a, 'cert_a')
    const inventory: Inventory = {
      certificates: [remoteA, ...others(2)],
      byFingerprint: new Map([[a.fingerprint, remoteA]])
    }
    const plan = makePlan(named([a, b, c, b]), inventory, now)
    expect([...plan.existing.values()].map((r) => r.id)).toEqual(['cert_a'])
    expect(plan.uploads.map((u) => u.name)).toEqual(['n1', 'n2'])
    expect(slotsAfter(plan)).toBe(50 - 3 - 2)
    expect(capProblem(plan)).toBeUndefined()
  })

  it('accepts a plan that fills the organization exactly to the cap', async () => {
    const certs = await local(2)
    const plan = makePlan(named(certs), { certificates: others(48), byFingerprint: new Map() }, now)
    expect(slotsAfter(plan)).toBe(0)
    expect(capProblem(plan)).toBeUndefined()
  })

  it('refuses a plan that passes the cap, saying what is free, what is needed and what has expired', async () => {
    const certs = await local(3)
    const expired = others(2, { expiresAt: seconds(now) - 10 }).map((r, i) => ({ ...r, id: `cert_old${i}` }))
    const plan = makePlan(named(certs), { certificates: [...others(46), ...expired], byFingerprint: new Map() }, now)
    expect(slotsAfter(plan)).toBe(-1)
    const problem = capProblem(plan)!
    expect(problem).toMatch(
      /^The organization holds 48 of at most 50 certificates: 3 new certificates need 3 slots, but 2 are free, so nothing was changed\. Free slots first \(expired ones you could delete: cert_old0 \(other 0\), cert_old1 \(other 1\); 'prune-expired: true' deletes the inactive ones the files do not hold\)\. /
    )
    // The others are not in the files and inactive for the organization: retiring would free them.
    expect(problem).toContain(
      " Not in the files and inactive for the organization, so 'managed-names' matching their names, with 'prune-retired: as-needed', would retire them once inactive in every project too: 'other 0' cert_other0 (created 1970-01-01, expires "
    )
    expect(problem).toMatch(/, and 36 more\.$/)
  })

  it('does not count certificates already present against the cap', async () => {
    const [a] = await local(1)
    const remoteA = remoteFor(a, 'cert_a')
    const plan = makePlan(
      named([a]),
      { certificates: [remoteA, ...others(49)], byFingerprint: new Map([[a.fingerprint, remoteA]]) },
      now
    )
    expect(plan.uploads).toEqual([])
    expect(capProblem(plan)).toBeUndefined()
  })
})

describe('candidates', () => {
  it('keeps remote certificates whose validity window equals a local one, to the second, or is not listed', async () => {
    const [a] = await local(1)
    const remote = [
      remoteFor(a, 'same-window'),
      remoteFor(a, 'one-second-off', { expiresAt: seconds(a.notAfter) + 1 }),
      remoteFor(a, 'starts-earlier', { validAt: seconds(a.notBefore) - 60 }),
      { id: 'no-details', name: null, createdAt: 1 }
    ]
    expect(candidates(remote, [a]).map((r) => r.id)).toEqual(['same-window', 'no-details'])
  })
})

describe('copies kept by racing runs', () => {
  const copy = (id: string, createdAt: number): RemoteCertificate => ({ id, name: null, createdAt })

  it('every run keeps the same copy, whatever order it lists them in: the oldest, then the smallest id', () => {
    const copies = [copy('cert_b', 5), copy('cert_c', 4), copy('cert_a', 5), copy('cert_0', 4)]
    const kept = [copies, [...copies].reverse(), [copies[2], copies[0], copies[3], copies[1]]].map(
      (c) => keptCopy(c)?.id
    )
    expect(kept).toEqual(['cert_0', 'cert_0', 'cert_0'])
    expect(keptCopy([])).toBeUndefined()
  })

  it('an organization over the cap is named by its newest certificates past it', () => {
    expect(overCap(others(50))).toBeUndefined()
    const message = overCap([...others(51)].reverse())
    expect(message).toMatch(
      /^The organization holds 51 certificates, more than the 50 it may hold .*: the newest is cert_other50 \(other 50\)\./
    )
  })
})

describe('retiring in the plan', () => {
  const day = 86400
  const nowS = seconds(now)
  const cert = (id: string, name: string | null, extra: Partial<RemoteCertificate> = {}): RemoteCertificate => ({
    id,
    name,
    createdAt: 100,
    validAt: 1,
    expiresAt: nowS + 365 * day,
    ...extra
  })
  const full = (held: RemoteCertificate[]): RemoteCertificate[] => [
    ...held,
    ...others(50 - held.length, { active: true }).map((r) => ({ ...r, name: `busy ${r.id}` }))
  ]
  const options = {
    ...NO_LIFECYCLE,
    managedNames: ['team-*'],
    pruneRetired: 'as-needed' as const
  }

  it('prefers expired, then the oldest created; never one active in a project, unmanaged or without a name', async () => {
    const certs = await local(3)
    const inventory: Inventory = {
      certificates: full([
        cert('cert_young', 'team-young', { createdAt: 300 }),
        cert('cert_old', 'team-old', { createdAt: 200 }),
        cert('cert_expired', 'team-expired', { createdAt: 900, expiresAt: nowS - day }),
        cert('cert_project', 'team-project', { createdAt: 1 }),
        cert('cert_theirs', 'billing', { createdAt: 1 }),
        cert('cert_nameless', null, { createdAt: 1 })
      ]),
      byFingerprint: new Map()
    }
    const projects = new Map([['proj_archived', new Set(['cert_project'])]])
    const plan = makePlan(named(certs), inventory, now, options, projects)
    expect(plan.prunable.map((d) => d.remote.id)).toEqual(['cert_expired', 'cert_old', 'cert_young'])
    expect(plan.toDelete.map((d) => d.remote.id)).toEqual(['cert_expired', 'cert_old', 'cert_young'])
    expect(planChanges(plan).filter((c) => c.action === 'delete')[0].reason).toMatch(
      /^retired: not in the files, .*name matches 'team-\*', expired \d{4}-\d\d-\d\d \(prune-retired\)$/
    )
    const two = makePlan(named(certs.slice(0, 2)), inventory, now, options, projects)
    expect(two.toDelete.map((d) => d.remote.id)).toEqual(['cert_expired', 'cert_old'])
    expect(deletionLockOut(two, projects)).toBeUndefined()
  })

  it("all: every retired one, then prune-expired's as the uploads still need; none when nothing needs room", async () => {
    const certs = await local(2)
    const inventory: Inventory = {
      certificates: full([
        cert('cert_retired', 'team-a', { createdAt: 5 }),
        cert('cert_stale', 'billing-old', { expiresAt: nowS - day })
      ]),
      byFingerprint: new Map()
    }
    const plan = makePlan(named(certs), inventory, now, { ...options, pruneRetired: 'all', pruneExpired: true })
    expect(plan.toDelete.map((d) => [d.remote.id, d.reason.kind])).toEqual([
      ['cert_stale', 'expired'],
      ['cert_retired', 'retired']
    ])
    const room: Inventory = { certificates: inventory.certificates.slice(0, 10), byFingerprint: new Map() }
    const all = makePlan([], room, now, { ...options, pruneRetired: 'all', pruneExpired: true })
    expect(all.toDelete.map((d) => d.remote.id)).toEqual(['cert_retired'])
  })

  it('exclusive with managed-names deactivates only the matching names; a copy of a local certificate is held', async () => {
    const [a] = await local(1)
    const copy = remoteFor(a, 'cert_copy', { name: 'team-copy', createdAt: 9 })
    const kept = remoteFor(a, 'cert_kept', { name: 'team-kept', createdAt: 1, active: true })
    const inventory: Inventory = {
      certificates: [
        kept,
        copy,
        cert('cert_mine', 'team-2025', { active: true }),
        cert('cert_theirs', 'billing', { active: true })
      ],
      byFingerprint: new Map([[a.fingerprint, kept]]),
      duplicates: new Map([[a.fingerprint, [kept, copy]]])
    }
    const plan = makePlan(named([a]), inventory, now, {
      ...options,
      activate: true,
      exclusive: true,
      pruneRetired: 'all'
    })
    expect(plan.scopes[0].deactivate.map((r) => r.id)).toEqual(['cert_mine'])
    // cert_mine is active at the start of the run: retired no earlier than the next one.
    expect(plan.toDelete.map((d) => d.remote.id)).toEqual([])
  })
})
