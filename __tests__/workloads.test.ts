// workload-certificates in validate mode: the pull-request check that a change of CAs leaves every
// workload a CA that accepts it, run offline through the bundle.
import { DAY, type GeneratedCertificate, makeCa, makeIntermediate, makeLeaf } from '../tools/certs.mjs'
import { startEmulator } from '../tools/emulator.mjs'
import { commands, publishTo, validate, workspace } from './helpers.js'
import type { Verdict } from '../src/certificates/chain.js'

/** Key Usage keyEncipherment alone (RFC 5280 bit 2), without digitalSignature. */
const KEY_ENCIPHERMENT = 4

let ca2026: GeneratedCertificate
let ca2027: GeneratedCertificate
let payments2026: string

beforeAll(async () => {
  ca2026 = await makeCa({ cn: 'CA 2026' })
  ca2027 = await makeCa({ cn: 'CA 2027' })
  payments2026 = (await makeLeaf(ca2026, { cn: 'payments' })).pem
})

const withWorkloads = (root: string, inputs: Record<string, string> = {}) =>
  validate(root, { 'workload-certificates': 'workloads/*.pem', ...inputs })
const workloads = (run: Awaited<ReturnType<typeof withWorkloads>>): Verdict[] =>
  JSON.parse(run.outputs.workloads) as Verdict[]

