// The bundled action (dist/index.js), run as the runner runs it, against the emulator.
import { DAY, makeCa, privateKeyPem } from '../tools/certs.mjs'
import type { Emulator } from '../tools/emulator.mjs'
import { runAction } from '../tools/run-action.mjs'
import { commands, emulators, ids, publishTo, results, validate, visibleLog, workspace } from './helpers.js'

let emulator: Emulator
const startEmulator = emulators()

const crlf = (pem: string): string => pem.replace(/\n/g, '\r\n')

// Certificates here sit in folders under certs/ too.
const publish = (root: string, inputs: Record<string, string> = {}, env: Record<string, string> = {}) =>
  publishTo(emulator, root, { files: 'certs/**/*.pem', ...inputs }, { env })

describe('publish', () => {
  it('uploads each distinct certificate once, from a bundle and a duplicate in another file, then skips them all on a rerun', async () => {
    emulator = await startEmulator()
    const [a, b] = await Promise.all([makeCa({ cn: 'Root A' }), makeCa({ cn: 'Root B' })])
    const root = await workspace({
      'certs/bundle.pem': `# our CAs\n${a.pem}\n${b.pem}`,
      'certs/copy-of-a.pem': `\ufeff${crlf(a.pem)}`,
      'README.md': 'not matched'
    })

    const first = await publish(root)
    expect(first.code).toBe(0)
    expect(emulator.certificates.map((c) => c.name).sort()).toEqual(['bundle (1)', 'bundle (2)'])
    const [idA, idB] = ['bundle (1)', 'bundle (2)'].map(
      (name) => emulator.certificates.find((c) => c.name === name)!.id
    )
    // Each certificate is uploaded alone, even from a bundle.
    expect(
      emulator.requests
        .filter((r) => r.method === 'POST')
        .map((r) => (r.body as { certificate: string }).certificate.match(/BEGIN/g)?.length)
    ).toEqual([1, 1])
    expect(ids(first, 'certificate-ids')).toEqual([idA, idB])
    expect(ids(first, 'uploaded-ids')).toEqual([idA, idB])
    expect(ids(first, 'existing-ids')).toEqual([])
    expect(first.outputs['slots-left']).toBe('48')
    expect(results(first).map((r) => [r.file, r.index, r.status, r.id, r.fingerprint])).toEqual([
      ['certs/bundle.pem', 1, 'uploaded', idA, a.fingerprint],
      ['certs/bundle.pem', 2, 'uploaded', idB, b.fingerprint],
      ['certs/copy-of-a.pem', 1, 'uploaded', idA, a.fingerprint]
    ])
    expect(results(first)[0]).toMatchObject({
      name: 'bundle (1)',
      line: 2,
      subject: expect.stringContaining('CN=Root A'),
      not_before: a.notBefore.toISOString(),
      not_after: a.notAfter.toISOString(),
      problems: []
    })
    expect(first.summary).toContain('| status | name | file | fingerprint | not after | id |')
    expect(first.summary).toContain(
      `| 🆕 uploaded | bundle (1) | \`certs/bundle.pem:2\` | \`${a.fingerprint.slice(0, 16)}\` | ${a.notAfter.toISOString().slice(0, 10)} | \`${idA}\` |`
    )

    emulator.requests.length = 0
    const second = await publish(root)
    expect(second.code).toBe(0)
    expect(emulator.certificates).toHaveLength(2)
    expect(emulator.requests.filter((r) => r.method !== 'GET')).toEqual([])
    expect(ids(second, 'certificate-ids')).toEqual([idA, idB])
    expect(ids(second, 'uploaded-ids')).toEqual([])
    expect(ids(second, 'existing-ids')).toEqual([idA, idB])
    expect(results(second).map((r) => r.status)).toEqual(['existing', 'existing', 'existing'])
    expect(visibleLog(second)).toMatch(/✅ existing +certs\/bundle\.pem:2 'bundle \(1\)'/)
  })

  it('finds a duplicate on a later page and fetches content only for certificates with the same validity window', async () => {
    emulator = await startEmulator({ maxPageSize: 2 })
    const mine = await makeCa({ cn: 'Mine' })
    const remote = emulator.seed(mine.pem, 'uploaded by hand')
    for (let i = 0; i < 4; i++)
      emulator.seed((await makeCa({ cn: `other ${i}`, notBefore: new Date(Date.now() - (i + 2) * DAY) })).pem)
    const root = await workspace({ 'certs/mine.pem': mine.pem })

    const run = await publish(root)
    expect(run.code).toBe(0)
    expect(ids(run, 'existing-ids')).toEqual([remote.id])
    expect(emulator.certificates).toHaveLength(5)
    const lists = emulator.requests.filter((r) => r.path === '/organization/certificates' && r.method === 'GET')
    expect(lists.map((r) => r.query)).toEqual([
      { limit: '100' },
      { limit: '100', after: expect.any(String) },
      { limit: '100', after: expect.any(String) }
    ])
    const gets = emulator.requests.filter((r) => r.path.startsWith('/organization/certificates/'))
    expect(gets.map((r) => [r.path, r.query])).toEqual([
      [`/organization/certificates/${remote.id}`, { 'include[]': 'content' }]
    ])
  })

  it('refuses up front when the new certificates would pass the 50-certificate cap', async () => {
    emulator = await startEmulator()
    const expired = emulator.seed(
      (
        await makeCa({
          cn: 'soon gone',
          notBefore: new Date(Date.now() - 10 * DAY),
          notAfter: new Date(Date.now() + 2 * DAY)
        })
      ).pem,
      'old-ca'
    )
    for (let i = 0; i < 48; i++) emulator.seed((await makeCa({ cn: `c${i}` })).pem)
    expired.expires_at = Math.floor(Date.now() / 1000) - 60 // it has expired since it was uploaded
    const [a, b] = await Promise.all([makeCa(), makeCa()])
    const root = await workspace({ 'certs/a.pem': a.pem, 'certs/b.pem': b.pem })

    const run = await publish(root)
    expect(run.code).toBe(1)
    expect(emulator.requests.filter((r) => r.method === 'POST')).toEqual([])
    expect(emulator.certificates).toHaveLength(49)
    const [failure] = commands(run, 'error').slice(-1)
    expect(failure.message).toBe(
      `The organization holds 49 of at most 50 certificates: 2 new certificates need 2 slots, but 1 is free, so nothing was changed. Free slots first (expired ones you could delete: ${expired.id} (old-ca); 'prune-expired: true' deletes the inactive ones the files do not hold).`
    )
    expect(results(run).map((r) => r.status)).toEqual(['not-uploaded', 'not-uploaded'])
    expect(run.outputs['slots-left']).toBe('1')
  })

  it('fills the organization exactly to the cap', async () => {
    emulator = await startEmulator()
    for (let i = 0; i < 48; i++) emulator.seed((await makeCa({ cn: `c${i}` })).pem)
    const root = await workspace({ 'certs/a.pem': (await makeCa()).pem, 'certs/b.pem': (await makeCa()).pem })
    const run = await publish(root)
    expect(run.code).toBe(0)
    expect(emulator.certificates).toHaveLength(50)
    expect(run.outputs['slots-left']).toBe('0')
  })

  it('honours exclude patterns and a directory standing for its files', async () => {
    emulator = await startEmulator()
    const root = await workspace({
      'certs/keep.pem': (await makeCa({ cn: 'Keep' })).pem,
      'certs/old/retired.pem': (await makeCa({ cn: 'Retired' })).pem,
      'certs/notes.txt': 'not a certificate'
    })
    const run = await publish(root, { files: 'certs\n!certs/old/**\n!**/*.txt' })
    expect(run.code).toBe(0)
    expect(results(run).map((r) => r.file)).toEqual(['certs/keep.pem'])
    expect(emulator.certificates.map((c) => c.name)).toEqual(['keep'])
  })

  it('names certificates from the template, with the ref and the short commit', async () => {
    emulator = await startEmulator()
    const root = await workspace({ 'certs/team/ca.pem': (await makeCa({ cn: 'Team CA' })).pem })
    const run = await publish(
      root,
      { name: '{cn} {ref} {sha} {file}' },
      { GITHUB_REF_NAME: 'v2.0.0', GITHUB_SHA: '0123456789abcdef' }
    )
    expect(run.code).toBe(0)
    expect(emulator.certificates.map((c) => c.name)).toEqual(['Team CA v2.0.0 0123456 certs/team/ca.pem'])
  })
})

