// Once a CA is active for the whole organization, Admin API calls need a client certificate too
// (at mtls.api.openai.com). The emulator, in HTTPS mode, enforces that as OpenAI does: before
// anything is active it needs none; after, a client certificate that verifies against the active
// CAs. The action sends one from two inputs, and refuses, before writing anything, a change that
// would lock its next run or a workload out.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type GeneratedCertificate, makeCa, makeIntermediate, makeLeaf } from '../tools/certs.mjs'
import type { Emulator } from '../tools/emulator.mjs'
import type { ActionRun } from '../tools/run-action.mjs'
import { commands, emulators, ids, publishTo, workspace } from './helpers.js'

let server: { key: string; pem: string }
let serverCaFile: string
let clientCa: GeneratedCertificate
let client: { pem: string; key: string }

beforeAll(async () => {
  const serverCa = await makeCa({ cn: 'Emulator server CA' })
  server = await makeLeaf(serverCa, { cn: '127.0.0.1', server: true })
  clientCa = await makeCa({ cn: 'Client CA' })
  client = await makeLeaf(clientCa, { cn: 'release workflow' })
  serverCaFile = join(await workspace({}), 'server-ca.pem')
  await writeFile(serverCaFile, serverCa.pem)
})

const startEmulator = emulators('file')
const start = (): Promise<Emulator> => startEmulator({ mtls: { key: server.key, cert: server.pem } })

// The runner trusts the emulator's server CA the way a self-hosted runner trusts a private CA.
const publish = (emulator: Emulator, root: string, inputs: Record<string, string> = {}) =>
  publishTo(emulator, root, inputs, { env: { NODE_EXTRA_CA_CERTS: serverCaFile } })
const lastError = (run: ActionRun): string => commands(run, 'error').at(-1)!.message
const writes = (emulator: Emulator) => emulator.requests.filter((r) => r.method !== 'GET')
const state = (emulator: Emulator) => emulator.certificates.map((c) => `${c.name}:${c.active}`)
const tls = (c: { pem: string; key: string }) => ({ 'client-certificate': c.pem, 'client-key': c.key })

describe('mutual TLS to the API', () => {
  let emulator: Emulator
  let root: string
  beforeAll(async () => {
    emulator = await start()
    emulator.seed(clientCa.pem, 'client-ca').active = true
    root = await workspace({ 'certs/ca.pem': clientCa.pem })
  })

  it('is refused without a client certificate once a CA is active, with the API’s message', async () => {
    const run = await publish(emulator, root)
    expect(run.code).toBe(1)
    expect(lastError(run)).toMatch(
      /^The OpenAI API requires mutual TLS for this organization \(401: This organization requires mutual TLS: send a client certificate that chains to an active certificate\.\) while trying to list the organization certificates: set client-certificate and client-key from secrets/
    )
  })

  it('is refused with a client certificate that chains to no active CA', async () => {
    const stranger = await makeLeaf(await makeCa({ cn: 'Stranger CA' }), { cn: 'stranger' })
    const run = await publish(emulator, root, tls(stranger))
    expect(run.code).toBe(1)
    expect(lastError(run)).toMatch(
      /\(401: The client certificate does not chain to an active certificate\.\) while trying to list/
    )
  })

  it('publishes with client-certificate and client-key, and never prints the key', async () => {
    const run = await publish(emulator, root, tls(client))
    expect(run.code).toBe(0)
    expect(ids(run, 'existing-ids')).toEqual([emulator.certificates[0].id])
    const keyLines = client.key.split('\n').filter((l) => l && !l.startsWith('-----'))
    for (const line of keyLines) {
      expect(
        run.stdout
          .split('\n')
          .filter((l) => l.includes(line))
          .every((l) => l.startsWith('::add-mask::'))
      ).toBe(true)
      expect(run.summary + run.stderr + JSON.stringify(run.outputs)).not.toContain(line)
    }
  })

  it('refuses a key that is not the certificate’s before any request', async () => {
    const other = await makeLeaf(await makeCa(), { cn: 'someone else' })
    emulator.requests.length = 0
    const run = await publish(emulator, root, { 'client-certificate': client.pem, 'client-key': other.key })
    expect(run.code).toBe(1)
    expect(lastError(run)).toBe(
      "Input 'client-key' is not the private key of 'client-certificate': pass the key the certificate was issued for."
    )
    expect(emulator.requests).toEqual([])
  })
})

