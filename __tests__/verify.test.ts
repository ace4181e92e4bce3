// The chain verdicts of src/certificates/chain.ts, judged against two independent readers: OpenSSL's own
// verifier (`openssl verify -partial_chain -purpose sslclient`) and the emulator's check, which
// uses OpenSSL's issuer check through node:crypto.
import { execFile } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'
import { DAY, type GeneratedCertificate, makeCa, makeIntermediate, makeLeaf } from '../tools/certs.mjs'
import { clientCertificateProblem } from '../tools/emulator.mjs'
import { type Anchor, verifyPresented } from '../src/certificates/chain.js'
import { workspace } from './helpers.js'

const run = promisify(execFile)
const der = (pem: string): Uint8Array => new Uint8Array(new X509Certificate(pem).raw)
const now = new Date()

interface Case {
  name: string
  anchors: string[]
  leaf: string
  intermediates: string[]
}

let cases: Case[]
let root: GeneratedCertificate
let other: GeneratedCertificate
let intermediate: GeneratedCertificate

beforeAll(async () => {
  root = await makeCa({ cn: 'Root' })
  other = await makeCa({ cn: 'Other root' })
  const expiredRoot = await makeCa({
    cn: 'Expired root',
    notBefore: new Date(Date.now() - 100 * DAY),
    notAfter: new Date(Date.now() - DAY)
  })
  intermediate = await makeIntermediate(root, { cn: 'Issuing CA' })
  const second = await makeIntermediate(intermediate, { cn: 'Second issuing CA' })
  const pathZero = await makeIntermediate(root, { cn: 'Path zero', pathLength: 0 })
  const belowZero = await makeIntermediate(pathZero, { cn: 'Below path zero' })
  const notCa = await makeIntermediate(root, { cn: 'Not a CA', ca: false })
  const expiredIntermediate = await makeIntermediate(root, {
    cn: 'Expired issuing CA',
    notBefore: new Date(Date.now() - 100 * DAY),
    notAfter: new Date(Date.now() - DAY)
  })
  const sameName = await makeCa({ cn: 'Root' }) // same subject as root, another key
  const leaf = async (issuer: GeneratedCertificate, options: Partial<Parameters<typeof makeLeaf>[1]> = {}) =>
    (await makeLeaf(issuer, { cn: 'workload', ...options })).pem
  const past = { notBefore: new Date(Date.now() - 60 * DAY), notAfter: new Date(Date.now() - DAY) }
  cases = [
    { name: 'direct', anchors: [root.pem], leaf: await leaf(root), intermediates: [] },
    { name: 'direct, among others', anchors: [other.pem, root.pem], leaf: await leaf(root), intermediates: [] },
    { name: 'wrong anchor', anchors: [other.pem], leaf: await leaf(root), intermediates: [] },
    { name: 'no anchor', anchors: [], leaf: await leaf(root), intermediates: [] },
    {
      name: 'one intermediate',
      anchors: [root.pem],
      leaf: await leaf(intermediate),
      intermediates: [intermediate.pem]
    },
    {
      name: 'two intermediates, out of order',
      anchors: [root.pem],
      leaf: await leaf(second),
      intermediates: [intermediate.pem, second.pem]
    },
    { name: 'intermediate missing', anchors: [root.pem], leaf: await leaf(second), intermediates: [second.pem] },
    {
      name: 'intermediate is the anchor',
      anchors: [intermediate.pem],
      leaf: await leaf(intermediate),
      intermediates: []
    },
    { name: 'intermediate not presented', anchors: [root.pem], leaf: await leaf(intermediate), intermediates: [] },
    { name: 'bad signature', anchors: [root.pem], leaf: await leaf(root, { signWith: other.keys }), intermediates: [] },
    {
      name: 'bad signature below an intermediate',
      anchors: [root.pem],
      leaf: await leaf(intermediate, { signWith: other.keys }),
      intermediates: [intermediate.pem]
    },
    { name: 'expired leaf', anchors: [root.pem], leaf: await leaf(root, past), intermediates: [] },
    { name: 'expired anchor', anchors: [expiredRoot.pem], leaf: await leaf(expiredRoot), intermediates: [] },
    {
      name: 'expired intermediate',
      anchors: [root.pem],
      leaf: await leaf(expiredIntermediate),
      intermediates: [expiredIntermediate.pem]
    },
    { name: 'intermediate not a CA', anchors: [root.pem], leaf: await leaf(notCa), intermediates: [notCa.pem] },
    {
      name: 'path length exceeded',
      anchors: [root.pem],
      leaf: await leaf(belowZero),
      intermediates: [pathZero.pem, belowZero.pem]
    },
    { name: 'path length kept', anchors: [root.pem], leaf: await leaf(pathZero), intermediates: [pathZero.pem] },
    { name: 'serverAuth only', anchors: [root.pem], leaf: await leaf(root, { eku: 'server' }), intermediates: [] },
    { name: 'no EKU', anchors: [root.pem], leaf: await leaf(root, { eku: null }), intermediates: [] },
    {
      name: 'Key Usage without digitalSignature',
      anchors: [root.pem],
      leaf: await leaf(root, { keyUsage: x509.KeyUsageFlags.keyEncipherment }),
      intermediates: []
    },
    { name: 'no Key Usage', anchors: [root.pem], leaf: await leaf(root, { keyUsage: null }), intermediates: [] },
    { name: 'same-name anchor, other key', anchors: [sameName.pem], leaf: await leaf(root), intermediates: [] },
    {
      name: 'same-name anchor first, then the real one',
      anchors: [sameName.pem, root.pem],
      leaf: await leaf(root),
      intermediates: []
    }
  ]
}, 60_000)

