import { X509Certificate as NodeCertificate } from 'node:crypto'
import type { Problem } from './problem.js'

/**
 * OpenAI's verification of a client certificate, offline (current mutual-TLS guide): the client
 * certificate is valid now, carries an Authority Key Identifier and is suitable for TLS client
 * authentication; then it is tried directly against the active anchors, and after a no-match
 * through the intermediates it presented; no CRL, OCSP or AIA. Every link of a path is checked:
 * names, AKI/SKI, the issuer is a CA allowed to sign certificates (path length included), within
 * its validity, and the signature verifies.
 *
 * `@peculiar/x509` reads the extensions; it is loaded on the first call only, so that runs with
 * nothing to verify start as fast as before. Signatures are checked by Node's crypto (OpenSSL).
 */

/** A CA a client certificate may chain to, with how people know it. */
export interface Anchor {
  der: Uint8Array
  /** `certs/ca-2027.pem`, or `'ca-2026' (cert_…)` for a certificate only the organization holds. */
  label: string
}

/** A certificate a client presents in the TLS handshake, with the intermediates it sends. */
export interface Presented {
  /** Where it comes from: a workload file, or the input `client-certificate`. */
  source: 'workload' | 'client-certificate'
  file: string
  line: number
  der: Uint8Array
  intermediates: Uint8Array[]
  /** The first error of its file (a private key beside the certificate, a broken block): it is refused for it. */
  fileProblem?: Problem
}

/** One entry of the `workloads` output. */
export interface Verdict {
  source: Presented['source']
  file: string
  line: number
  subject: string | null
  not_after: string | null
  /** The anchor that accepts it, or null. */
  anchor: string | null
  /** Signed by the anchor itself, or through the intermediates it presents. */
  path: 'direct' | 'intermediates' | null
  /** Why it would be refused, or null. */
  problem: string | null
  check: string | null
}

type X509Module = typeof import('@peculiar/x509')

let loaded: Promise<X509Module> | undefined
/** `reflect-metadata` must be loaded before `@peculiar/x509` (its DI container asks for it). */
function x509(): Promise<X509Module> {
  loaded ??= import('reflect-metadata').then(() => import('@peculiar/x509'))
  return loaded
}

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2'
const DIGITAL_SIGNATURE = 1
const KEY_CERT_SIGN = 32
/** More presented intermediates than this are not followed: no real chain is that long. */
const MAX_INTERMEDIATES = 8

interface Info {
  der: Uint8Array
  node: NodeCertificate
  subject: string
  subjectDer: string
  issuer: string
  issuerDer: string
  notBefore: Date
  notAfter: Date
  /** Lowercase hex, when present. */
  ski?: string
  aki?: string
  hasAki: boolean
  isCa: boolean
  pathLength?: number
  keyUsage?: number
  eku?: string[]
}

const hex = (data: ArrayBuffer | Uint8Array): string => Buffer.from(data as ArrayBuffer).toString('hex')

function read(lib: X509Module, der: Uint8Array): Info {
  const cert = new lib.X509Certificate(new Uint8Array(der))
  const ext = <T>(type: new (...args: never[]) => T, oid: string): T | undefined => {
    const found = cert.extensions.filter((e) => e.type === oid)
    // RFC 5280 forbids an extension twice; OpenSSL then treats it as absent.
    return found.length === 1 && found[0] instanceof type ? found[0] : undefined
  }
  const basic = ext(lib.BasicConstraintsExtension, '2.5.29.19')
  const usage = ext(lib.KeyUsagesExtension, '2.5.29.15')
  const eku = ext(lib.ExtendedKeyUsageExtension, '2.5.29.37')
  const ski = ext(lib.SubjectKeyIdentifierExtension, '2.5.29.14')
  const aki = ext(lib.AuthorityKeyIdentifierExtension, '2.5.29.35')
  return {
    der,
    node: new NodeCertificate(der),
    subject: cert.subject,
    subjectDer: hex(cert.subjectName.toArrayBuffer()),
    issuer: cert.issuer,
    issuerDer: hex(cert.issuerName.toArrayBuffer()),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    ski: ski?.keyId.toLowerCase(),
    aki: aki?.keyId?.toLowerCase(),
    hasAki: aki !== undefined,
    isCa: basic?.ca === true,
    pathLength: basic?.ca ? basic.pathLength : undefined,
    keyUsage: usage?.usages,
    eku: eku?.usages.map(String)
  }
}

