// The polyfill must run before @peculiar/x509 loads (tsyringe needs it), in the bundle and in tests.
import 'reflect-metadata'
import { createHash } from 'node:crypto'
import * as x509 from '@peculiar/x509'

export type Severity = 'error' | 'warning'

/** One thing wrong with a file or a certificate, with the line it is on. */
export interface Problem {
  /** Stable id, shown in the message; certificate checks can be turned off by it. */
  check: string
  severity: Severity
  message: string
  file: string
  line: number
  /** The PEM block it is about, when it is about one rather than the file. */
  index?: number
}

/** What the checks need to know of one certificate, read from its DER. */
export interface Certificate {
  file: string
  /** 1-based position of the PEM block in its file. */
  index: number
  /** Line of its `-----BEGIN CERTIFICATE-----`. */
  line: number
  der: Buffer
  /** Lowercase hex SHA-256 of the DER. */
  fingerprint: string
  /** The certificate alone, re-encoded as canonical PEM: what gets uploaded. */
  pem: string
  subject: string
  commonName: string
  notBefore: Date
  notAfter: Date
  isCa: boolean
  hasSubjectKeyId: boolean
  hasAuthorityKeyId: boolean
  canSignCertificates: boolean
  canSignCrls: boolean
  hasKeyUsage: boolean
}

/** A PEM block that is not a usable certificate, so that reports can list it. */
export interface RejectedBlock {
  file: string
  index: number
  line: number
  label: string
}

export interface ParsedFile {
  file: string
  certificates: Certificate[]
  rejected: RejectedBlock[]
  problems: Problem[]
  /** How many PEM blocks the file holds, certificates or not. */
  blocks: number
}

export function fingerprintOf(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex')
}

export function toPem(der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64')
  const lines = base64.match(/.{1,64}/g) ?? []
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`
}

interface Block {
  label: string
  line: number
  body: { text: string; line: number }[]
  /** Why the block's framing is broken, if it is. */
  broken?: string
}

const BEGIN = /^-----BEGIN ([^-]*)-----$/
const END = /^-----END ([^-]*)-----$/
const BASE64_LINE = /^[A-Za-z0-9+/]*={0,2}$/

/**
 * Reads the PEM blocks of a file's bytes, line by line, so that every problem has a line number.
 * Text around blocks is allowed (as `openssl x509 -text` writes it); CRLF and a UTF-8 BOM are too.
 * Never throws on bad input, and never puts a block's content in a message.
 */
export function parseFile(file: string, bytes: Uint8Array): ParsedFile {
  const parsed: ParsedFile = { file, certificates: [], rejected: [], problems: [], blocks: 0 }
  const fail = (check: string, line: number, message: string, index?: number): void => {
    parsed.problems.push({ check, severity: 'error', message, file, line, ...(index === undefined ? {} : { index }) })
  }

  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    if (bytes[0] === 0x30) {
      fail('no-certificate', 1, `The file is binary, perhaps DER: convert it to PEM (openssl x509 -inform der -in ${file} -out ${file}.pem) and match that file instead.`)
    } else {
      fail('no-certificate', 1, `The file is not UTF-8 text, so it holds no PEM certificate: check the pattern that matched it.`)
    }
    return parsed
  }

  // Blocks in file order; a broken one carries why, so that it keeps its place and index.
  const blocks: Block[] = []
  let open: Block | undefined
  const lines = text.split(/\r\n|\n|\r/)
  lines.forEach((raw, i) => {
    const line = raw.trim()
    const lineNumber = i + 1
    const begin = BEGIN.exec(line)
    const end = END.exec(line)
    if (begin) {
      if (open) {
        open.broken = `${open.label} block at line ${open.line} has no END line before the next BEGIN at line ${lineNumber}: restore its -----END ${open.label}----- line.`
        blocks.push(open)
      }
      open = { label: begin[1], line: lineNumber, body: [] }
      return
    }
    if (end) {
      if (!open) {
        fail('pem-syntax', lineNumber, `END ${end[1]} at line ${lineNumber} has no BEGIN line: restore the block's -----BEGIN ${end[1]}----- line.`)
        return
      }
      if (end[1] !== open.label) {
        open.broken = `BEGIN ${open.label} at line ${open.line} is closed by END ${end[1]} at line ${lineNumber}: the labels must match.`
      }
      blocks.push(open)
      open = undefined
      return
    }
    if (open && line !== '') open.body.push({ text: line, line: lineNumber })
  })
  if (open) {
    open.broken = `${open.label} block at line ${open.line} has no END line: the file may be truncated.`
    blocks.push(open)
  }

  blocks.forEach((block, i) => readBlock(parsed, block, i + 1, fail))
  parsed.blocks = blocks.length

  if (parsed.blocks === 0 && parsed.problems.length === 0) {
    const what = text.trim() === '' ? 'is empty' : 'holds no PEM block'
    fail('no-certificate', 1, `The file ${what}: a matched file must hold at least one -----BEGIN CERTIFICATE----- block.`)
  }
  parsed.problems.sort((a, b) => a.line - b.line)
  return parsed
}