const verdictOf = async (c: Case) => {
  const anchors: Anchor[] = c.anchors.map((pem, i) => ({ der: der(pem), label: `anchor ${i}` }))
  const [verdict] = await verifyPresented(
    [{ source: 'workload', file: 'w.pem', line: 1, der: der(c.leaf), intermediates: c.intermediates.map(der) }],
    anchors,
    now
  )
  return verdict
}

describe('chain verdicts', () => {
  it('agree with openssl verify -partial_chain -purpose sslclient on every case', async () => {
    const dir = await workspace({})
    const disagreements: string[] = []
    for (const [i, c] of cases.entries()) {
      const anchors = join(dir, `anchors-${i}.pem`)
      const untrusted = join(dir, `untrusted-${i}.pem`)
      const leaf = join(dir, `leaf-${i}.pem`)
      await writeFile(anchors, c.anchors.join('') || other.pem) // -CAfile must not be empty
      await writeFile(untrusted, c.intermediates.join(''))
      await writeFile(leaf, c.leaf)
      const args = ['verify', '-partial_chain', '-purpose', 'sslclient', '-CAfile', anchors]
      if (c.intermediates.length > 0) args.push('-untrusted', untrusted)
      const openssl = await run('openssl', [...args, leaf]).then(
        () => true,
        () => false
      )
      const ours = (await verdictOf(c)).problem === null
      if (ours !== openssl) disagreements.push(`${c.name}: ours ${ours}, openssl ${openssl}`)
    }
    expect(disagreements).toEqual([])
  })

  it('agree with the emulator’s check on every case', async () => {
    const disagreements: string[] = []
    for (const c of cases) {
      const emulator =
        clientCertificateProblem(
          x509,
          new X509Certificate(c.leaf),
          c.intermediates.map((pem) => new X509Certificate(pem)),
          c.anchors.map((pem) => new X509Certificate(pem)),
          Math.floor(now.getTime() / 1000)
        ) === undefined
      const ours = (await verdictOf(c)).problem === null
      if (ours !== emulator) disagreements.push(`${c.name}: ours ${ours}, emulator ${emulator}`)
    }
    expect(disagreements).toEqual([])
  })

  it('says how each one is accepted, or why it is not', async () => {
    const byName = new Map(await Promise.all(cases.map(async (c) => [c.name, await verdictOf(c)] as const)))
    const summary = (name: string) => {
      const v = byName.get(name)!
      return v.problem === null ? `${v.path} ${v.anchor}` : v.check
    }
    expect(summary('direct')).toBe('direct anchor 0')
    expect(summary('direct, among others')).toBe('direct anchor 1')
    expect(summary('one intermediate')).toBe('intermediates anchor 0')
    expect(summary('two intermediates, out of order')).toBe('intermediates anchor 0')
    expect(summary('intermediate is the anchor')).toBe('direct anchor 0')
    expect(summary('wrong anchor')).toBe('no-anchor')
    expect(byName.get('wrong anchor')!.problem).toBe(
      "it chains to 'CN=Root, O=openai-certificates-action tests', which is not an anchor"
    )
    expect(summary('intermediate not presented')).toBe('no-anchor')
    expect(summary('bad signature')).toBe('bad-signature')
    expect(summary('bad signature below an intermediate')).toBe('bad-signature')
    expect(summary('expired leaf')).toBe('expired')
    expect(summary('expired anchor')).toBe('issuer-expired')
    expect(summary('expired intermediate')).toBe('issuer-expired')
    expect(summary('intermediate not a CA')).toBe('issuer-not-ca')
    expect(summary('path length exceeded')).toBe('path-length')
    expect(summary('serverAuth only')).toBe('not-client-auth')
    expect(summary('Key Usage without digitalSignature')).toBe('key-usage')
    expect(summary('same-name anchor, other key')).toBe('no-anchor')
    expect(summary('same-name anchor first, then the real one')).toBe('direct anchor 1')
  })

  it('refuses a client certificate without an Authority Key Identifier before trying any path', async () => {
    const leaf = (await makeLeaf(root, { cn: 'no aki', aki: false })).pem
    const verdict = await verdictOf({ name: 'no aki', anchors: [root.pem], leaf, intermediates: [] })
    expect([verdict.check, verdict.problem]).toEqual([
      'no-aki',
      'it has no Authority Key Identifier, which OpenAI requires'
    ])
  })
})
