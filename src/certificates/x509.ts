/**
 * One certificate's DER decoded into the `Certificate` record the checks and chain building read:
 * DER elements, names, validity times, the extensions the checks need, key usage and fingerprints.
 * asn1js reads the DER and @peculiar/asn1-x509 maps it to X.509's structure.
 */
import { createHash } from 'node:crypto'
import { AsnConvert, AsnParser } from '@peculiar/asn1-schema'
import {
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate as X509Certificate,
  ExtendedKeyUsage,
  KeyUsage,
  type Name,
  SubjectKeyIdentifier,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier
} from '@peculiar/asn1-x509'
import * as asn1js from 'asn1js'

/** What the checks (and chain building) need to know of one certificate, read from its DER. */
export interface Certificate {
  file: string
  /** 1-based position of the certificate in its file (PEM blocks and PKCS#7 members, in order). */
  index: number
  /** Line of its `-----BEGIN …-----` (1 for a binary file). */
  line: number
  der: Buffer
  /** Lowercase hex SHA-256 of the DER. */
  fingerprint: string
  /** The certificate alone, re-encoded as canonical PEM: what gets uploaded. */
  pem: string
  /** RFC 4514-style text, as @peculiar/x509 writes it; '' for an empty subject. */
  subject: string
  /** The first CN as written in the certificate (not escaped); '' when there is none. */
  commonName: string
  issuer: string
  /** The DER of the subject and issuer Names, to compare names byte for byte. */
  rawSubject: Buffer
  rawIssuer: Buffer
  /** The DER of the SubjectPublicKeyInfo (crypto.createPublicKey({ key, format: 'der', type: 'spki' })). */
  spki: Buffer
  notBefore: Date
  notAfter: Date
  isCa: boolean
  /** The X.509 version: 1 (no extensions possible), 2 or 3. */
  version?: number
  /** basicConstraints pathLenConstraint, when set. */
  pathLength?: number
  /** Key identifiers; undefined when the extension (or the AKI's keyIdentifier) is absent. */
  subjectKeyId?: Buffer
  authorityKeyId?: Buffer
  /** Key Usage as @peculiar/x509's KeyUsageFlags (digitalSignature 1 … keyCertSign 32, cRLSign 64); undefined when absent. */
  keyUsage?: number
  /** Extended Key Usage OIDs; undefined when absent. */
  extendedKeyUsage?: string[]
  hasSubjectKeyId: boolean
  hasAuthorityKeyId: boolean
  canSignCertificates: boolean
  canSignCrls: boolean
  hasKeyUsage: boolean
}

export function fingerprintOf(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex')
}

export function toPem(der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64')
  const lines = base64.match(/.{1,64}/g) ?? []
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`
}

/** Who the certificate is, for a message: its position in the file and its name. */
export function describe(cert: Pick<Certificate, 'index' | 'commonName' | 'subject'>): string {
  return `Certificate ${cert.index} (${cert.commonName ? `CN=${cert.commonName}` : cert.subject || 'empty subject'})`
}

/**
 * asn1js stops at 10,000 nodes by default, which a bundle of a hundred certificates passes; a file
 * is at most 1 MiB, and every node takes two bytes at least. The content of OCTET and BIT STRINGs
 * (extension values, keys) is not parsed as ASN.1.
 */
const BER_LIMITS = { maxNodes: 1024 * 1024, parseEmbedded: false }

/** asn1js's tree of the bytes, or undefined when they are not BER (asn1js throws on some, such as a bad time). */
export function readBer(der: Uint8Array): asn1js.AsnType | undefined {
  try {
    const asn = asn1js.fromBER(der, BER_LIMITS)
    return asn.offset === -1 || asn.result.error ? undefined : asn.result
  } catch {
    return undefined
  }
}

/** One DER element: its tag and where its content starts and ends in the buffer. */
interface Element {
  tag: number
  start: number
  end: number
}

/** The DER element at `at`, or a thrown error when its header runs past `limit`. */
function element(der: Uint8Array, at: number, limit = der.length): Element {
  if (at + 2 > limit) throw new RangeError('DER ends early')
  const tag = der[at]
  let length = der[at + 1]
  let start = at + 2
  if (length & 0x80) {
    const count = length & 0x7f
    if (count === 0 || count > 4 || start + count > limit) throw new RangeError('bad DER length')
    length = 0
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i]
    start += count
  }
  if (start + length > limit) throw new RangeError('DER ends early')
  return { tag, start, end: start + length }
}

/** Length of the outer DER SEQUENCE, or undefined when its header is not DER. */
export function derLength(der: Uint8Array): number | undefined {
  if (der[0] !== 0x30) return undefined
  try {
    return element(der, 0, Number.MAX_SAFE_INTEGER).end
  } catch {
    return undefined
  }
}

/** Short names of attribute types, as @peculiar/x509 writes them. */
const ATTRIBUTE_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.6': 'C',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'E',
  '2.5.4.42': 'G',
  '2.5.4.43': 'I',
  '2.5.4.4': 'SN',
  '2.5.4.12': 'T'
}

/** RFC 4514 escaping, as @peculiar/x509 does it. */
const escapeValue = (value: string): string =>
  value
    .replace(/([,+"\\<>;])/g, '\\$1')
    .replace(/^([ #])/, '\\$1')
    .replace(/([ ]$)/, '\\$1')
    .replace(/([\r\n\t])/, (c) => `\\${Buffer.from(c).toString('hex').toUpperCase()}`)

function nameText(name: Name): string {
  return name
    .map((rdn) =>
      rdn
        .map((a) => {
          const value = a.value.anyValue
            ? `#${Buffer.from(a.value.anyValue).toString('hex')}`
            : escapeValue(a.value.toString())
          return `${ATTRIBUTE_NAMES[a.type] ?? a.type}=${value}`
        })
        .join('+')
    )
    .join(', ')
}

