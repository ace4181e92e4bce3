/**
 * Reading a file's bytes into its certificates: PEM blocks and their labels, refused blocks and
 * private keys (in PEM, DER or as text), UTF-16, binary DER and PKCS#7 / CMS bundles, each problem
 * at its file and line. Each certificate's DER is decoded by `x509.ts`.
 */
import { createPrivateKey } from 'node:crypto'
import * as asn1js from 'asn1js'
import type { Problem, Severity } from './problem.js'
import { type Certificate, derLength, readBer, readCertificate } from './x509.js'

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
/** Labels whose body is one certificate (RFC 7468 and its alias, OpenSSL's trust-annotated form). */
const CERTIFICATE_LABELS = new Set(['CERTIFICATE', 'X509 CERTIFICATE', 'TRUSTED CERTIFICATE'])
/** Labels whose body is a PKCS#7 / CMS bundle of certificates. */
const PKCS7_LABELS = new Set(['PKCS7', 'CMS'])

type Fail = (check: string, line: number, message: string, index?: number, severity?: Severity) => void

/**
 * The lines that start a private key in OpenSSL's text form: `Private-Key: (2048 bit, 2 primes)`,
 * `RSA Private-Key:`, `ED25519 Private-Key:`, and the fields only a private key has (an RSA
 * `privateExponent:`, an EC or EdDSA `priv:`). A certificate's text (`Public-Key:`, `pub:`) has none.
 */
const KEY_TEXT = /^(?:[A-Z0-9]+ )?Private-Key:|^(?:privateExponent|priv):/

/**
 * A private key's BEGIN or END marker anywhere in a line (`key: -----BEGIN PRIVATE KEY-----`, as
 * pasted from a YAML file or a chat; a one-line PEM in a JSON string; text after the END line):
 * any label that ends in PRIVATE KEY (RSA, EC, DSA, ENCRYPTED, OPENSSH…).
 */
const KEY_BEGIN = /-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----/
const KEY_END = /-----END ([A-Z0-9 ]*PRIVATE KEY)-----/

/**
 * Reads a file's certificates: PEM blocks (line by line, so that every problem has a line number),
 * or a binary DER certificate or PKCS#7 bundle. Text around blocks is allowed (as `openssl x509
 * -text` writes it); CRLF, a UTF-8 BOM and comments in another 8-bit encoding are too. Never throws
 * on bad input, and never puts a block's content in a message.
 */
export function parseFile(file: string, bytes: Uint8Array): ParsedFile {
  const parsed: ParsedFile = { file, certificates: [], rejected: [], problems: [], blocks: 0 }
  const fail: Fail = (check, line, message, index, severity = 'error') => {
    parsed.problems.push({ check, severity, message, file, line, ...(index === undefined ? {} : { index }) })
  }

  if (isUtf16(bytes)) {
    fail(
      'no-certificate',
      1,
      'The file is UTF-16 text: save it as UTF-8 (PEM is ASCII), e.g. iconv -f UTF-16 -t UTF-8, or in your editor.'
    )
    return parsed
  }
  if (isBinaryDer(bytes)) {
    readBinary(parsed, Buffer.from(bytes), fail)
    return parsed
  }

  let text: string
  let utf8 = true
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    // PEM blocks are ASCII: a comment in Latin-1 or Windows-1252 around them does not matter.
    text = Buffer.from(bytes).toString('latin1')
    utf8 = false
  }

  // Blocks in file order; a broken one carries why, so that it keeps its place and index.
  const blocks: Block[] = []
  let open: Block | undefined
  // A private key printed as text (`openssl pkey -text`, `openssl rsa -text`) outside any block:
  // flagged once per stretch of text between blocks, its material never shown.
  let keyTextFlagged = false
  const lines = text.split(/\r\n|\n|\r/)
  lines.forEach((raw, i) => {
    const line = raw.trim()
    const lineNumber = i + 1
    let begin = BEGIN.exec(line)
    let end = END.exec(line)
    if (!begin && !end) {
      // A private key's markers with text around them still frame a private key, refused as one.
      begin = KEY_BEGIN.exec(line)
      end = KEY_END.exec(line)
      if (begin && end && end.index > begin.index) {
        // BEGIN and END on one line: a key whose line breaks were lost (a JSON string, a chat).
        if (open) {
          open.broken = `${open.label} block at line ${open.line} has no END line before the next BEGIN at line ${lineNumber}: restore its -----END ${open.label}----- line.`
          blocks.push(open)
          open = undefined
        }
        keyTextFlagged = false
        blocks.push({ label: begin[1], line: lineNumber, body: [] })
        return
      }
      if (begin) end = null
    }
    if (begin || end) keyTextFlagged = false
    if (!open && !begin && !end && !keyTextFlagged && KEY_TEXT.test(line)) {
      keyTextFlagged = true
      fail(
        'private-key',
        lineNumber,
        `Line ${lineNumber} starts a private key written as text (openssl -text output): a private key must never be published. Remove it from ${file} and treat the key as leaked.`
      )
    }
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
        fail(
          'pem-syntax',
          lineNumber,
          `END ${end[1]} at line ${lineNumber} has no BEGIN line: restore the block's -----BEGIN ${end[1]}----- line.`
        )
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

  let next = 1
  const take = (count = 1): number => {
    const index = next
    next += count
    return index
  }
  for (const block of blocks) readBlock(parsed, block, take, fail)
  parsed.blocks = blocks.length

  if (parsed.blocks === 0 && parsed.problems.length === 0) {
    if (!utf8) {
      fail(
        'no-certificate',
        1,
        'The file is not UTF-8 text and holds no PEM block (nor DER certificate): check the pattern that matched it.'
      )
    } else {
      const what = text.trim() === '' ? 'is empty' : 'holds no PEM block'
      fail(
        'no-certificate',
        1,
        `The file ${what}: a matched file must hold at least one -----BEGIN CERTIFICATE----- block (or be a DER certificate or a PKCS#7 bundle).`
      )
    }
  }
  parsed.problems.sort((a, b) => a.line - b.line)
  return parsed
}

/** UTF-16 text, with or without a byte order mark: PEM's ASCII with a zero byte beside each character. */
function isUtf16(bytes: Uint8Array): boolean {
  if (bytes.length < 2) return false
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) return true
  if (bytes.length < 8) return false
  const head = [...bytes.subarray(0, 8)]
  const zeroAt = (parity: number): boolean => head.every((b, i) => (i % 2 === parity) === (b === 0))
  return zeroAt(1) || zeroAt(0)
}