describe('validate with workload-certificates', () => {
  it('gives the fix that fits: a missing intermediate, a chain file in the wrong order, a CA of the same name', async () => {
    const issuing = await makeIntermediate(ca2026, { cn: 'Issuing CA' })
    const leaf = (await makeLeaf(issuing, { cn: 'payments' })).pem
    const namesake = await makeCa({ cn: 'CA 2026' })
    const root = await workspace({
      'certs/ca-2026.pem': ca2026.pem,
      'workloads/leaf-only.pem': leaf,
      'workloads/wrong-order.pem': issuing.pem + leaf
    })
    const run = await withWorkloads(root)
    expect(run.code).toBe(1)
    const messages = commands(run, 'error').map((c) => c.message)
    expect(messages[0]).toBe(
      "workloads/leaf-only.pem:1: Workload certificate 'CN=payments' would verify against no CA in the files: it chains to 'CN=Issuing CA, O=openai-certificates-action tests', which is not a CA in the files and is not among the certificates it presents. If 'CN=Issuing CA, O=openai-certificates-action tests' is an intermediate CA, the workload must present it after its own certificate (in workloads/leaf-only.pem, after the client certificate), or the files must hold it as the CA; if it is a CA the files held until now, keep it until these certificates are reissued from certs/ca-2026.pem. [workload-no-anchor]"
    )
    expect(messages[1]).toBe(
      "workloads/wrong-order.pem:1: workloads/wrong-order.pem would be refused by OpenAI: it starts with the CA 'CN=Issuing CA, O=openai-certificates-action tests', not with the client certificate 'CN=payments' that comes after it. Put the client certificate first, then the intermediates it sends. [workload-wrong-order]"
    )
    expect(run.summary).toMatch(/; 2 errors, 0 warnings\./)

    // The files now hold another CA of the old one's name: the message tells them apart by file and key id.
    const other = await workspace({ 'certs/ca-2026.pem': namesake.pem, 'workloads/payments.pem': payments2026 })
    const renamed = await withWorkloads(other)
    expect(renamed.code).toBe(1)
    expect(commands(renamed, 'error')[0].message).toMatch(
      /^workloads\/payments\.pem:1: Workload certificate 'CN=payments' would verify against no CA in the files: it is issued by 'CN=CA 2026, O=openai-certificates-action tests' with key id ([0-9a-f]{16})…, not by certs\/ca-2026\.pem \(key id (?!\1)[0-9a-f]{16}…\), a different CA of the same name\. Keep the CA with key id \1… until these certificates are reissued from certs\/ca-2026\.pem\. \[workload-no-anchor\]$/
    )
  })

  it('fails when client-certificate, the one the action presents, would be refused by OpenAI (serverAuth only)', async () => {
    const server = await makeLeaf(ca2026, { cn: 'action', eku: 'server' })
    const root = await workspace({ 'certs/ca-2026.pem': ca2026.pem })
    const run = await validate(root, { 'client-certificate': server.pem, 'client-key': server.key })
    expect(run.code).toBe(1)
    expect(commands(run, 'error')[0].message).toBe(
      "client-certificate:1: Input client-certificate 'CN=action' would be refused by OpenAI: its Extended Key Usage does not include clientAuth, so it is not for TLS client authentication. Reissue it for client authentication and update the client-certificate and client-key secrets. [client-certificate-not-client-auth]"
    )
    expect(run.summary).toMatch(/; 1 error, 0 warnings\./)
    expect(run.summary).toMatch(/\| ❌ \| CN=action \| input `client-certificate` \|/)
  })

  it('fails a pull request that removes a CA still used by a workload, at the workload’s file and line', async () => {
    const root = await workspace({
      'certs/ca-2027.pem': ca2027.pem,
      'workloads/payments.pem': `# payments service\n${payments2026}`
    })
    const run = await withWorkloads(root)
    expect(run.code).toBe(1)
    const errors = commands(run, 'error')
    expect(errors[0]).toEqual({
      properties: 'file=workloads/payments.pem,line=2',
      message:
        "workloads/payments.pem:2: Workload certificate 'CN=payments' would verify against no CA in the files: it chains to 'CN=CA 2026, O=openai-certificates-action tests', which is not a CA in the files and is not among the certificates it presents. If 'CN=CA 2026, O=openai-certificates-action tests' is an intermediate CA, the workload must present it after its own certificate (in workloads/payments.pem, after the client certificate), or the files must hold it as the CA; if it is a CA the files held until now, keep it until these certificates are reissued from certs/ca-2027.pem. [workload-no-anchor]"
    })
    expect(workloads(run)).toEqual([
      {
        source: 'workload',
        file: 'workloads/payments.pem',
        line: 2,
        subject: 'CN=payments',
        not_after: expect.any(String),
        anchor: null,
        path: null,
        problem: "it chains to 'CN=CA 2026, O=openai-certificates-action tests', which is not an anchor",
        check: 'no-anchor'
      }
    ])
    expect(run.summary).toContain('### Client certificates after this run')
    expect(run.summary).toMatch(/\| ❌ \| CN=payments \| `workloads\/payments.pem:2` \|/)
  })

  it('passes while both CAs are in the files, and says which one accepts each workload', async () => {
    const root = await workspace({
      'certs/ca-2026.pem': ca2026.pem,
      'certs/ca-2027.pem': ca2027.pem,
      'workloads/payments.pem': payments2026,
      'workloads/search.pem': (await makeLeaf(ca2027, { cn: 'search' })).pem
    })
    // The test certificates expire in 30 days: below the warning threshold here.
    const run = await withWorkloads(root, { 'expiry-warning-days': '10' })
    expect(run.code).toBe(0)
    expect(commands(run, 'warning')).toEqual([])
    expect(workloads(run).map((v) => [v.file, v.anchor, v.path, v.problem])).toEqual([
      ['workloads/payments.pem', 'certs/ca-2026.pem', 'direct', null],
      ['workloads/search.pem', 'certs/ca-2027.pem', 'direct', null]
    ])
    expect(run.summary).toMatch(
      /\| ✅ \| CN=payments \| `workloads\/payments.pem:1` \| [-\d]+ \| certs\/ca-2026.pem \| signed directly \|/
    )
  })

  it('verifies a chain file through the intermediates the workload presents', async () => {
    const issuing = await makeIntermediate(ca2027, { cn: 'Issuing CA 2027' })
    const leaf = (await makeLeaf(issuing, { cn: 'batch' })).pem
    const root = await workspace({ 'certs/ca-2027.pem': ca2027.pem, 'workloads/batch.pem': leaf + issuing.pem })
    const run = await withWorkloads(root)
    expect(run.code).toBe(0)
    expect(workloads(run).map((v) => [v.anchor, v.path])).toEqual([['certs/ca-2027.pem', 'intermediates']])
    // Without the intermediate, the same certificate reaches no CA.
    const alone = await workspace({ 'certs/ca-2027.pem': ca2027.pem, 'workloads/batch.pem': leaf })
    const refused = await withWorkloads(alone)
    expect(refused.code).toBe(1)
    expect(workloads(refused)[0].check).toBe('no-anchor')
  })

  it('reports each certificate OpenAI would refuse with its reason, and warns of one expiring soon', async () => {
    const other = await makeCa({ cn: 'Impostor' })
    const past = { notBefore: new Date(Date.now() - 60 * DAY), notAfter: new Date(Date.now() - DAY) }
    const root = await workspace({
      'certs/ca.pem': ca2027.pem,
      'workloads/a-expired.pem': (await makeLeaf(ca2027, { cn: 'expired', ...past })).pem,
      'workloads/b-no-aki.pem': (await makeLeaf(ca2027, { cn: 'no aki', aki: false })).pem,
      'workloads/c-server.pem': (await makeLeaf(ca2027, { cn: 'server only', eku: 'server' })).pem,
      'workloads/d-bad-signature.pem': (await makeLeaf(ca2027, { cn: 'forged', signWith: other.keys })).pem,
      'workloads/e-key-usage.pem': (await makeLeaf(ca2027, { cn: 'encipher only', keyUsage: KEY_ENCIPHERMENT })).pem,
      'workloads/f-soon.pem': (
        await makeLeaf(ca2027, {
          cn: 'soon',
          notBefore: new Date(Date.now() - DAY),
          notAfter: new Date(Date.now() + 5 * DAY)
        })
      ).pem
    })
    const run = await withWorkloads(root)
    expect(run.code).toBe(1)
    expect(workloads(run).map((v) => [v.subject, v.check])).toEqual([
      ['CN=expired', 'expired'],
      ['CN=no aki', 'no-aki'],
      ['CN=server only', 'not-client-auth'],
      ['CN=forged', 'bad-signature'],
      ['CN=encipher only', 'key-usage'],
      ['CN=soon', null]
    ])
    expect(commands(run, 'error').at(-1)!.message).toMatch(/^5 errors in 5 files: /)
    expect(
      commands(run, 'error')
        .slice(0, -1)
        .map((e) => e.properties)
    ).toEqual([
      'file=workloads/a-expired.pem,line=1',
      'file=workloads/b-no-aki.pem,line=1',
      'file=workloads/c-server.pem,line=1',
      'file=workloads/d-bad-signature.pem,line=1',
      'file=workloads/e-key-usage.pem,line=1'
    ])
    expect(commands(run, 'error')[1].message).toBe(
      "workloads/b-no-aki.pem:1: Workload certificate 'CN=no aki' would be refused by OpenAI: it has no Authority Key Identifier, which OpenAI requires. Reissue it. [workload-no-aki]"
    )
    expect(commands(run, 'error')[3].message).toMatch(
      /the signature of 'CN=forged' does not verify with the key of 'CN=CA 2027, O=openai-certificates-action tests'/
    )
    expect(run.summary).toMatch(
      /\| ⚠️ \| CN=soon \| `workloads\/f-soon.pem:1` \| [-\d]+ \| certs\/ca.pem \| signed directly<br>Workload certificate 'CN=soon' expires on /
    )
    const [soon] = commands(run, 'warning')
    expect(soon.properties).toBe('file=workloads/f-soon.pem,line=1')
    expect(soon.message).toMatch(
      /Workload certificate 'CN=soon' expires on \d{4}-\d\d-\d\d, in [45] days: reissue it before then\. \[workload-expires-soon\]$/
    )
  })

  it('refuses a private key in a workload file, as in files', async () => {
    const client = await makeLeaf(ca2027, { cn: 'leaky' })
    const root = await workspace({
      'certs/ca.pem': ca2027.pem,
      'workloads/leaky.pem': client.pem + client.key
    })
    const run = await withWorkloads(root)
    expect(run.code).toBe(1)
    const [error] = commands(run, 'error')
    expect(error.properties).toMatch(/^file=workloads\/leaky.pem,line=\d+$/)
    expect(error.message).toMatch(/a private key must never be published.*\[private-key\]$/)
    expect(run.stdout + run.summary).not.toContain(client.key.split('\n')[1])
  })

  it('fails when the patterns match no file', async () => {
    const root = await workspace({ 'certs/ca.pem': ca2027.pem })
    const run = await withWorkloads(root)
    expect(run.code).toBe(1)
    expect(commands(run, 'error').at(-1)!.message).toMatch(
      /^No files matched workload-certificates 'workloads\/\*.pem'/
    )
  })

  it('a workload file that also holds its private key: its entry carries the problem, reported once', async () => {
    const payments = await makeLeaf(ca2026, { cn: 'payments' })
    const root = await workspace({
      'certs/ca-2026.pem': ca2026.pem,
      'workloads/payments.pem': payments.pem + payments.key,
      'workloads/billing.pem': (await makeLeaf(ca2026, { cn: 'billing' })).pem
    })
    const run = await withWorkloads(root)
    expect(run.code).toBe(1)
    const entries = workloads(run)
    const entry = entries.find((v) => v.file === 'workloads/payments.pem')!
    expect(entry).toMatchObject({ check: 'private-key', subject: 'CN=payments' })
    expect(entry.problem).toMatch(/a private key must never be published\. Remove it from workloads\/payments\.pem/)
    // The workload beside it is still judged on its own.
    expect(entries.find((v) => v.file === 'workloads/billing.pem')).toMatchObject({
      problem: null,
      anchor: 'certs/ca-2026.pem'
    })
    const errors = commands(run, 'error').filter((c) => c.properties.startsWith('file=workloads/payments.pem'))
    expect(errors.map((e) => /\[([a-z-]+)\]$/.exec(e.message)?.[1])).toEqual(['private-key'])
    expect(run.stdout + JSON.stringify(run.outputs)).not.toContain(payments.key.split('\n')[1].slice(0, 24))
  })

  it('without workload-certificates, says nothing of workloads', async () => {
    const root = await workspace({ 'certs/ca.pem': ca2027.pem })
    const run = await validate(root)
    expect(run.code).toBe(0)
    expect(JSON.parse(run.outputs.workloads)).toEqual([])
  })
})

