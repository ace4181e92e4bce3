import { makeCa } from '../tools/certs.mjs'
import type { RemoteCertificate } from '../src/api.js'
import { candidates, type Inventory } from '../src/inventory.js'
import { parseFile, type Certificate } from '../src/parse.js'
import { capProblem, keptCopy, makePlan, type NamedCertificate, overCap, slotsAfter } from '../src/plan.js'

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
