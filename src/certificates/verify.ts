import { X509Certificate as NodeCertificate } from 'node:crypto'
import type { RemoteCertificate } from '../openai/wire.js'
import type { Inventory } from '../openai/inventory.js'
import { type Certificate, type ParsedFile, type Problem, parseFile } from './parse.js'
import type { Plan, ProjectStates } from '../plan/plan.js'
import { mapLimit } from '../shared/pool.js'

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

const quote = (subject: string): string => `'${subject || '(empty subject)'}'`
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

/** The certificates of a workload file: the client first, then the intermediates it presents. */
export function presentedOf(files: readonly ParsedFile[]): Presented[] {
  return files.flatMap((f) =>
    f.certificates.length === 0
      ? []
      : [
          {
            source: 'workload' as const,
            file: f.file,
            line: f.certificates[0].line,
            der: f.certificates[0].der,
            intermediates: f.certificates.slice(1).map((c) => c.der),
            fileProblem: f.problems.find((p) => p.severity === 'error')
          }
        ]
  )
}

/** Anchors from the files' certificates, named by their file (and line, in a file of several). */
export function fileAnchors(certificates: readonly Certificate[]): Anchor[] {
  const perFile = new Map<string, number>()
  for (const c of certificates) perFile.set(c.file, (perFile.get(c.file) ?? 0) + 1)
  return certificates.map((c) => ({ der: c.der, label: perFile.get(c.file)! > 1 ? `${c.file}:${c.line}` : c.file }))
}

/** Verdicts refused for a problem of their file, which the file's own problem reports. */
const fileVerdicts = new WeakSet<Verdict>()
const fromFile = (v: Verdict): Verdict => (fileVerdicts.add(v), v)

/** Checks of the certificate itself: reissuing it is the fix, not keeping a CA. */
const OWN_CHECKS = new Set([
  'malformed',
  'expired',
  'not-yet-valid',
  'no-aki',
  'not-client-auth',
  'key-usage',
  'wrong-order'
])

/** Workload verdicts as problems at their file and line, and a warning for one expiring soon. */
export function verdictProblems(
  verdicts: readonly Verdict[],
  now: Date,
  expiryWarningDays: number,
  explain: (v: Verdict) => string
): Problem[] {
  const problems: Problem[] = []
  for (const v of verdicts) {
    if (fileVerdicts.has(v)) continue
    if (v.source === 'client-certificate') {
      // The action's own certificate: one OpenAI refuses whatever the CAs would refuse its next run.
      if (v.problem !== null && OWN_CHECKS.has(v.check!))
        problems.push({
          check: `client-certificate-${v.check}`,
          severity: 'error',
          message: `Input client-certificate ${quote(v.subject ?? '')} would be refused by OpenAI: ${v.problem}. ${v.check === 'wrong-order' ? 'Put the client certificate first, then its intermediates' : 'Reissue it for client authentication and update the client-certificate and client-key secrets'}.`,
          file: v.file,
          line: v.line
        })
      continue
    }
    if (v.problem !== null) {
      problems.push({
        check: `workload-${v.check}`,
        severity: 'error',
        message: explain(v),
        file: v.file,
        line: v.line
      })
      continue
    }
    const left = v.not_after ? (Date.parse(v.not_after) - now.getTime()) / 86_400_000 : Infinity
    if (left <= expiryWarningDays)
      problems.push({
        check: 'workload-expires-soon',
        severity: 'warning',
        message: `Workload certificate ${quote(v.subject ?? '')} expires on ${v.not_after!.slice(0, 10)}, in ${Math.max(Math.floor(left), 0)} days: reissue it before then.`,
        file: v.file,
        line: v.line
      })
  }
  return problems
}

/** `a`, `a and b`, `a, b and 2 more`. */
function list(items: readonly string[]): string {
  const shown = items.slice(0, 3)
  const more = items.length - shown.length
  if (more > 0) return `${shown.join(', ')} and ${more} more`
  return shown.length <= 1 ? (shown[0] ?? '') : `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)}`
}