/** Reads each distinct certificate once: workloads often present the same intermediates. */
function reader(lib: X509Module): (der: Uint8Array) => Info | undefined {
  const cache = new Map<string, Info | undefined>()
  return (der) => {
    const key = Buffer.from(der).toString('base64')
    if (!cache.has(key)) {
      let info: Info | undefined
      try {
        info = read(lib, der)
      } catch {
        info = undefined
      }
      cache.set(key, info)
    }
    return cache.get(key)
  }
}

export const quote = (subject: string): string => `'${subject || '(empty subject)'}'`
const day = (date: Date): string => date.toISOString().slice(0, 10)

/** Why `issuer` cannot have issued `child` in this path; undefined when the link holds. */
function linkProblem(
  child: Info,
  issuer: Info,
  below: number,
  now: Date
): { check: string; message: string } | 'not-issuer' | undefined {
  if (child.issuerDer !== issuer.subjectDer) return 'not-issuer'
  if (child.aki !== undefined && issuer.ski !== undefined && child.aki !== issuer.ski) return 'not-issuer' // same name, another key: a different CA
  const who = quote(issuer.subject)
  if (!issuer.isCa) return { check: 'issuer-not-ca', message: `${who} has the issuer's name but is not a CA` }
  if (issuer.keyUsage !== undefined && (issuer.keyUsage & KEY_CERT_SIGN) === 0)
    return { check: 'issuer-key-usage', message: `${who} may not sign certificates (its Key Usage lacks keyCertSign)` }
  if (issuer.pathLength !== undefined && below > issuer.pathLength)
    return {
      check: 'path-length',
      message: `${who} allows ${issuer.pathLength} intermediate${issuer.pathLength === 1 ? '' : 's'} below it, the path has ${below}`
    }
  if (issuer.notAfter < now) return { check: 'issuer-expired', message: `${who} expired on ${day(issuer.notAfter)}` }
  if (issuer.notBefore > now)
    return { check: 'issuer-not-yet-valid', message: `${who} is not valid before ${day(issuer.notBefore)}` }
  let verified: boolean
  try {
    verified = child.node.verify(issuer.node.publicKey)
  } catch {
    verified = false // a key type OpenSSL cannot use for this signature
  }
  if (!verified)
    return {
      check: 'bad-signature',
      message: `the signature of ${quote(child.subject)} does not verify with the key of ${who}, whose name it gives as issuer`
    }
  return undefined
}

interface Found {
  anchor: Anchor
  direct: boolean
}
interface Failure {
  depth: number
  check: string
  message: string
}

/** Links tried per client certificate at most: intermediates that all issue each other stop here. */
const MAX_LINKS = 1000

/** Anchors first, then each presented intermediate that issued `current`; depth-first, bounded. */
function search(
  current: Info,
  anchors: readonly { anchor: Anchor; info: Info }[],
  intermediates: readonly Info[],
  used: ReadonlySet<Info>,
  now: Date,
  failures: Failure[],
  budget = { links: MAX_LINKS }
): Found | undefined {
  const below = used.size
  if ((budget.links -= anchors.length + intermediates.length) < 0) return undefined
  for (const { anchor, info } of anchors) {
    const problem = linkProblem(current, info, below, now)
    if (problem === undefined) return { anchor, direct: below === 0 }
    if (problem !== 'not-issuer') failures.push({ depth: below, ...problem })
  }
  for (const next of intermediates) {
    if (used.has(next)) continue
    const problem = linkProblem(current, next, below, now)
    if (problem === 'not-issuer') continue
    if (problem !== undefined) {
      failures.push({ depth: below, ...problem })
      continue
    }
    const found = search(next, anchors, intermediates, new Set([...used, next]), now, failures, budget)
    if (found) return found
  }
  return undefined
}

/** The top of the presented chain: its issuer is the CA a certificate claims to come from. */
function chainTop(leaf: Info, intermediates: readonly Info[]): Info {
  let top = leaf
  const seen = new Set<Info>()
  for (;;) {
    const up = intermediates.find((i) => !seen.has(i) && i.subjectDer === top.issuerDer)
    if (!up || up.subjectDer === up.issuerDer) return top
    seen.add(up)
    top = up
  }
}

/** A key identifier as people compare them: its first 8 bytes, in hex. */
const keyId = (id: string): string => (id.length > 16 ? `${id.slice(0, 16)}…` : id)

/**
 * Verifies each presented certificate against the anchors as OpenAI would at `now`. Pure apart
 * from loading the X.509 library; the order of the answers is the order of `presented`.
 */