/** The extensions the checks read, by OID, with their names for messages. */
const READ_EXTENSIONS: Record<string, string> = {
  [id_ce_basicConstraints]: 'Basic Constraints',
  [id_ce_keyUsage]: 'Key Usage',
  [id_ce_subjectKeyIdentifier]: 'Subject Key Identifier',
  [id_ce_authorityKeyIdentifier]: 'Authority Key Identifier',
  [id_ce_extKeyUsage]: 'Extended Key Usage'
}

const UTC_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/
const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/

/**
 * A UTCTime or GeneralizedTime, read from its text as RFC 5280 requires it (YYMMDDHHMMSSZ, YY 50–99
 * in the 1900s; YYYYMMDDHHMMSSZ), never through `Date`'s parser or `Date.UTC`, which map years
 * 0–99 to the 1900s.
 */
export function readTime(tag: number, text: string): Date | undefined {
  if (tag !== 23 && tag !== 24) return undefined
  const match = (tag === 23 ? UTC_TIME : GENERALIZED_TIME).exec(text)
  if (!match) return undefined
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number)
  const fullYear = tag === 23 ? (year >= 50 ? 1900 + year : 2000 + year) : year
  const date = new Date(0)
  date.setUTCFullYear(fullYear, month - 1, day)
  date.setUTCHours(hour, minute, second, 0)
  const same =
    date.getUTCFullYear() === fullYear &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second
  return same ? date : undefined
}

function timeOf(node: asn1js.AsnType | undefined): Date | undefined {
  if (!node || node.idBlock.tagClass !== 1) return undefined
  const raw = (node as asn1js.BaseBlock).valueBeforeDecodeView
  const header = raw[1] & 0x80 ? 2 + (raw[1] & 0x7f) : 2
  return readTime(node.idBlock.tagNumber, Buffer.from(raw.subarray(header)).toString('latin1'))
}

const bytesOf = (node: asn1js.AsnType | undefined): Buffer =>
  Buffer.from((node as asn1js.BaseBlock | undefined)?.valueBeforeDecodeView ?? [])