describe('plan with activate for projects', () => {
  it('counts the organization’s CAs for project requests, and refuses to strand a workload of the project', async () => {
    const emulator = await startEmulator()
    emulator.addProject({ id: 'proj_a' })
    try {
      const orgCa = await makeCa({ cn: 'Organization CA' })
      const projectCa = await makeCa({ cn: 'Project CA' })
      // Validity dates of its own, so that the inventory reads no remote certificate's content.
      const newCa = await makeCa({ cn: 'New project CA', notBefore: new Date(Date.now() - 2 * DAY) })
      const org = emulator.seed(orgCa.pem, 'org-ca')
      org.active = true
      const project = emulator.seed(projectCa.pem, 'project-ca')
      project.projects.add('proj_a')
      const root = await workspace({
        'certs/new.pem': newCa.pem,
        'workloads/batch.pem': (await makeLeaf(orgCa, { cn: 'batch' })).pem,
        'workloads/payments.pem': (await makeLeaf(projectCa, { cn: 'payments' })).pem
      })
      const run = await publishTo(emulator, root, {
        'workload-certificates': 'workloads/*.pem',
        mode: 'plan',
        activate: 'true',
        exclusive: 'true',
        'project-ids': 'proj_a'
      })
      expect(run.code).toBe(1)
      expect(workloads(run).map((v) => [v.file, v.anchor, v.check])).toEqual([
        ['workloads/batch.pem', `'org-ca' (${org.id})`, null],
        ['workloads/payments.pem', null, 'no-anchor']
      ])
      const [annotation] = commands(run, 'error')
      expect(annotation.properties).toBe('file=workloads/payments.pem,line=1')
      expect(annotation.message).toContain(
        `chains today to 'project-ca' (${project.id}), which will not be active in the scopes this run activates in after this run`
      )
      expect(annotation.message).toContain(
        `keep 'project-ca' (${project.id}) until these certificates are reissued from certs/new.pem; nothing was changed.`
      )
      expect(emulator.requests.filter((r) => r.method !== 'GET')).toEqual([])
      // The two remote-only active CAs were read once each, for their content.
      expect(emulator.requests.filter((r) => r.method === 'GET' && r.query['include[]'] === 'content')).toHaveLength(2)
    } finally {
      await emulator.close()
    }
  })
  it('refuses a first activation in a project that would shut out a workload which gets in there today', async () => {
    // Found by the model: the workload verifies in proj_a (its CA is active there) before and after,
    // but proj_b has no active CA, so it gets into proj_b today with no check, and would not after.
    const emulator = await startEmulator()
    try {
      const heldCa = await makeCa({ cn: 'Held CA' })
      const newCa = await makeCa({ cn: 'New CA', notBefore: new Date(Date.now() - 2 * DAY) })
      for (const id of ['proj_a', 'proj_b']) emulator.addProject({ id })
      const held = emulator.seed(heldCa.pem, 'held-ca')
      held.projects.add('proj_a')
      const root = await workspace({
        'certs/new.pem': newCa.pem,
        'workloads/batch.pem': (await makeLeaf(heldCa, { cn: 'batch' })).pem
      })
      const run = await publishTo(emulator, root, {
        'workload-certificates': 'workloads/*.pem',
        activate: 'true',
        'project-ids': 'proj_a\nproj_b'
      })
      expect(run.code).toBe(1)
      const [verdict] = workloads(run)
      expect([verdict.file, verdict.check]).toEqual(['workloads/batch.pem', 'stranded-in-scope'])
      expect(verdict.problem).toMatch(/^it gets into the project proj_b today \(no CA is active there yet/)
      const [annotation] = commands(run, 'error')
      expect(annotation.properties).toBe('file=workloads/batch.pem,line=1')
      expect(annotation.message).toMatch(
        /Workload certificate 'CN=batch' gets into the project proj_b today .* but would not after this run: .*Issue it from a CA this run leaves active in the project proj_b; nothing was changed\./
      )
      expect(emulator.requests.filter((r) => r.method !== 'GET')).toEqual([])
      expect(emulator.certificates).toHaveLength(1)
    } finally {
      await emulator.close()
    }
  })
})