/**
 * A binary file: one DER SEQUENCE filling the file, a BER one of indefinite length (as some PKCS#7
 * tools write), or a SEQUENCE followed by control bytes that text does not have.
 */
function isBinaryDer(bytes: Uint8Array): boolean {
  if (bytes[0] !== 0x30 || bytes.length < 2) return false
  if (bytes[1] === 0x80 || derLength(bytes) === bytes.length) return true
  return bytes.subarray(0, 64).some((b) => b < 0x09 || (b > 0x0d && b < 0x20))
}

/** A DER certificate (line 1) or a PKCS#7 bundle in DER or BER (every certificate at line 1). */
function readBinary(parsed: ParsedFile, der: Buffer, fail: Fail): void {
  const { file } = parsed
  parsed.blocks = 1
  if (isContentInfo(der)) {
    readPkcs7(parsed, der, 1, 1, 'The PKCS#7 bundle', fail)
    return
  }
  if (isPrivateKeyDer(der)) {
    parsed.rejected.push({ file, index: 1, line: 1, label: 'PRIVATE KEY' })
    fail(
      'private-key',
      1,
      `The file is a private key in DER: a private key must never be published. Remove ${file} from the matched files (and from the repository) and treat the key as leaked.`,
      1
    )
    return
  }
  addCertificate(parsed, der, 1, 1, 'The DER certificate', fail, () =>
    parsed.rejected.push({ file, index: 1, line: 1, label: 'DER' })
  )
}

/** A binary PKCS#8 (encrypted or not), PKCS#1 or SEC1 private key, as node:crypto reads them. */
function isPrivateKeyDer(der: Buffer): boolean {
  for (const type of ['pkcs8', 'pkcs1', 'sec1'] as const) {
    try {
      createPrivateKey({ key: der, format: 'der', type })
      return true
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_MISSING_PASSPHRASE') return true
    }
  }
  return false
}

/** ContentInfo ::= SEQUENCE { contentType OBJECT IDENTIFIER, … }; a Certificate starts with a SEQUENCE. */
function isContentInfo(der: Uint8Array): boolean {
  const headerLength = der[1] & 0x80 ? 2 + (der[1] & 0x7f) : 2
  return der[headerLength] === 0x06
}

const SIGNED_DATA = '1.2.840.113549.1.7.2'
/**
 * The certificates of a PKCS#7 SignedData (a `.p7b`, as `openssl crl2pkcs7 -nocrl` and Windows write
 * it), each as its exact bytes: read with asn1js, which takes BER too, rather than re-encoded.
 */
export function pkcs7Certificates(der: Uint8Array): Uint8Array[] | string {
  const info = readBer(der)
  if (!info) return 'does not hold DER data'
  const [type, content] = info instanceof asn1js.Sequence ? info.valueBlock.value : []
  if (!(type instanceof asn1js.ObjectIdentifier) || !(content instanceof asn1js.Constructed))
    return 'is not a PKCS#7 structure'
  if (type.getValue() !== SIGNED_DATA) return `is PKCS#7 content of type ${type.getValue()}, not SignedData`
  const signed = content.valueBlock.value[0]
  if (!(signed instanceof asn1js.Sequence)) return 'is not a PKCS#7 SignedData structure'
  // SignedData ::= SEQUENCE { version, digestAlgorithms, encapContentInfo, certificates [0] IMPLICIT …, … }
  const set = signed.valueBlock.value.find((f) => f.idBlock.tagClass === 3 && f.idBlock.tagNumber === 0)
  if (!(set instanceof asn1js.Constructed)) return []
  return set.valueBlock.value
    .filter((c) => c.idBlock.tagClass === 1 && c.idBlock.tagNumber === 16)
    .map((c) => new Uint8Array(c.valueBeforeDecodeView))
}

