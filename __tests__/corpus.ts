/**
 * Hand-built certificates for the reader's tests: TBSCertificate assembled with
 * @peculiar/asn1-x509 (so that any extension can be absent, critical, duplicated or oddly encoded,
 * and any date written as UTCTime or GeneralizedTime), signed with node:crypto. Generated here,
 * never downloaded.
 */
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import { AsnConvert, OctetString } from '@peculiar/asn1-schema'
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  Extension,
  Extensions,
  KeyIdentifier,
  Name,
  RelativeDistinguishedName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Time,
  Validity,
  Version,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier
} from '@peculiar/asn1-x509'
import { createHash } from 'node:crypto'

export const KEY_KINDS = ['rsa2048', 'rsa4096', 'p256', 'p384', 'p521', 'ed25519'] as const
export type KeyKind = (typeof KEY_KINDS)[number]

export interface KeyPair {
  kind: KeyKind
  publicKey: KeyObject
  privateKey: KeyObject
}

/** RSA keys are slow to make: make each kind once per test file. */
export function makeKeys(kind: KeyKind): KeyPair {
  const pair =
    kind === 'rsa2048' || kind === 'rsa4096'
      ? generateKeyPairSync('rsa', { modulusLength: kind === 'rsa2048' ? 2048 : 4096 })
      : kind === 'ed25519'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('ec', { namedCurve: { p256: 'P-256', p384: 'P-384', p521: 'P-521' }[kind] })
  return { kind, ...pair }
}

const SIGNATURE: Record<KeyKind, { oid: string; hash: string | null; nullParams: boolean }> = {
  rsa2048: { oid: '1.2.840.113549.1.1.11', hash: 'sha256', nullParams: true },
  rsa4096: { oid: '1.2.840.113549.1.1.12', hash: 'sha384', nullParams: true },
  p256: { oid: '1.2.840.10045.4.3.2', hash: 'sha256', nullParams: false },
  p384: { oid: '1.2.840.10045.4.3.3', hash: 'sha384', nullParams: false },
  p521: { oid: '1.2.840.10045.4.3.4', hash: 'sha512', nullParams: false },
  ed25519: { oid: '1.3.101.112', hash: null, nullParams: false }
}
const NULL = new Uint8Array([0x05, 0x00]).buffer

/** An extension given as its exact value bytes, or as an asn1-x509 value to serialize. */
export interface ExtensionSpec {
  oid: string
  critical?: boolean
  value: Uint8Array | object
}

export interface CertSpec {
  keys: KeyPair
  /** Attributes as [oid, value]; [] for an empty subject. Default CN=Corpus CA. */
  subject?: [string, string][]
  notBefore?: Date
  notAfter?: Date
  /** Force the encoding of each date (default: UTCTime for 1950–2049, else GeneralizedTime, as RFC 5280 wants). */
  timeEncoding?: 'utc' | 'general'
  /** Default: CA basic constraints, Key Usage keyCertSign|cRLSign, SKI, AKI keyId. */
  extensions?: ExtensionSpec[]
  /** Default v3; a v1 certificate has no extensions. */
  version?: Version
}

export const CN = '2.5.4.3'
export const O = '2.5.4.10'

export function keyId(keys: KeyPair): Uint8Array {
  const spki = keys.publicKey.export({ type: 'spki', format: 'der' })
  return new Uint8Array(createHash('sha1').update(spki).digest())
}

/** Key Usage as a BIT STRING's raw bytes: unused-bits count, then the bits. */
export const keyUsageBits = (unused: number, ...bytes: number[]): Uint8Array =>
  new Uint8Array([0x03, bytes.length + 1, unused, ...bytes])

/** keyCertSign | cRLSign, minimally encoded (bits 5 and 6: 0x06, one unused bit). */
export const CERT_AND_CRL_SIGN = keyUsageBits(1, 0x06)

export const ext = {
  ca: (cA = true, critical = true): ExtensionSpec => ({
    oid: id_ce_basicConstraints,
    critical,
    value: new BasicConstraints({ cA })
  }),
  keyUsage: (bits: Uint8Array = CERT_AND_CRL_SIGN, critical = true): ExtensionSpec => ({
    oid: id_ce_keyUsage,
    critical,
    value: bits
  }),
  ski: (keys: KeyPair, critical = false): ExtensionSpec => ({
    oid: id_ce_subjectKeyIdentifier,
    critical,
    value: new SubjectKeyIdentifier(keyId(keys))
  }),
  aki: (keys: KeyPair, critical = false): ExtensionSpec => ({
    oid: id_ce_authorityKeyIdentifier,
    critical,
    value: new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(keyId(keys)) })
  }),
  /** An AKI with no keyIdentifier: an empty SEQUENCE. */
  akiWithoutKeyId: (): ExtensionSpec => ({ oid: id_ce_authorityKeyIdentifier, value: new Uint8Array([0x30, 0x00]) }),
  /** A private extension whose value is not DER at all. */
  privateNotDer: (): ExtensionSpec => ({ oid: '1.3.6.1.4.1.55555.2', value: new Uint8Array([0xff, 0x01, 0x02, 0x03]) })
}