describe('failures', () => {
  it.each([
    ['a private key', async () => privateKeyPem((await makeCa()).keys), 'private-key', 1],
    ['a certificate that is not a CA', async () => (await makeCa({ ca: false })).pem, 'not-ca', 1],
    [
      'an expired certificate',
      async () =>
        (await makeCa({ notBefore: new Date(Date.now() - 90 * DAY), notAfter: new Date(Date.now() - DAY) })).pem,
      'expired',
      1
    ],
    [
      'a CA whose Key Usage cannot sign certificates',
      async () => (await makeCa({ keyUsage: 64 /* cRLSign only */ })).pem,
      'key-usage',
      1
    ],
    [
      'garbage',
      async () => 'hello\n-----BEGIN CERTIFICATE-----\nnot*base64\n-----END CERTIFICATE-----\n',
      'pem-syntax',
      3
    ],
    ['an empty file', async () => '', 'no-certificate', 1],
    [
      'a certificate request',
      async () => '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n',
      'not-a-certificate',
      1
    ],
    [
      'base64 that is not DER',
      async () =>
        `\n\n-----BEGIN CERTIFICATE-----\n${Buffer.from('not a certificate at all').toString('base64')}\n-----END CERTIFICATE-----\n`,
      'bad-der',
      3
    ],
    [
      'a certificate that expires within a day',
      async () =>
        (await makeCa({ notBefore: new Date(Date.now() - 90 * DAY), notAfter: new Date(Date.now() + DAY / 3) })).pem,
      'expires-within-a-day',
      1
    ]
  ])('stops on %s before any request, with an annotation on its file and line', async (_, content, check, line) => {
    emulator = await startEmulator()
    const good = await makeCa({ cn: 'Good' })
    const text = await content()
    const root = await workspace({ 'certs/a-good.pem': good.pem, 'certs/bad.pem': text })
    const run = await publish(root)
    expect(run.code).toBe(1)
    expect(emulator.requests).toEqual([])
    const errors = commands(run, 'error')
    expect(errors[0].properties).toBe(`file=certs/bad.pem,line=${line}`)
    expect(errors[0].message).toContain(`[${check}]`)
    expect(errors.at(-1)!.message).toBe(
      '1 error in 1 file, so nothing was changed: fix the certificates annotated above (the job summary lists every problem).'
    )
    expect(results(run).map((r) => [r.file, r.status])).toEqual([
      ['certs/a-good.pem', 'valid'],
      ['certs/bad.pem', 'invalid']
    ])
    expect(results(run)[1].problems[0].check).toBe(check)
    expect(run.stdout + run.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/)
    if (check === 'private-key')
      expect(run.stdout + run.summary + run.outputs.results).not.toContain(text.split('\n')[1].slice(0, 24))
  })

  it('fails when no file matches, or only warns when asked', async () => {
    emulator = await startEmulator()
    const root = await workspace({ 'other/x.txt': 'x' })
    const failed = await publish(root)
    expect(failed.code).toBe(1)
    expect(commands(failed, 'error').at(-1)!.message).toMatch(
      /^No files matched 'certs\/\*\*\/\*\.pem' in .*: check the 'files' patterns/
    )
    const warned = await publish(root, { 'if-no-files-found': 'warn' })
    expect(warned.code).toBe(0)
    expect(commands(warned, 'warning')).toHaveLength(1)
    expect(warned.outputs['certificate-ids']).toBe('[]')
    expect(emulator.requests).toEqual([])
  })

  it('still writes the outputs and the summary when an input is wrong, with one error line', async () => {
    emulator = await startEmulator()
    const root = await workspace({ 'certs/a.pem': (await makeCa()).pem })
    const run = await publish(root, { 'timeout-seconds': 'soon' })
    expect(run.code).toBe(1)
    expect(emulator.requests).toEqual([])
    const errors = commands(run, 'error')
    expect(errors.map((e) => e.message)).toEqual([
      "Input 'timeout-seconds' is 'soon': use a whole number from 1 to 600."
    ])
    expect(run.outputs['certificate-ids']).toBe('[]')
    expect(run.outputs.results).toBe('[]')
    expect(run.summary).toContain('## OpenAI certificates: publish')
    expect(run.summary).toContain("Input 'timeout-seconds' is 'soon'")
    expect(run.stdout + run.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/)
  })

  it('says that the admin key was refused, and never prints it', async () => {
    emulator = await startEmulator()
    const root = await workspace({ 'certs/a.pem': (await makeCa()).pem })
    const run = await publish(root, { 'admin-api-key': 'sk-admin-not-this-one' })
    expect(run.code).toBe(1)
    expect(commands(run, 'error').at(-1)!.message).toMatch(
      /^The OpenAI API refused the admin key \(401: Incorrect API key provided/
    )
    expect(run.stdout.split('\n').filter((l) => l.includes('sk-admin-not-this-one'))).toEqual([
      '::add-mask::sk-admin-not-this-one'
    ])
    expect(run.summary + run.outputs.results).not.toContain('sk-admin-not-this-one')
  })

  it('shows the API error message and status when an upload is refused', async () => {
    emulator = await startEmulator()
    emulator.faults.push({
      method: 'POST',
      path: '/organization/certificates',
      status: 400,
      body: JSON.stringify({
        error: {
          message: 'The certificate is not acceptable.',
          type: 'invalid_request_error',
          param: 'certificate',
          code: 'mtls_certificate_invalid'
        }
      })
    })
    const root = await workspace({ 'certs/a.pem': (await makeCa()).pem })
    const run = await publish(root)
    expect(run.code).toBe(1)
    expect(commands(run, 'error').at(-1)!.message).toBe(
      "The OpenAI API failed to upload certificate 'a' (400: The certificate is not acceptable.). 0 of 1 new certificate was uploaded; 1 was not."
    )
    // The refusal is also said on the certificate's own file and line.
    expect(commands(run, 'error')[0]).toEqual({
      properties: 'file=certs/a.pem,line=1',
      message: expect.stringMatching(
        /^certs\/a\.pem:1: Certificate 1 \(CN=Test CA\) was refused by OpenAI on upload: .*400: The certificate is not acceptable.*'ca-rules: strict'.*\[upload-refused\]$/
      )
    })
    expect(results(run)[0]).toMatchObject({
      status: 'invalid',
      problems: [expect.objectContaining({ check: 'upload-refused' })]
    })
  })
})

describe('validate and plan', () => {
  it('refuses more distinct certificates than an organization holds, in every mode, before any write', async () => {
    emulator = await startEmulator()
    const cas = await Promise.all(Array.from({ length: 51 }, (_, i) => makeCa({ cn: `CA ${i}` })))
    const root = await workspace(Object.fromEntries(cas.map((ca, i) => [`certs/ca${i}.pem`, ca.pem])))
    for (const mode of ['validate', 'plan', 'publish']) {
      const run = await runAction({
        workspace: root,
        inputs: { files: 'certs/*.pem', mode, 'admin-api-key': emulator.adminKey, 'base-url': emulator.baseUrl }
      })
      expect(run.code).toBe(1)
      expect(commands(run, 'error').at(-1)!.message).toMatch(
        /^The files hold 51 distinct certificates, but an organization holds at most 50(, so nothing was changed)?: publish could never upload them all\. Keep at most 50 in the files/
      )
    }
    expect(emulator.certificates).toEqual([])
  })

  it('validates with no key and makes no request', async () => {
    emulator = await startEmulator()
    const soon = await makeCa({
      cn: 'Soon',
      notBefore: new Date(Date.now() - 300 * DAY),
      notAfter: new Date(Date.now() + 5 * DAY)
    })
    const root = await workspace({ 'certs/ok.pem': (await makeCa()).pem, 'certs/soon.pem': soon.pem })
    const run = await validate(root, {}, { OPENAI_BASE_URL: emulator.baseUrl })
    expect(run.code).toBe(0)
    expect(emulator.requests).toEqual([])
    expect(results(run).map((r) => r.status)).toEqual(['valid', 'valid'])
    expect(commands(run, 'warning')).toEqual([
      {
        properties: 'file=certs/soon.pem,line=1',
        message: expect.stringMatching(
          /^certs\/soon\.pem:1: Certificate 1 \(CN=Soon\) expires on .*, in [45] days: plan its rotation\. \[expires-soon\]$/
        )
      }
    ])
    expect(run.outputs['certificate-ids']).toBe('[]')
    expect(run.outputs['slots-left']).toBe('')
  })

  it('plans without writing anything', async () => {
    emulator = await startEmulator()
    const [known, fresh] = await Promise.all([makeCa({ cn: 'Known' }), makeCa({ cn: 'Fresh' })])
    const remote = emulator.seed(known.pem, 'known')
    const root = await workspace({ 'certs/known.pem': known.pem, 'certs/new.pem': fresh.pem })
    const run = await publish(root, { mode: 'plan' })
    expect(run.code).toBe(0)
    expect(emulator.requests.filter((r) => r.method !== 'GET')).toEqual([])
    expect(emulator.certificates).toHaveLength(1)
    expect(results(run).map((r) => [r.file, r.status, r.id])).toEqual([
      ['certs/known.pem', 'existing', remote.id],
      ['certs/new.pem', 'would-upload', null]
    ])
    expect(ids(run, 'certificate-ids')).toEqual([remote.id])
    expect(run.summary).toContain('publishing would leave 48')
  })
})

describe('feedback', () => {
  it('groups the log by phase', async () => {
    emulator = await startEmulator()
    const root = await workspace({ 'certs/a.pem': (await makeCa()).pem })
    const run = await publish(root)
    expect(run.code).toBe(0)
    expect([...run.stdout.matchAll(/^::group::(.*)$/gm)].map((m) => m[1])).toEqual([
      'Discover',
      'Check',
      'Inventory',
      'Plan',
      'Apply'
    ])
    expect(run.stdout.match(/^::endgroup::$/gm)).toHaveLength(5)
  })

  it('with fail-on: warning, a certificate expiring soon fails the check and nothing is written', async () => {
    emulator = await startEmulator()
    const soon = await makeCa({ notBefore: new Date(Date.now() - 300 * DAY), notAfter: new Date(Date.now() + 5 * DAY) })
    const root = await workspace({ 'certs/soon.pem': soon.pem })
    const lenient = await validate(root)
    expect(lenient.code).toBe(0)
    const strict = await validate(root, { 'fail-on': 'warning' })
    expect(strict.code).toBe(1)
    expect(commands(strict, 'error').at(-1)!.message).toBe(
      "1 warning and 'fail-on: warning': fix the certificates annotated above, or set 'fail-on: error'."
    )
    const publishing = await publish(root, { 'fail-on': 'warning' })
    expect(publishing.code).toBe(1)
    expect(emulator.requests).toEqual([])
  })

  it('shows a pull-request check as a table of certificates and their issues', async () => {
    const root = await workspace({
      'certs/a.pem': (await makeCa({ cn: 'Good' })).pem + (await makeCa({ cn: 'Leaf', ca: false })).pem
    })
    const run = await validate(root)
    expect(run.code).toBe(1)
    const table = run.summary.split('\n').filter((l) => l.startsWith('|'))
    expect(table[0]).toBe('| | certificate | file | expires | issue |')
    expect(table[2]).toMatch(/^\| ✅ \| CN=Good \| `certs\/a\.pem:1` \| \d{4}-\d\d-\d\d \| {2}\|$/)
    expect(table[3]).toMatch(
      /^\| ❌ \| CN=Leaf \| `certs\/a\.pem:\d+` \| \d{4}-\d\d-\d\d \| Certificate 2 \(CN=Leaf\) is not a CA certificate .* `not-ca` \|$/
    )
  })
})