/** Key Usage flags from the BIT STRING, ignoring the bits its unused-bits count declares unused. */
function keyUsageFlags(usage: KeyUsage): number {
  const bytes = new Uint8Array(usage.value).slice()
  if (bytes.length > 0) bytes[bytes.length - 1] &= (0xff << Math.min(usage.unusedBits, 7)) & 0xff
  let flags = 0
  for (let bit = 0; bit < 9; bit++) if ((bytes[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) flags |= 1 << bit
  return flags
}

/**
 * The certificate, or why its DER is not one. asn1js reads the DER, @peculiar/asn1-x509 maps it
 * to X.509's structure; only the extensions the checks read are decoded, so a private extension
 * whose value is not DER does no harm. A duplicated extension is a problem (RFC 5280 forbids it;
 * OpenSSL treats it as absent, and so does this reader).
 */
export function readCertificate(
  file: string,
  index: number,
  line: number,
  der: Buffer
): { certificate: Certificate; problems: string[] } | string {
  const length = derLength(der)
  if (length === undefined) return 'does not hold DER data (no X.509 structure)'
  if (length < der.length) return `has ${der.length - length} bytes after the end of the certificate`
  if (length > der.length) return 'is truncated (the DER ends early)'
  const asn = readBer(der)
  if (!asn) return 'is not a valid X.509 certificate (its DER does not parse)'
  let x509: X509Certificate
  try {
    x509 = AsnParser.fromASN(asn, X509Certificate)
  } catch {
    return 'is not a valid X.509 certificate (its DER does not parse)'
  }
  const tbs = ((asn as asn1js.Sequence).valueBlock.value[0] as asn1js.Sequence).valueBlock.value
  // TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serial, signature, issuer, validity, subject, spki, … }
  const at = tbs[0].idBlock.tagClass === 3 ? 1 : 0
  const [issuer, validity, subject, spki] = tbs.slice(at + 2, at + 6)
  const [notBeforeNode, notAfterNode] = (validity as asn1js.Sequence).valueBlock.value
  const notBefore = timeOf(notBeforeNode)
  const notAfter = timeOf(notAfterNode)
  if (!notBefore || !notAfter)
    return 'has a validity date that cannot be read (RFC 5280 wants YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ)'

  const tbsCertificate = x509.tbsCertificate
  const extensions = tbsCertificate.extensions ?? []
  const count = new Map<string, number>()
  for (const e of extensions) count.set(e.extnID, (count.get(e.extnID) ?? 0) + 1)
  const subjectText = nameText(tbsCertificate.subject)
  const commonName =
    tbsCertificate.subject
      .flat()
      .find((a) => a.type === '2.5.4.3')
      ?.value.toString() ?? ''
  const who = describe({ index, commonName, subject: subjectText })
  const problems = [...count]
    .filter(([, n]) => n > 1)
    .map(
      ([oid, n]) =>
        `${who} has the ${READ_EXTENSIONS[oid] ? `${READ_EXTENSIONS[oid]} extension (${oid})` : `extension ${oid}`} ${n} times: RFC 5280 forbids a duplicated extension, and OpenSSL (which OpenAI's verifier may use) treats it as absent or refuses the certificate; reissue it with each extension once.`
    )
  /** The one, undoubled extension of this OID, decoded; undefined when absent or duplicated. */
  const decode = <T>(oid: string, type: new () => T): T | undefined => {
    if (count.get(oid) !== 1) return undefined
    const extension = extensions.find((e) => e.extnID === oid)!
    return AsnConvert.parse(extension.extnValue.buffer, type)
  }
  let basic: BasicConstraints | undefined
  let usage: KeyUsage | undefined
  let ski: SubjectKeyIdentifier | undefined
  let aki: AuthorityKeyIdentifier | undefined
  let eku: ExtendedKeyUsage | undefined
  const reading = { oid: '' }
  try {
    reading.oid = id_ce_basicConstraints
    basic = decode(id_ce_basicConstraints, BasicConstraints)
    reading.oid = id_ce_keyUsage
    usage = decode(id_ce_keyUsage, KeyUsage)
    reading.oid = id_ce_subjectKeyIdentifier
    ski = decode(id_ce_subjectKeyIdentifier, SubjectKeyIdentifier)
    reading.oid = id_ce_authorityKeyIdentifier
    aki = decode(id_ce_authorityKeyIdentifier, AuthorityKeyIdentifier)
    reading.oid = id_ce_extKeyUsage
    eku = decode(id_ce_extKeyUsage, ExtendedKeyUsage)
  } catch {
    return `has a ${READ_EXTENSIONS[reading.oid]} extension whose value does not parse`
  }
  const keyUsage = usage ? keyUsageFlags(usage) : undefined
  const subjectKeyId = ski && ski.buffer.byteLength > 0 ? Buffer.from(ski.buffer) : undefined
  const keyId = aki?.keyIdentifier
  const authorityKeyId = keyId && keyId.buffer.byteLength > 0 ? Buffer.from(keyId.buffer) : undefined
  const certificate: Certificate = {
    file,
    index,
    line,
    der,
    fingerprint: fingerprintOf(der),
    pem: toPem(der),
    subject: subjectText,
    commonName,
    issuer: nameText(tbsCertificate.issuer),
    rawSubject: bytesOf(subject),
    rawIssuer: bytesOf(issuer),
    spki: bytesOf(spki),
    notBefore,
    notAfter,
    isCa: basic?.cA === true,
    version: Number(tbsCertificate.version ?? 0) + 1,
    ...(basic?.pathLenConstraint === undefined ? {} : { pathLength: basic.pathLenConstraint }),
    ...(subjectKeyId ? { subjectKeyId } : {}),
    ...(authorityKeyId ? { authorityKeyId } : {}),
    ...(keyUsage === undefined ? {} : { keyUsage }),
    ...(eku ? { extendedKeyUsage: [...eku] } : {}),
    hasSubjectKeyId: subjectKeyId !== undefined,
    hasAuthorityKeyId: authorityKeyId !== undefined,
    hasKeyUsage: keyUsage !== undefined,
    canSignCertificates: ((keyUsage ?? 0) & 32) !== 0,
    canSignCrls: ((keyUsage ?? 0) & 64) !== 0
  }
  return { certificate, problems }
}
