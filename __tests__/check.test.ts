import { DAY, makeCa } from '../tools/certs.mjs'
import { CHECK_IDS, checkCertificate } from '../src/certificates/check.js'
import { parseFile } from '../src/certificates/files.js'
import type { Certificate } from '../src/certificates/x509.js'

const now = new Date()
const defaults = { now, expiryWarningDays: 30, skip: new Set<string>() }
const strict = { ...defaults, rules: 'strict' as const }

async function cert(options: Parameters<typeof makeCa>[0] = {}): Promise<Certificate> {
  const made = await makeCa(options)
  return parseFile('certs/ca.pem', Buffer.from(made.pem)).certificates[0]
}

const checksOf = (c: Certificate, options = defaults): string[] =>
  checkCertificate(c, options).map((p) => `${p.severity}:${p.check}`)

describe('checkCertificate', () => {
  it('passes a CA certificate that meets every OpenAI requirement, under both rule sets', async () => {
    const good = await cert()
    expect(checksOf(good)).toEqual([])
    expect(checksOf(good, strict)).toEqual([])
  })

  // [what the certificate lacks, standard's verdict, strict's verdict]
  it.each([
    ['CA:TRUE', { ca: false }, ['error:not-ca'], ['error:not-ca']],
    ['CA:TRUE (cA FALSE)', { ca: 'leaf' as const }, ['error:not-ca'], ['error:not-ca']],
    ['a Subject Key Identifier', { ski: false }, [], ['error:no-ski']],
    ['an Authority Key Identifier (a self-signed root as Go CAs make it)', { aki: false }, [], ['error:no-aki']],
    ['Key Usage', { keyUsage: null }, [], ['error:key-usage']],
    ['cRLSign', { keyUsage: 32 /* keyCertSign */ }, [], ['error:key-usage']],
    ['keyCertSign', { keyUsage: 64 /* cRLSign */ }, ['error:key-usage'], ['error:key-usage']],
    ['a small size', { padding: 'x'.repeat(13000) }, [], ['error:too-large']]
  ])('judges a CA without %s by the chosen rules', async (_, options, standard, strictly) => {
    const c = await cert(options)
    expect(checksOf(c)).toEqual(standard)
    expect(checksOf(c, strict)).toEqual(strictly)
  })

  it('says which key usages are missing, and which document asks for them', async () => {
    const c = await cert({ keyUsage: 1 })
    expect(checkCertificate(c, strict)[0].message).toMatch(
      /without keyCertSign and cRLSign, which OpenAI's earlier mTLS help article requires \(ca-rules: strict\)/
    )
    expect(checkCertificate(c, defaults)[0].message).toMatch(/without keyCertSign, so X.509 path validation/)
  })

  it('cites the current guide for the expiry rule', async () => {
    const lastDay = await cert({
      notBefore: new Date(now.getTime() - DAY),
      notAfter: new Date(now.getTime() + DAY / 2)
    })
    expect(checkCertificate(lastDay, defaults)[0].message).toMatch(/OpenAI's mutual-TLS guide requires more than a day/)
  })

  it('fails an expired certificate and one that expires within a day', async () => {
    const expired = await cert({
      notBefore: new Date(now.getTime() - 30 * DAY),
      notAfter: new Date(now.getTime() - DAY)
    })
    const lastDay = await cert({
      notBefore: new Date(now.getTime() - 30 * DAY),
      notAfter: new Date(now.getTime() + DAY / 2)
    })
    expect(checksOf(expired)).toEqual(['error:expired'])
    expect(checksOf(lastDay)).toEqual(['error:expires-within-a-day'])
  })

  it('warns about a certificate expiring within expiry-warning-days, and not before', async () => {
    const soon = await cert({
      notBefore: new Date(now.getTime() - 30 * DAY),
      notAfter: new Date(now.getTime() + 10 * DAY)
    })
    expect(checksOf(soon)).toEqual(['warning:expires-soon'])
    expect(checksOf(soon, { ...defaults, expiryWarningDays: 5 })).toEqual([])
    const [problem] = checkCertificate(soon, defaults)
    expect(problem.message).toMatch(/in (9|10) days/)
  })

  it('warns about a certificate that is not valid yet (a CA uploaded ahead of rotation)', async () => {
    const next = await cert({ notBefore: new Date(now.getTime() + 30 * DAY) })
    expect(checksOf(next)).toEqual(['warning:not-yet-valid'])
  })

  it('turns off the checks named in skip-checks, and only those', async () => {
    const bad = await cert({ aki: false, ca: false })
    expect(checksOf(bad, { ...strict, skip: new Set(['no-aki']) })).toEqual(['error:not-ca'])
    expect(checksOf(bad, { ...strict, skip: new Set(['not-ca']) })).toEqual(['error:no-aki'])
  })

  it('has stable, documented check ids', () => {
    expect(CHECK_IDS).toEqual([
      'expired',
      'expires-within-a-day',
      'not-ca',
      'no-ski',
      'no-aki',
      'key-usage',
      'too-large',
      'expires-soon',
      'not-yet-valid'
    ])
  })

  it('names the check and the certificate in every message', async () => {
    const [problem] = checkCertificate(await cert({ cn: 'Payments CA', ca: false }), defaults)
    expect(problem).toMatchObject({ file: 'certs/ca.pem', line: 1 })
    expect(problem.message).toMatch(/^Certificate 1 \(CN=Payments CA\) is not a CA certificate/)
  })
})