export async function verifyPresented(
  presented: readonly Presented[],
  anchors: readonly Anchor[],
  now: Date
): Promise<Verdict[]> {
  if (presented.length === 0) return []
  const readOrUndefined = reader(await x509())
  const readAnchors = anchors.flatMap((anchor) => {
    const info = readOrUndefined(anchor.der)
    return info ? [{ anchor, info }] : []
  })
  return presented.map((p) => {
    const verdict: Verdict = {
      source: p.source,
      file: p.file,
      line: p.line,
      subject: null,
      not_after: null,
      anchor: null,
      path: null,
      problem: null,
      check: null
    }
    const refuse = (check: string, problem: string): Verdict => ({ ...verdict, check, problem })
    const leaf = readOrUndefined(p.der)
    if (!leaf) return refuse('malformed', 'the certificate cannot be read as X.509')
    verdict.subject = leaf.subject
    verdict.not_after = leaf.notAfter.toISOString()
    // Already reported at its file and line: the entry carries it, and no second problem is made of it.
    if (p.fileProblem) return fromFile(refuse(p.fileProblem.check, p.fileProblem.message))
    if (leaf.notAfter < now) return refuse('expired', `it expired on ${day(leaf.notAfter)}`)
    if (leaf.notBefore > now) return refuse('not-yet-valid', `it is not valid before ${day(leaf.notBefore)}`)
    // A CA first and a client certificate after it: the file is in the wrong order.
    const clientAfter = leaf.isCa
      ? p.intermediates
          .slice(0, MAX_INTERMEDIATES)
          .map(readOrUndefined)
          .find((i) => i !== undefined && !i.isCa)
      : undefined
    if (clientAfter)
      return refuse(
        'wrong-order',
        `it starts with the CA ${quote(leaf.subject)}, not with the client certificate ${quote(clientAfter.subject)} that comes after it`
      )
    // A missing AKI fails without the presented chain being tried (OpenAI's guide).
    if (!leaf.hasAki) return refuse('no-aki', 'it has no Authority Key Identifier, which OpenAI requires')
    if (leaf.eku !== undefined && !leaf.eku.includes(CLIENT_AUTH))
      return refuse(
        'not-client-auth',
        'its Extended Key Usage does not include clientAuth, so it is not for TLS client authentication'
      )
    if (leaf.keyUsage !== undefined && (leaf.keyUsage & DIGITAL_SIGNATURE) === 0)
      return refuse('key-usage', 'its Key Usage lacks digitalSignature, which TLS client authentication needs')
    const intermediates: Info[] = []
    for (const der of p.intermediates.slice(0, MAX_INTERMEDIATES)) {
      const info = readOrUndefined(der)
      if (!info) return refuse('malformed', 'an intermediate it presents cannot be read as X.509')
      intermediates.push(info)
    }
    const failures: Failure[] = []
    const found = search(leaf, readAnchors, intermediates, new Set(), now, failures)
    if (found) return { ...verdict, anchor: found.anchor.label, path: found.direct ? 'direct' : 'intermediates' }
    const deepest = failures.sort((a, b) => b.depth - a.depth)[0]
    if (deepest) return refuse(deepest.check, deepest.message)
    const top = chainTop(leaf, intermediates)
    // An anchor of the issuer's name but another key: a different CA, which the name alone hides.
    const namesakes = readAnchors.filter((a) => a.info.subjectDer === top.issuerDer)
    if (namesakes.length > 0 && top.aki !== undefined)
      return refuse(
        'no-anchor',
        `it is issued by ${quote(top.issuer)} with key id ${keyId(top.aki)}, not by ${list(namesakes.map((a) => `${a.anchor.label}${a.info.ski ? ` (key id ${keyId(a.info.ski)})` : ''}`))}, a different CA of the same name`
      )
    return refuse('no-anchor', `it chains to ${quote(top.issuer)}, which is not an anchor`)
  })
}

/** Verdicts refused for a problem of their file, which the file's own problem reports. */
const fileVerdicts = new WeakSet<Verdict>()
const fromFile = (v: Verdict): Verdict => (fileVerdicts.add(v), v)
/** Whether a verdict was refused for a problem of its file, which that problem reports already. */
export const refusedForItsFile = (v: Verdict): boolean => fileVerdicts.has(v)

/** `a`, `a and b`, `a, b and 2 more`. */
export function list(items: readonly string[]): string {
  const shown = items.slice(0, 3)
  const more = items.length - shown.length
  if (more > 0) return `${shown.join(', ')} and ${more} more`
  return shown.length <= 1 ? (shown[0] ?? '') : `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)}`
}