export interface Judgement {
  verdicts: Verdict[]
  problems: Problem[]
}

/**
 * Verdicts against the anchors left after the run, and, for workload certificates they refuse, a
 * problem that says which CA they chain to today and what to keep. `before` (the anchors active
 * now, when known) names that CA; without it, the CA named in the certificates is.
 */
export async function judgeWorkloads(
  presented: readonly Presented[],
  after: readonly Anchor[],
  options: { now: Date; expiryWarningDays: number; where: string; before?: readonly Anchor[] }
): Promise<Judgement> {
  const verdicts = await verifyPresented(presented, after, options.now)
  const failing = presented.filter((_, i) => verdicts[i].problem !== null && !OWN_CHECKS.has(verdicts[i].check!))
  const today = options.before ? await verifyPresented(failing, options.before, options.now) : []
  const afterLabels = new Set(after.map((a) => a.label))
  const fresh = after.map((a) => a.label).filter((l) => !options.before?.some((b) => b.label === l))
  const target = list(fresh.length > 0 ? fresh : [...afterLabels])
  const explain = (v: Verdict): string => {
    const who = `Workload certificate ${quote(v.subject ?? '')}`
    if (v.check === 'wrong-order')
      return `${v.file} would be refused by OpenAI: ${v.problem}. Put the client certificate first, then the intermediates it sends.`
    if (OWN_CHECKS.has(v.check!)) return `${who} would be refused by OpenAI: ${v.problem}. Reissue it.`
    const now = today[failing.findIndex((p) => p.file === v.file && p.line === v.line)]
    const reissue = target ? ` until these certificates are reissued from ${target}` : ''
    if (now?.anchor)
      return `${who} chains today to ${now.anchor}, which will not be active ${options.where} after this run (${v.problem}): keep ${now.anchor}${reissue}; nothing was changed.`
    const namesake = /^it is issued by .* with key id (\S+), not by /.exec(v.problem!)
    if (namesake)
      return `${who} would verify against no CA ${options.where}: ${v.problem}. ${options.before ? 'Publish and keep' : 'Keep'} the CA with key id ${namesake[1]}${reissue}.`
    const chainsTo = /^it chains to (.*), which is not an anchor$/.exec(v.problem!)
    if (chainsTo) {
      // Whether the files held that CA before is not known offline; in publish, `before` says it was never active.
      const held = options.before ? '' : `; if it is a CA the files held until now, keep it${reissue}`
      return `${who} would verify against no CA ${options.where}: it chains to ${chainsTo[1]}, which is not a CA ${options.where} and is not among the certificates it presents. If ${chainsTo[1]} is an intermediate CA, the workload must present it after its own certificate (in ${v.file}, after the client certificate), or the files must hold it as the CA${held}.`
    }
    return `${who} would verify against no CA ${options.where}: ${v.problem}.`
  }
  return { verdicts, problems: verdictProblems(verdicts, options.now, options.expiryWarningDays, explain) }
}

/** The anchors of the scopes a plan activates in, as they are now and as the plan leaves them. */
export interface PlanAnchors {
  before: Anchor[]
  after: Anchor[]
  /** At organization scope, when the plan activates there. */
  organization?: { before: Anchor[]; after: Anchor[]; firstActivation: boolean; deactivates: boolean }
}

/**
 * Which certificates are active in each scope the plan touches, before and after it: the
 * organization's for requests to a project too (project certificates are tried first, then the
 * organization's). Remote certificates the files do not hold are read with `fetchPem`, once each.
 */