export const defaultExtensions = (keys: KeyPair): ExtensionSpec[] => [
  ext.ca(),
  ext.keyUsage(),
  ext.ski(keys),
  ext.aki(keys)
]

function time(date: Date, encoding: CertSpec['timeEncoding']): Time {
  const year = date.getUTCFullYear()
  const utc = encoding ? encoding === 'utc' : year >= 1950 && year <= 2049
  return new Time(utc ? { utcTime: date } : { generalTime: date })
}

/** A date from its parts, whatever the year (Date.UTC maps 0–99 to the 1900s). */
export function at(year: number, month = 1, day = 1, hour = 0, minute = 0, second = 0): Date {
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  date.setUTCHours(hour, minute, second, 0)
  return date
}

let serial = 1

/** A self-signed certificate's DER. */
export function buildCertificate(spec: CertSpec): Uint8Array {
  const { keys } = spec
  const signature = SIGNATURE[keys.kind]
  const algorithm = new AlgorithmIdentifier({
    algorithm: signature.oid,
    ...(signature.nullParams ? { parameters: NULL } : {})
  })
  const name = new Name(
    (spec.subject ?? [[CN, 'Corpus CA']]).map(
      ([type, value]) =>
        new RelativeDistinguishedName([
          new AttributeTypeAndValue({ type, value: new AttributeValue({ utf8String: value }) })
        ])
    )
  )
  const now = Date.now()
  const notBefore = spec.notBefore ?? new Date(Math.floor(now / 1000) * 1000 - 86400_000)
  const notAfter = spec.notAfter ?? new Date(Math.floor(now / 1000) * 1000 + 365 * 86400_000)
  const extensions = (spec.extensions ?? defaultExtensions(keys)).map(
    (e) =>
      new Extension({
        extnID: e.oid,
        critical: e.critical ?? false,
        extnValue: new OctetString(e.value instanceof Uint8Array ? e.value : AsnConvert.serialize(e.value))
      })
  )
  const tbs = new TBSCertificate({
    version: spec.version ?? Version.v3,
    serialNumber: new Uint8Array([0x01, (serial >> 8) & 0xff, serial++ & 0xff]).buffer,
    signature: algorithm,
    issuer: name,
    validity: new Validity(),
    subject: name,
    subjectPublicKeyInfo: AsnConvert.parse(
      keys.publicKey.export({ type: 'spki', format: 'der' }),
      SubjectPublicKeyInfo
    ),
    ...(extensions.length ? { extensions: new Extensions(extensions) } : {})
  })
  tbs.validity.notBefore = time(notBefore, spec.timeEncoding)
  tbs.validity.notAfter = time(notAfter, spec.timeEncoding)
  const tbsDer = new Uint8Array(AsnConvert.serialize(tbs))
  const signatureValue = sign(signature.hash, tbsDer, keys.privateKey)
  const cert = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: algorithm,
    signatureValue: new Uint8Array(signatureValue).buffer
  })
  return new Uint8Array(AsnConvert.serialize(cert))
}

export const pemOf = (der: Uint8Array, label = 'CERTIFICATE'): string =>
  `-----BEGIN ${label}-----\n${Buffer.from(der)
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END ${label}-----\n`

/** A DER TLV, with the length in short or long form. */
export function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(content)
  const n = body.length
  const length =
    n < 0x80
      ? [n]
      : n < 0x100
        ? [0x81, n]
        : n < 0x10000
          ? [0x82, n >> 8, n & 0xff]
          : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]
  return Buffer.concat([Buffer.from([tag, ...length]), body])
}

/** A degenerate PKCS#7 SignedData holding these certificates, as `openssl crl2pkcs7 -nocrl` writes it. */
export function p7bOf(ders: readonly Uint8Array[]): Uint8Array {
  const signedData = Buffer.from('06092a864886f70d010702', 'hex')
  const data = tlv(0x30, Buffer.from('06092a864886f70d010701', 'hex'))
  const signed = tlv(0x30, Buffer.from('020101', 'hex'), tlv(0x31), data, tlv(0xa0, ...ders), tlv(0x31))
  return tlv(0x30, signedData, tlv(0xa0, signed))
}
