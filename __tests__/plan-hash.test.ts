// The plan hash: equal plans hash the same whatever the order, and a refusal says what changed.
import { canonicalJson, hashPlan, planDifference, reviewablePlan } from '../src/plan/plan-hash.js'
import type { Change } from '../src/plan/plan.js'
import type { RemoteCertificate } from '../src/openai/wire.js'

const remote = (id: string, name: string, active = false): RemoteCertificate => ({ id, name, createdAt: 1, active })
const change = (action: Change['action'], id: string | null, name: string, scope: string | null = null): Change => ({
  action,
  id,
  name,
  scope,
  fingerprint: id ? null : 'f'.repeat(64),
  done: false
})
const inventory = (certificates: RemoteCertificate[]) => ({ certificates, byFingerprint: new Map() })

describe('plan hash', () => {
  it('writes canonical JSON: keys sorted, undefined left out', () => {
    expect(canonicalJson({ b: [2, { d: 1, c: null }], a: 'x', u: undefined })).toBe(
      '{"a":"x","b":[2,{"c":null,"d":1}]}'
    )
  })

  it('hashes the same plan the same, whatever the order of its changes or of the listing, and ignores done', () => {
    const org = [remote('cert_a', 'a'), remote('cert_b', 'b', true)]
    const changes = [
      change('upload', null, 'new'),
      change('activate', 'cert_a', 'a', 'organization'),
      change('deactivate', 'cert_b', 'b', 'organization')
    ]
    const first = reviewablePlan(changes, inventory(org), new Map())
    const again = reviewablePlan(
      [...changes].reverse().map((c) => ({ ...c, done: true })),
      inventory([...org].reverse()),
      new Map()
    )
    expect(again.hash).toBe(first.hash)
    expect(first.hash).toBe(hashPlan(first.plan))
    expect(first.hash).toMatch(/^[0-9a-f]{64}$/)
    // Only the certificates the changes touch are part of it.
    const more = reviewablePlan(changes, inventory([...org, remote('cert_c', 'unrelated', true)]), new Map())
    expect(more.hash).toBe(first.hash)
  })

  it('changes when a certificate the plan touches changed, and says how', () => {
    const changes = [change('activate', 'cert_a', 'a', 'project proj_1')]
    const reviewed = reviewablePlan(changes, inventory([remote('cert_a', 'a')]), new Map())
    const now = reviewablePlan(
      changes,
      inventory([remote('cert_a', 'renamed')]),
      new Map([['proj_2', new Set(['cert_a'])]])
    )
    expect(now.hash).not.toBe(reviewed.hash)
    expect(planDifference(reviewed.plan, now.plan)).toBe(
      "certificate cert_a 'a' inactive is now cert_a 'renamed' inactive (active in proj_2)"
    )
  })

  it('lists the changes added and dropped, or the whole new plan when the reviewed one is not at hand', () => {
    const org = inventory([remote('cert_a', 'a', true)])
    const reviewed = reviewablePlan([change('upload', null, 'new')], org, new Map())
    const now = reviewablePlan([change('deactivate', 'cert_a', 'a', 'organization')], org, new Map())
    expect(planDifference(reviewed.plan, now.plan)).toBe(
      "now also deactivate 'a' (cert_a) for the organization; no longer upload 'new'"
    )
    expect(planDifference(undefined, now.plan)).toBe("the plan is now: deactivate 'a' (cert_a) for the organization")
    expect(planDifference(undefined, reviewablePlan([], org, new Map()).plan)).toBe('the plan is now: no change')
  })
})