function readPkcs7(parsed: ParsedFile, der: Uint8Array, line: number, first: number, what: string, fail: Fail): number {
  const { file } = parsed
  const members = pkcs7Certificates(der)
  if (typeof members === 'string' || members.length === 0) {
    parsed.rejected.push({ file, index: first, line, label: 'PKCS7' })
    fail(
      typeof members === 'string' ? 'bad-der' : 'no-certificate',
      line,
      typeof members === 'string'
        ? `${what} at line ${line} ${members}: export the bundle again (openssl crl2pkcs7 -nocrl -certfile ca.pem -out ca.p7b).`
        : `${what} at line ${line} holds no certificate: export the bundle again with its certificates.`,
      first
    )
    return 1
  }
  members.forEach((member, i) =>
    addCertificate(
      parsed,
      Buffer.from(member),
      first + i,
      line,
      `Certificate ${i + 1} of ${what.replace(/^The /, 'the ')}`,
      fail,
      () => parsed.rejected.push({ file, index: first + i, line, label: 'PKCS7' })
    )
  )
  return members.length
}

function readBlock(parsed: ParsedFile, block: Block, take: (count?: number) => number, failFile: Fail): void {
  const { file } = parsed
  const index = take()
  const fail = (check: string, line: number, message: string): void => failFile(check, line, message, index)
  const reject = (): void => {
    parsed.rejected.push({ file, index, line: block.line, label: block.label })
  }
  // A private key is refused even in a broken block, and never shown.
  if (/PRIVATE KEY/.test(block.label)) {
    reject()
    fail(
      'private-key',
      block.line,
      `${block.label} block at line ${block.line}: a private key must never be published. Remove it from ${file} and treat the key as leaked.`
    )
    return
  }
  if (block.broken) {
    reject()
    fail('pem-syntax', block.line, block.broken)
    return
  }
  if (!CERTIFICATE_LABELS.has(block.label) && !PKCS7_LABELS.has(block.label)) {
    reject()
    fail(
      'not-a-certificate',
      block.line,
      `${block.label} block at line ${block.line} is not a certificate: only CERTIFICATE (or PKCS7) blocks can be uploaded; move it out of the matched files.`
    )
    return
  }
  const badLine = block.body.find((l) => !BASE64_LINE.test(l.text))
  if (badLine) {
    reject()
    const what = badLine.text.includes(':') ? 'a header line' : 'characters that are not base64'
    fail(
      'pem-syntax',
      badLine.line,
      `${block.label} block at line ${block.line} has ${what} at line ${badLine.line}: the body must be base64 only.`
    )
    return
  }
  const base64 = block.body.map((l) => l.text).join('')
  if (base64 === '' || base64.length % 4 !== 0 || /=[^=]/.test(base64)) {
    reject()
    const what = base64 === '' ? 'is empty' : 'has truncated or misplaced base64'
    fail('pem-syntax', block.line, `${block.label} block at line ${block.line} ${what}: copy it again from its source.`)
    return
  }
  let der = Buffer.from(base64, 'base64')
  const what = `${block.label} block at line ${block.line}`
  if (PKCS7_LABELS.has(block.label)) {
    // The block's own index goes to its first certificate; the others take the next ones.
    const count = readPkcs7(parsed, der, block.line, index, `The ${what}`, failFile)
    take(count - 1)
    return
  }
  if (block.label === 'TRUSTED CERTIFICATE') {
    // OpenSSL's X509_AUX form: the certificate, then its trust settings, which OpenAI has no use for.
    const length = derLength(der)
    if (length !== undefined && length < der.length) {
      der = der.subarray(0, length)
      failFile(
        'trust-settings-dropped',
        block.line,
        `${what} carries OpenSSL trust settings (trusted or rejected uses, alias) after the certificate: they were dropped, and only the certificate is uploaded, so OpenAI trusts it for client authentication whatever they said. To silence this, convert it: openssl x509 -in ${file} -out ca.pem.`,
        index,
        'warning'
      )
    }
  }
  addCertificate(parsed, der, index, block.line, `The ${what}`, failFile, reject)
}

/** Reads one certificate's DER and files it, or files why it is not one. */
function addCertificate(
  parsed: ParsedFile,
  der: Buffer,
  index: number,
  line: number,
  what: string,
  fail: Fail,
  reject: () => void
): void {
  let read: ReturnType<typeof readCertificate>
  try {
    read = readCertificate(parsed.file, index, line, der)
  } catch {
    // The libraries throw on some malformed input; whatever they throw on is not a certificate.
    read = 'is not a valid X.509 certificate (its DER does not parse)'
  }
  if (typeof read === 'string') {
    reject()
    fail('bad-der', line, `${what} ${read}: copy the certificate again from its source.`, index)
    return
  }
  parsed.certificates.push(read.certificate)
  for (const message of read.problems) fail('duplicate-extension', line, message, index)
}
