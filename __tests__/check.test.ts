import { DAY, makeCa } from '../tools/certs.mjs'
import { CHECK_IDS, checkCertificate } from '../src/check.js'
import { parseFile, type Certificate } from '../src/parse.js'

const now = new Date()
const defaults = { now, expiryWarningDays: 30, skip: new Set<string>() }

async function cert(options: Parameters<typeof makeCa>[0] = {}): Promise<Certificate> {
  const made = await makeCa(options)
  return parseFile('certs/ca.pem', Buffer.from(made.pem)).certificates[0]
}

const checksOf = (c: Certificate, options = defaults): string[] =>
  checkCertificate(c, options).map((p) => `${p.severity}:${p.check}`)

describe('checkCertificate', () => {
  it('passes a CA certificate that meets every OpenAI requirement', async () => {
    expect(checksOf(await cert())).toEqual([])
  })

  it.each([
    ['not-ca', { ca: false }],
    ['not-ca', { ca: 'leaf' as const }],
    ['no-ski', { ski: false }],
    ['no-aki', { aki: false }],
    ['key-usage', { keyUsage: null }],
    ['key-usage', { keyUsage: 32 /* keyCertSign without cRLSign */ }],
    ['too-large', { padding: 'x'.repeat(13000) }]
  ])('finds %s', async (check, options) => {
    expect(checksOf(await cert(options))).toEqual([`error:${check}`])
  })

  it('says which key usages are missing', async () => {
    const [problem] = checkCertificate(await cert({ keyUsage: 1 }), defaults)
    expect(problem.message).toMatch(/without keyCertSign and cRLSign/)
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
    expect(checksOf(bad, { ...defaults, skip: new Set(['no-aki']) })).toEqual(['error:not-ca'])
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