function readBlock(
  parsed: ParsedFile,
  block: Block,
  index: number,
  failFile: (check: string, line: number, message: string, index?: number) => void
): void {
  const { file } = parsed
  const fail = (check: string, line: number, message: string): void => failFile(check, line, message, index)
  const reject = (): void => {
    parsed.rejected.push({ file, index, line: block.line, label: block.label })
  }
  // A private key is refused even in a broken block, and never shown.
  if (/PRIVATE KEY/.test(block.label)) {
    reject()
    fail('private-key', block.line, `${block.label} block at line ${block.line}: a private key must never be published. Remove it from ${file} and treat the key as leaked.`)
    return
  }
  if (block.broken) {
    reject()
    fail('pem-syntax', block.line, block.broken)
    return
  }
  if (block.label !== 'CERTIFICATE') {
    reject()
    fail('not-a-certificate', block.line, `${block.label} block at line ${block.line} is not a certificate: only CERTIFICATE blocks can be uploaded; move it out of the matched files.`)
    return
  }
  const badLine = block.body.find((l) => !BASE64_LINE.test(l.text))
  if (badLine) {
    reject()
    const what = badLine.text.includes(':') ? 'a header line' : 'characters that are not base64'
    fail('pem-syntax', badLine.line, `CERTIFICATE block at line ${block.line} has ${what} at line ${badLine.line}: the body must be base64 only.`)
    return
  }
  const base64 = block.body.map((l) => l.text).join('')
  if (base64 === '' || base64.length % 4 !== 0 || /=[^=]/.test(base64)) {
    reject()
    const what = base64 === '' ? 'is empty' : 'has truncated or misplaced base64'
    fail('pem-syntax', block.line, `CERTIFICATE block at line ${block.line} ${what}: copy the certificate again from its source.`)
    return
  }
  const der = Buffer.from(base64, 'base64')
  const certificate = readCertificate(file, index, block.line, der)
  if (typeof certificate === 'string') {
    reject()
    fail('bad-der', block.line, `CERTIFICATE block at line ${block.line} ${certificate}: copy the certificate again from its source.`)
    return
  }
  parsed.certificates.push(certificate)
}

/** Length of the outer DER element, or undefined when its header is not DER. */
function derLength(der: Uint8Array): number | undefined {
  if (der.length < 2 || der[0] !== 0x30) return undefined
  const first = der[1]
  if (first < 0x80) return 2 + first
  const count = first & 0x7f
  if (count === 0 || count > 4 || der.length < 2 + count) return undefined
  let length = 0
  for (let i = 0; i < count; i++) length = length * 256 + der[2 + i]
  return 2 + count + length
}

/** The certificate, or why its DER is not one. */
function readCertificate(file: string, index: number, line: number, der: Buffer): Certificate | string {
  const length = derLength(der)
  if (length === undefined) return 'does not hold DER data (no X.509 structure)'
  if (length < der.length) return `has ${der.length - length} bytes after the end of the certificate`
  if (length > der.length) return 'is truncated (the DER ends early)'
  let cert: x509.X509Certificate
  try {
    cert = new x509.X509Certificate(new Uint8Array(der))
    const { notBefore, notAfter } = cert
    if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) {
      return 'has a validity date that cannot be read'
    }
    const basic = cert.getExtension(x509.BasicConstraintsExtension)
    const keyUsage = cert.getExtension(x509.KeyUsagesExtension)
    const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension)
    const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension)
    const usages = keyUsage?.usages ?? 0
    return {
      file,
      index,
      line,
      der,
      fingerprint: fingerprintOf(der),
      pem: toPem(der),
      subject: cert.subject,
      commonName: cert.subjectName.getField('CN')[0] ?? '',
      notBefore,
      notAfter,
      isCa: basic?.ca === true,
      hasSubjectKeyId: Boolean(ski?.keyId),
      hasAuthorityKeyId: Boolean(aki?.keyId),
      hasKeyUsage: keyUsage !== null,
      canSignCertificates: (usages & x509.KeyUsageFlags.keyCertSign) !== 0,
      canSignCrls: (usages & x509.KeyUsageFlags.cRLSign) !== 0
    }
  } catch {
    return 'is not a valid X.509 certificate (its DER does not parse)'
  }
}