export async function planAnchors(
  plan: Plan,
  inventory: Inventory,
  projects: ProjectStates,
  local: readonly Certificate[],
  fetchPem: (id: string) => Promise<string | undefined>
): Promise<PlanAnchors> {
  const orgActive = inventory.certificates.filter((r) => r.active === true)
  const byId = new Map(inventory.certificates.map((r) => [r.id, r]))
  type Key = string // a remote id, or `sha256:<fingerprint>` for an upload
  const scopes = plan.scopes.map((s) => {
    const before = new Set<Key>(
      s.scope.kind === 'organization' ? orgActive.map((r) => r.id) : [...(projects.get(s.scope.id) ?? [])]
    )
    const after = new Set(before)
    for (const r of s.deactivate) after.delete(r.id)
    for (const r of s.activate) after.add(r.id)
    if (s.activateUploads) for (const u of plan.uploads) after.add(`sha256:${u.cert.fingerprint}`)
    if (s.scope.kind === 'project') {
      for (const r of orgActive) {
        before.add(r.id)
        after.add(r.id)
      }
    }
    return { scope: s, before, after }
  })

  const named = fileAnchors(local)
  const localAnchors = new Map(local.map((c, i) => [c.fingerprint, named[i]]))
  const fingerprintOfId = new Map([...plan.existing].map(([fingerprint, r]) => [r.id, fingerprint]))
  const keys = new Set(scopes.flatMap((s) => [...s.before, ...s.after]))
  const remoteOnly = [...keys].filter((k) => !k.startsWith('sha256:') && !fingerprintOfId.has(k))
  const fetched = new Map<string, Anchor>()
  await mapLimit(remoteOnly, 8, async (id) => {
    const pem = await fetchPem(id)
    const der = pem === undefined ? undefined : parseFile('remote', Buffer.from(pem, 'utf8')).certificates[0]?.der
    const r: RemoteCertificate | undefined = byId.get(id)
    if (der) fetched.set(id, { der, label: `${r?.name ? `'${r.name}' ` : ''}(${id})` })
  })
  const anchor = (key: Key): Anchor | undefined =>
    key.startsWith('sha256:')
      ? localAnchors.get(key.slice(7))
      : fingerprintOfId.has(key)
        ? localAnchors.get(fingerprintOfId.get(key)!)
        : fetched.get(key)
  const anchors = (set: ReadonlySet<Key>): Anchor[] => {
    const seen = new Set<Anchor>()
    for (const key of set) {
      const a = anchor(key)
      if (a) seen.add(a)
    }
    return [...seen]
  }
  const union = (pick: 'before' | 'after'): Anchor[] => [...new Set(scopes.flatMap((s) => anchors(s[pick])))]
  const org = scopes.find((s) => s.scope.scope.kind === 'organization')
  return {
    before: union('before'),
    after: union('after'),
    organization: org && {
      before: anchors(org.before),
      after: anchors(org.after),
      firstActivation: org.before.size === 0 && org.after.size > 0,
      deactivates: org.scope.deactivate.length > 0
    }
  }
}

/**
 * Why the plan would lock the action's own next run out, or undefined. An organization-wide change
 * that starts requiring client certificates, or removes a CA, needs `client-certificate`, and that
 * certificate must verify against the organization's CAs after the run.
 */
export function organizationLockOut(org: PlanAnchors['organization'], client: Verdict | undefined): string | undefined {
  if (!org || !(org.firstActivation || org.deactivates)) return undefined
  const what = org.firstActivation
    ? "activate certificates for the organization, where none is active yet: from then on every request to it, this action's next run included, needs a client certificate that chains to an active CA (at https://mtls.api.openai.com/v1)"
    : "deactivate certificates for the organization: the action's next run must still present a client certificate that chains to a CA left active"
  if (!client)
    return `This run would ${what}. Set client-certificate and client-key (from secrets) to a client certificate issued from one of the files' CAs, so that the run can prove the next one gets in; nothing was changed.`
  if (client.problem !== null)
    return `This run would ${what}, and client-certificate ${quote(client.subject ?? '')} would not verify against the organization's CAs after it: ${client.problem}. Give client-certificate and client-key of a certificate issued from ${list(org.after.map((a) => a.label)) || 'a CA in the files'}; nothing was changed.`
  return undefined
}
