import fc from 'fast-check'
import { makeCa, privateKeyPem } from '../tools/certs.mjs'
import { parseFile } from '../src/certificates/files.js'
import { toPem } from '../src/certificates/x509.js'

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8')

describe('parseFile', () => {
  it('reads every certificate of a bundle with text around, CRLF endings and a BOM', async () => {
    const a = await makeCa({ cn: 'Root A' })
    const b = await makeCa({ cn: 'Root B' })
    const text = `\ufeffSubject: Root A\r\n${a.pem.replace(/\n/g, '\r\n')}\r\nnotes between\r\n${b.pem.replace(/\n/g, '\r\n')}`
    const parsed = parseFile('certs/bundle.pem', bytes(text))
    expect(parsed.problems).toEqual([])
    expect(parsed.certificates.map((c) => [c.index, c.line, c.commonName, c.fingerprint])).toEqual([
      [1, 2, 'Root A', a.fingerprint],
      [2, 3 + a.pem.split('\n').length, 'Root B', b.fingerprint]
    ])
  })

  it('gives the same fingerprint whatever the PEM formatting', async () => {
    const a = await makeCa()
    const body = Buffer.from(a.der).toString('base64')
    const oneLine = `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----`
    const ragged = `  -----BEGIN CERTIFICATE-----  \n${body.match(/.{1,40}/g)!.join('   \n')}\n\n-----END CERTIFICATE-----\n`
    for (const text of [a.pem, oneLine, ragged]) {
      expect(parseFile('a.pem', bytes(text)).certificates[0]?.fingerprint).toBe(a.fingerprint)
    }
  })

  it('re-encodes each certificate alone as canonical PEM for upload', async () => {
    const a = await makeCa()
    const cert = parseFile('a.pem', bytes(`junk\n${a.pem}`)).certificates[0]
    expect(cert.pem).toBe(toPem(a.der))
    expect(cert.pem).toMatch(/^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END CERTIFICATE-----\n$/)
  })

  it('refuses a private key without ever showing its content', async () => {
    const a = await makeCa()
    const key = await privateKeyPem(a.keys)
    const parsed = parseFile('certs/ca.pem', bytes(`${a.pem}${key}`))
    expect(parsed.problems).toEqual([
      expect.objectContaining({ check: 'private-key', severity: 'error', line: a.pem.split('\n').length })
    ])
    const body = key.split('\n')[1]
    expect(JSON.stringify(parsed.problems)).not.toContain(body.slice(0, 20))
    expect(parsed.rejected).toEqual([expect.objectContaining({ index: 2, label: 'PRIVATE KEY' })])
  })

  it.each([['RSA PRIVATE KEY'], ['EC PRIVATE KEY'], ['ENCRYPTED PRIVATE KEY'], ['OPENSSH PRIVATE KEY']])(
    'refuses a %s block',
    (label) => {
      const parsed = parseFile('k.pem', bytes(`-----BEGIN ${label}-----\nAAAA\n-----END ${label}-----\n`))
      expect(parsed.problems.map((p) => p.check)).toEqual(['private-key'])
    }
  )

  it('refuses a private key even in a broken block', () => {
    const parsed = parseFile('k.pem', bytes('-----BEGIN PRIVATE KEY-----\nAAAA\n'))
    expect(parsed.problems.map((p) => p.check)).toEqual(['private-key'])
  })

  it.each([['CERTIFICATE REQUEST'], ['X509 CRL'], ['PUBLIC KEY'], ['NEW CERTIFICATE REQUEST']])(
    'refuses a %s block as not a certificate',
    (label) => {
      const parsed = parseFile('x.pem', bytes(`text\n-----BEGIN ${label}-----\nAAAA\n-----END ${label}-----\n`))
      expect(parsed.problems).toEqual([expect.objectContaining({ check: 'not-a-certificate', line: 2 })])
    }
  )

  it.each([
    ['empty', '', 'no-certificate', 1],
    ['whitespace only', '  \n\n \t\n', 'no-certificate', 1],
    ['text only', 'just some notes\n', 'no-certificate', 1],
    ['missing END', 'x\n-----BEGIN CERTIFICATE-----\nAAAA\n', 'pem-syntax', 2],
    ['mismatched labels', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END X509 CRL-----\n', 'pem-syntax', 1],
    [
      'nested BEGIN',
      '-----BEGIN CERTIFICATE-----\nAAAA\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
      'pem-syntax',
      1
    ],
    ['END without BEGIN', 'AAAA\n-----END CERTIFICATE-----\n', 'pem-syntax', 2],
    ['bad base64 characters', '-----BEGIN CERTIFICATE-----\nMIIB\nMI*B\n-----END CERTIFICATE-----\n', 'pem-syntax', 3],
    ['truncated base64', '-----BEGIN CERTIFICATE-----\nMIIBz\n-----END CERTIFICATE-----\n', 'pem-syntax', 1],
    ['an empty block', '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n', 'pem-syntax', 1],
    [
      'base64 of bytes that are not DER',
      `-----BEGIN CERTIFICATE-----\n${Buffer.from('hello world, not DER').toString('base64')}\n-----END CERTIFICATE-----\n`,
      'bad-der',
      1
    ],
    [
      'DER of something else',
      `-----BEGIN CERTIFICATE-----\n${Buffer.from([0x30, 0x03, 0x02, 0x01, 0x05]).toString('base64')}\n-----END CERTIFICATE-----\n`,
      'bad-der',
      1
    ]
  ])('reports %s as a problem, first at the right line', (_, text, check, line) => {
    const parsed = parseFile('f.pem', bytes(text))
    expect(parsed.certificates).toEqual([])
    expect(parsed.problems[0]).toMatchObject({ check, line, severity: 'error', file: 'f.pem' })
    // One problem each, but for the nested case, whose inner block is not a certificate either.
    expect(parsed.problems).toHaveLength(_ === 'nested BEGIN' ? 2 : 1)
  })

  it('reports DER with trailing bytes', async () => {
    const a = await makeCa()
    const der = Buffer.concat([Buffer.from(a.der), Buffer.from([0, 0, 0, 0])])
    const parsed = parseFile('f.pem', bytes(toPem(der)))
    expect(parsed.problems).toEqual([
      expect.objectContaining({ check: 'bad-der', message: expect.stringContaining('4 bytes after the end') })
    ])
  })

  it('reads a binary DER file as one certificate at line 1; refuses UTF-16 and binary junk with advice', async () => {
    const a = await makeCa()
    const der = parseFile('ca.der', Buffer.from(a.der))
    expect(der.problems).toEqual([])
    expect(der.certificates.map((c) => [c.index, c.line, c.fingerprint, c.pem])).toEqual([
      [1, 1, a.fingerprint, toPem(a.der)]
    ])
    const utf16 = Buffer.from(`\ufeff${a.pem}`, 'utf16le')
    expect(parseFile('x.pem', utf16).problems).toEqual([
      expect.objectContaining({
        check: 'no-certificate',
        line: 1,
        message: expect.stringMatching(/UTF-16.*save it as UTF-8/)
      })
    ])
    expect(parseFile('x.pem', Buffer.from(a.pem, 'utf16le')).problems[0].message).toMatch(/UTF-16/)
    expect(parseFile('x.bin', Buffer.from([0xc3, 0x28, 0x00, 0x01, 0xff])).problems[0]).toMatchObject({
      check: 'no-certificate',
      message: expect.stringMatching(/not UTF-8/)
    })
  })

  it('keeps good certificates apart from a broken block in the same file', async () => {
    const a = await makeCa()
    const parsed = parseFile('f.pem', bytes(`${a.pem}-----BEGIN CERTIFICATE-----\nMIIBz\n-----END CERTIFICATE-----\n`))
    expect(parsed.certificates).toHaveLength(1)
    expect(parsed.rejected).toEqual([expect.objectContaining({ index: 2 })])
    expect(parsed.blocks).toBe(2)
  })
})

describe('extensions read from DER, against @peculiar/x509 (differential)', () => {
  it('agrees on CA, SKI, AKI and Key Usage for every combination', async () => {
    const x509 = await import('@peculiar/x509')
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          ca: fc.constantFrom(true, false, 'leaf' as const),
          ski: fc.boolean(),
          aki: fc.boolean(),
          keyUsage: fc.option(fc.integer({ min: 0, max: 511 }), { nil: null })
        }),
        async (options) => {
          const made = await makeCa(options)
          const ours = parseFile('x.pem', bytes(made.pem)).certificates[0]
          const theirs = new x509.X509Certificate(made.pem)
          const usages = theirs.getExtension(x509.KeyUsagesExtension)?.usages ?? 0
          expect({
            isCa: ours.isCa,
            ski: ours.hasSubjectKeyId,
            aki: ours.hasAuthorityKeyId,
            keyUsage: ours.hasKeyUsage,
            certSign: ours.canSignCertificates,
            crlSign: ours.canSignCrls
          }).toEqual({
            isCa: theirs.getExtension(x509.BasicConstraintsExtension)?.ca === true,
            ski: Boolean(theirs.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId),
            aki: Boolean(theirs.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId),
            keyUsage: theirs.getExtension(x509.KeyUsagesExtension) !== null,
            certSign: (usages & x509.KeyUsageFlags.keyCertSign) !== 0,
            crlSign: (usages & x509.KeyUsageFlags.cRLSign) !== 0
          })
          expect(ours.subject).toBe(theirs.subject)
          expect([ours.notBefore, ours.notAfter]).toEqual([theirs.notBefore, theirs.notAfter])
        }
      ),
      { numRuns: 60 }
    )
  })
})