describe('activating for the organization', () => {
  it('is refused without client-certificate, before anything is written; the API stays reachable', async () => {
    const emulator = await start()
    const root = await workspace({ 'certs/ca.pem': clientCa.pem })
    const run = await publish(emulator, root, { activate: 'true' })
    expect(run.code).toBe(1)
    expect(lastError(run)).toBe(
      "This run would activate certificates for the organization, where none is active yet: from then on every request to it, this action's next run included, needs a client certificate that chains to an active CA (at https://mtls.api.openai.com/v1). Set client-certificate and client-key (from secrets) to a client certificate issued from one of the files' CAs, so that the run can prove the next one gets in; nothing was changed."
    )
    expect(emulator.certificates).toEqual([])
    expect(writes(emulator)).toEqual([])
    // Nothing is active, so the API still answers without a client certificate.
    expect((await publish(emulator, root, { mode: 'plan' })).code).toBe(0)
  })

  it('with a client certificate that verifies after the run, activates, and the next run gets in through mTLS', async () => {
    const emulator = await start()
    const root = await workspace({ 'certs/ca.pem': clientCa.pem })
    const run = await publish(emulator, root, { activate: 'true', ...tls(client) })
    expect(run.code).toBe(0)
    expect(state(emulator)).toEqual(['ca:true'])
    expect(JSON.parse(run.outputs.workloads)).toEqual([
      expect.objectContaining({ source: 'client-certificate', anchor: 'certs/ca.pem', path: 'direct', problem: null })
    ])
    expect(lastError(await publish(emulator, root))).toMatch(/certificate_required|requires mutual TLS/)
    const next = await publish(emulator, root, tls(client))
    expect(next.code).toBe(0)
    expect(ids(next, 'existing-ids')).toEqual([emulator.certificates[0].id])
  })

  it('accepts a client certificate that chains through the intermediate it presents', async () => {
    const emulator = await start()
    const issuing = await makeIntermediate(clientCa, { cn: 'Issuing CA' })
    const leaf = await makeLeaf(issuing, { cn: 'release workflow via issuing CA' })
    const chain = { pem: leaf.pem + issuing.pem, key: leaf.key }
    const root = await workspace({ 'certs/ca.pem': clientCa.pem })
    const run = await publish(emulator, root, { activate: 'true', ...tls(chain) })
    expect(run.code).toBe(0)
    expect(JSON.parse(run.outputs.workloads)[0]).toMatchObject({ path: 'intermediates', problem: null })
    const again = await publish(emulator, root, tls(chain))
    expect([again.code, commands(again, 'error')]).toEqual([0, []])
    // The leaf alone does not reach the active CA, here as at OpenAI.
    expect(lastError(await publish(emulator, root, tls(leaf)))).toMatch(/does not chain to an active certificate/)
  })

  it('is refused when client-certificate would not verify after the run', async () => {
    const emulator = await start()
    const other = await makeCa({ cn: 'Other CA' })
    const root = await workspace({ 'certs/ca.pem': other.pem })
    const run = await publish(emulator, root, { activate: 'true', ...tls(client) })
    expect(run.code).toBe(1)
    expect(lastError(run)).toMatch(
      /^This run would activate certificates for the organization, where none is active yet: .*, and client-certificate 'CN=release workflow' would not verify against the organization's CAs after it: it chains to 'CN=Client CA, O=openai-certificates-action tests', which is not an anchor\. Give client-certificate and client-key of a certificate issued from certs\/ca.pem; nothing was changed\.$/
    )
    expect(emulator.certificates).toEqual([])
  })
})

