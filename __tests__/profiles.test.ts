// ca-rules, input formats and upload refusals, through the bundled action against the emulator.
import { makeCa } from '../tools/certs.mjs'
import type { Emulator } from '../tools/emulator.mjs'
import { toPem } from '../src/certificates/x509.js'
import { buildCertificate, CN, ext, makeKeys, O, p7bOf, pemOf } from './corpus.js'
import { commands, emulators, publishTo, results, validate, workspace } from './helpers.js'

let emulator: Emulator | undefined
const startEmulator = emulators()

const keys = makeKeys('p256')
const otherKeys = makeKeys('ed25519')
/** A self-signed root as step-ca and cfssl make it: CA:TRUE, Key Usage, SKI, and no AKI. */
const goRoot = (cn: string, k = keys): Uint8Array =>
  buildCertificate({ keys: k, subject: [[CN, cn]], extensions: [ext.ca(), ext.keyUsage(), ext.ski(k)] })

describe('ca-rules', () => {
  it('passes a self-signed root without AKI under standard (and publishes it), and fails it under strict', async () => {
    const der = goRoot('Step Root CA')
    const root = await workspace({ 'certs/step.pem': `# step ca root\n${pemOf(der)}` })

    const standard = await validate(root, { files: 'certs/*' })
    expect(standard.code).toBe(0)
    expect(results(standard)[0]).toMatchObject({ status: 'valid', problems: [] })

    const strict = await validate(root, { files: 'certs/*', 'ca-rules': 'strict' })
    expect(strict.code).toBe(1)
    expect(commands(strict, 'error')[0]).toEqual({
      properties: 'file=certs/step.pem,line=2',
      message: expect.stringMatching(/earlier mTLS help article requires \(ca-rules: strict\).*\[no-aki\]$/)
    })

    emulator = await startEmulator()
    const published = await publishTo(emulator, root, { files: 'certs/*' })
    expect(published.code).toBe(0)
    expect(emulator.certificates.map((c) => c.content)).toEqual([toPem(der)])
  })

  it('refuses an unknown ca-rules value before reading anything', async () => {
    const root = await workspace({ 'certs/a.pem': (await makeCa()).pem })
    const run = await validate(root, { files: 'certs/*', 'ca-rules': 'lenient' })
    expect(run.code).toBe(1)
    expect(commands(run, 'error').at(-1)!.message).toBe("Input 'ca-rules' is 'lenient': use one of standard, strict.")
  })
})

describe('dates at the edges, on the Node that runs the bundle', () => {
  it('reads 0049 as 0049 (expired), 2050 and 9999 as themselves, and an empty subject as such', async () => {
    const { at } = await import('./corpus.js')
    const root = await workspace({
      'certs/a-0049.pem': pemOf(buildCertificate({ keys, notBefore: at(1, 1, 1), notAfter: at(49, 12, 31) })),
      'certs/b-2050.pem': pemOf(buildCertificate({ keys, notAfter: at(2050, 1, 1) })),
      'certs/c-9999.pem': pemOf(buildCertificate({ keys, subject: [], notAfter: at(9999, 12, 31, 23, 59, 59) }))
    })
    const run = await validate(root, { files: 'certs/*' })
    expect(run.code).toBe(1)
    expect(results(run).map((r) => [r.file, r.not_after, r.subject, r.problems.map((p) => p.check)])).toEqual([
      ['certs/a-0049.pem', '0049-12-31T00:00:00.000Z', 'CN=Corpus CA', ['expired']],
      ['certs/b-2050.pem', '2050-01-01T00:00:00.000Z', 'CN=Corpus CA', []],
      ['certs/c-9999.pem', '9999-12-31T23:59:59.000Z', '', []]
    ])
    expect(commands(run, 'error')[0].message).toMatch(/Certificate 1 \(CN=Corpus CA\) expired on 0049-12-31/)
    expect(run.summary).toContain('| ✅ | empty subject | `certs/c-9999.pem:1` | 9999-12-31 |')
  })
})

describe('a certificate valid from 0001 to 9999', () => {
  it('is uploaded once and recognised in the organization on the next run (its dates are read right)', async () => {
    const { at } = await import('./corpus.js')
    emulator = await startEmulator()
    const der = buildCertificate({ keys, notBefore: at(1, 1, 1), notAfter: at(9999, 12, 31, 23, 59, 59) })
    const root = await workspace({ 'certs/forever.pem': pemOf(der) })
    const first = await publishTo(emulator, root, { files: 'certs/*' })
    expect(first.code).toBe(0)
    expect(emulator.certificates[0]).toMatchObject({
      valid_at: at(1, 1, 1).getTime() / 1000,
      expires_at: at(9999, 12, 31, 23, 59, 59).getTime() / 1000
    })
    const second = await publishTo(emulator, root, { files: 'certs/*' })
    expect(second.code).toBe(0)
    expect(results(second)[0].status).toBe('existing')
    expect(emulator.requests.filter((r) => r.method === 'POST')).toHaveLength(1)
  })
})

describe('upload refusals', () => {
  it('annotates a refusal from a server that keeps the earlier rules at the file and line, suggesting strict', async () => {
    emulator = await startEmulator({ caRules: 'strict' })
    const good = await makeCa({ cn: 'Good' })
    const root = await workspace({
      'certs/a-good.pem': good.pem,
      'certs/step.pem': `Step CA root\nexported 2026-11-23\n${pemOf(goRoot('Step Root CA'))}`
    })
    const run = await publishTo(emulator, root, { files: 'certs/*' })
    expect(run.code).toBe(1)
    const refusal = commands(run, 'error').find((e) => e.message.includes('[upload-refused]'))
    expect(refusal).toEqual({
      properties: 'file=certs/step.pem,line=3',
      message: expect.stringMatching(
        /^certs\/step\.pem:3: Certificate 1 \(CN=Step Root CA\) was refused by OpenAI on upload: .*Authority Key Identifier.*run with 'ca-rules: strict' to see which requirement/
      )
    })
    const step = results(run).find((r) => r.file === 'certs/step.pem')!
    expect(step).toMatchObject({
      status: 'invalid',
      problems: [expect.objectContaining({ check: 'upload-refused', line: 3 })]
    })
    expect(run.summary).toContain('was refused by OpenAI on upload')
    // The refused certificate is not in the organization.
    expect(emulator.certificates.map((c) => c.name)).not.toContain('step')
  })

  it('with ca-rules: strict, finds the same problem before any request', async () => {
    emulator = await startEmulator({ caRules: 'strict' })
    const root = await workspace({ 'certs/step.pem': pemOf(goRoot('Step Root CA')) })
    const run = await publishTo(emulator, root, { files: 'certs/*', 'ca-rules': 'strict' })
    expect(run.code).toBe(1)
    expect(emulator.requests).toEqual([])
    expect(commands(run, 'error')[0].message).toMatch(/\[no-aki\]$/)
  })

  it('the strict emulator accepts what meets the earlier rules', async () => {
    emulator = await startEmulator({ caRules: 'strict' })
    const root = await workspace({ 'certs/a.pem': (await makeCa()).pem })
    const run = await publishTo(emulator, root, { files: 'certs/*' })
    expect(run.code).toBe(0)
    expect(emulator.certificates).toHaveLength(1)
  })
})

describe('input formats', () => {
  it('publishes the certificate of a DER file and every certificate of a .p7b, each as canonical PEM', async () => {
    emulator = await startEmulator()
    const single = buildCertificate({ keys })
    const bundled = [goRoot('Bundle Root 1'), goRoot('Bundle Root 2', otherKeys)]
    const root = await workspace({
      'certs/single.der': single,
      'certs/bundle.p7b': p7bOf(bundled),
      'certs/partner.crt': pemOf(goRoot('Partner Root'))
    })
    const run = await publishTo(emulator, root, { files: 'certs/*' })
    expect(run.code).toBe(0)
    const byName = Object.fromEntries(emulator.certificates.map((c) => [c.name, c.content]))
    expect(byName).toEqual({
      single: toPem(single),
      'bundle (1)': toPem(bundled[0]),
      'bundle (2)': toPem(bundled[1]),
      partner: expect.stringMatching(/^-----BEGIN CERTIFICATE-----\n/)
    })
    expect(results(run).map((r) => [r.file, r.index, r.line, r.status])).toEqual([
      ['certs/bundle.p7b', 1, 1, 'uploaded'],
      ['certs/bundle.p7b', 2, 1, 'uploaded'],
      ['certs/partner.crt', 1, 1, 'uploaded'],
      ['certs/single.der', 1, 1, 'uploaded']
    ])
  })

  it('names a certificate {cn} as written, commas and all', async () => {
    emulator = await startEmulator()
    const der = buildCertificate({
      keys,
      subject: [
        [O, 'Acme, Inc.'],
        [CN, 'Acme, Inc. Root CA']
      ]
    })
    const root = await workspace({ 'certs/acme.pem': pemOf(der) })
    const run = await publishTo(emulator, root, { files: 'certs/*', name: '{cn}' })
    expect(run.code).toBe(0)
    expect(emulator.certificates.map((c) => c.name)).toEqual(['Acme, Inc. Root CA'])
    // The summary shows the first attribute whole, escaped comma and all (its backslash escaped in
    // turn, so that Markdown shows it rather than reading it as an escape).
    const check = await validate(root, { files: 'certs/*' })
    expect(check.summary).toContain('| ✅ | O=Acme\\\\, Inc. | `certs/acme.pem:1` |')
  })
})