describe('rotation without lock-out', () => {
  it('refuses a rotation that would strand a workload, and makes it once the workload is reissued', async () => {
    const emulator = await start()
    const ca2026 = await makeCa({ cn: 'CA 2026' })
    const ca2027 = await makeCa({ cn: 'CA 2027' })
    const old = emulator.seed(ca2026.pem, 'ca-2026')
    old.active = true
    const client2026 = await makeLeaf(ca2026, { cn: 'release workflow 2026' })
    const client2027 = await makeLeaf(ca2027, { cn: 'release workflow 2027' })
    const payments2026 = (await makeLeaf(ca2026, { cn: 'payments' })).pem
    const payments2027 = (await makeLeaf(ca2027, { cn: 'payments' })).pem

    // First pull request: add the new CA next to the old one.
    const first = await workspace({
      'certs/ca-2026.pem': ca2026.pem,
      'certs/ca-2027.pem': ca2027.pem,
      'workloads/payments.pem': payments2026
    })
    const added = await publish(emulator, first, {
      activate: 'true',
      'workload-certificates': 'workloads/*.pem',
      ...tls(client2026)
    })
    expect(added.code).toBe(0)
    expect(state(emulator)).toEqual(['ca-2026:true', 'ca-2027:true'])

    // Second pull request, too early: the payments certificate still comes from the old CA.
    const second = await workspace({ 'certs/ca-2027.pem': ca2027.pem, 'workloads/payments.pem': payments2026 })
    const rotate = { activate: 'true', exclusive: 'true', 'workload-certificates': 'workloads/*.pem' }
    const before = writes(emulator).length
    const early = await publish(emulator, second, { ...rotate, ...tls(client2027) })
    expect(early.code).toBe(1)
    const [annotation] = commands(early, 'error')
    expect(annotation.properties).toBe('file=workloads/payments.pem,line=1')
    expect(annotation.message).toBe(
      `workloads/payments.pem:1: Workload certificate 'CN=payments' chains today to 'ca-2026' (${old.id}), which will not be active in the scopes this run activates in after this run (it chains to 'CN=CA 2026, O=openai-certificates-action tests', which is not an anchor): keep 'ca-2026' (${old.id}) until these certificates are reissued from certs/ca-2027.pem; nothing was changed. [workload-no-anchor]`
    )
    expect(lastError(early)).toBe(
      '1 workload certificate would verify against no active CA after this run, so nothing was changed: see the annotations above.'
    )
    expect(writes(emulator).length).toBe(before)
    expect(state(emulator)).toEqual(['ca-2026:true', 'ca-2027:true'])

    // The workload is reissued, but this action's own client certificate is not.
    const reissued = await workspace({ 'certs/ca-2027.pem': ca2027.pem, 'workloads/payments.pem': payments2027 })
    const stale = await publish(emulator, reissued, { ...rotate, ...tls(client2026) })
    expect(stale.code).toBe(1)
    expect(lastError(stale)).toMatch(
      /^This run would deactivate certificates for the organization: .* client-certificate 'CN=release workflow 2026' would not verify against the organization's CAs after it: .* Give client-certificate and client-key of a certificate issued from certs\/ca-2027.pem; nothing was changed\.$/
    )
    expect(writes(emulator).length).toBe(before)

    // Everything reissued: the rotation goes through, and the old client certificate is out.
    const done = await publish(emulator, reissued, { ...rotate, ...tls(client2027) })
    expect(done.code).toBe(0)
    expect(ids(done, 'deactivated-ids')).toEqual([old.id])
    expect(state(emulator)).toEqual(['ca-2026:false', 'ca-2027:true'])
    expect(JSON.parse(done.outputs.workloads).map((v: { anchor: string }) => v.anchor)).toEqual([
      'certs/ca-2027.pem',
      'certs/ca-2027.pem'
    ])
    expect(lastError(await publish(emulator, reissued, tls(client2026)))).toMatch(/does not chain to an active/)
    expect((await publish(emulator, reissued, tls(client2027))).code).toBe(0)
  })
})
