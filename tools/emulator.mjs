// @ts-check
/**
 * An emulator of OpenAI's organization certificates API (see CONTRIBUTING.md, "The emulator"):
 * node:http on 127.0.0.1, faithful to the contract the action relies on — bearer auth, the error
 * envelope, cursor paging with a page-size ceiling, include[]=content, the 50-certificate cap,
 * rename, delete (refused while active for the organization or in any project, archived ones
 * included), activate/deactivate (at most 10 ids) for the organization and for projects, and the
 * organization's projects (`GET /organization/projects`, `include_archived`).
 * Tests drive it with the official `openai` SDK to prove that it speaks the real protocol.
 *
 * Run it alone with `npm run emulator`: it prints its base URL and an admin key.
 */
import { X509Certificate, randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import { pathToFileURL } from 'node:url'

export const EMULATOR_ADMIN_KEY = 'sk-admin-emulator-0000000000000000'

/**
 * @typedef {object} StoredCertificate
 * @property {string} id
 * @property {string | null} name
 * @property {number} created_at
 * @property {number} valid_at
 * @property {number} expires_at
 * @property {string} content      the PEM of the first certificate uploaded
 * @property {boolean} active      at organization scope
 * @property {Set<string>} projects projects where it is active
 * @property {{ call: number, at: number }} [listed] lists show it from this list call and this
 *   time (ms) on, when the emulator lags (`listLag`)
 */

/**
 * A project of the organization, as `GET /organization/projects` shows it.
 * @typedef {object} StoredProject
 * @property {'organization.project'} object
 * @property {string} id
 * @property {string} name
 * @property {number} created_at
 * @property {number | null} archived_at
 * @property {'active' | 'archived'} status
 */

/**
 * @typedef {object} LoggedRequest
 * @property {string} method
 * @property {string} path        without /v1
 * @property {Record<string, string>} query
 * @property {unknown} body
 * @property {number} at          when it arrived (ms since the epoch)
 */

/**
 * A scripted fault, matched against each request in order; `times` (default 1) counts down.
 * @typedef {object} Fault
 * @property {string} method
 * @property {RegExp | string} path   matched against the path without /v1
 * @property {number} [times]
 * @property {number} [skip]          let this many matching requests through first
 * @property {number} [status]        answer this status with `body` (default: an error envelope)
 * @property {Record<string, string>} [headers]
 * @property {string} [body]
 * @property {'reset' | 'hang' | 'store-then-reset' | 'store-then-fail' | 'trickle' | 'stall-after-headers' | 'close-after-headers' | 'answer-unapplied' | 'apply-some-then-fail'} [action]
 *   reset: drop the connection unanswered; hang: never answer; store-then-…: carry the request
 *   out, then drop the connection or answer `status` (default 500) as if it had failed;
 *   trickle, stall-after-headers, close-after-headers: carry the request out, then send the
 *   answer a byte every `intervalMs`, or its headers and half its body and then nothing, or its
 *   headers and half its body and then close the connection; answer-unapplied: an activate or
 *   deactivate answered 200 with the flags as they stand, not applied; apply-some-then-fail:
 *   apply it to the first `count` ids only, then answer `status` (default 500)
 * @property {number} [intervalMs]     for trickle (default 100)
 * @property {number} [count]         for apply-some-then-fail (default 1)
 * @property {(answer: any, request: LoggedRequest) => unknown} [rewrite]
 *   carry the request out, then answer 200 with what this returns instead (a string goes as is)
 * @property {(request: LoggedRequest) => unknown} [respond]
 *   answer 200 with what this returns, without carrying the request out (listings that cycle or
 *   never end)
 */

/**
 * @typedef {object} EmulatorOptions
 * @property {string} [adminKey]
 * @property {number} [maxPageSize]   the most items a list page holds, whatever `limit` asks
 * @property {number} [projectPageSize]  the same for the project listing (default maxPageSize)
 * @property {number} [cap]           certificates an organization may hold (50)
 * @property {number} [latencyMs]     added to every answer
 * @property {{ calls?: number, ms?: number }} [listLag]  a new certificate appears in lists only
 *   after this many further list calls and this many ms (reads by id and writes see it at once)
 * @property {(request: LoggedRequest) => void | Promise<void>} [beforeAnswer]  called with each
 *   request before it is carried out: tests hold requests back with it (to make runs race) or
 *   watch the state between requests
 * @property {number} [storeDelayMs]  a non-atomic cap: an upload checks the cap, then stores this
 *   many ms later, so that racing uploads can all pass the check
 * @property {number} [port]          0 (default) for a random free port
 * @property {() => number} [now]     unix seconds, for tests of time
 * @property {'standard' | 'strict'} [caRules]  which of OpenAI's rule sets an upload must meet:
 *   `standard` (default; the current mutual-TLS guide: a CA, valid for more than a day) or
 *   `strict` (adds the earlier help article's SKI, AKI keyIdentifier, Key Usage keyCertSign and
 *   cRLSign, under 16 KB)
 * @property {{ key: string, cert: string }} [mtls]  serve HTTPS, as mtls.api.openai.com does, with
 *   OpenAI's rule: once a certificate is active for the organization, every request needs a client
 *   certificate that verifies against the active ones (see `clientCertificateProblem`)
 */

class HttpError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   * @param {string | null} [code]
   * @param {string | null} [param]
   */
  constructor(status, message, code = null, param = null) {
    super(message)
    this.status = status
    this.code = code
    this.param = param
  }
}

/** @param {StoredCertificate} c @param {string} object @param {boolean | undefined} active */
function view(c, object, active) {
  return {
    object,
    id: c.id,
    name: c.name,
    created_at: c.created_at,
    ...(active === undefined ? {} : { active }),
    certificate_details: { valid_at: c.valid_at, expires_at: c.expires_at }
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/**
 * Unix seconds of OpenSSL's date text (`Dec 31 23:59:59 9999 GMT`), read by hand: Date.parse maps
 * years 0–99 to the 1900s and 2000s, and a server stores the certificate's real dates.
 * @param {string} text
 */
function seconds(text) {
  const m = /^(\w{3}) +(\d+) (\d\d):(\d\d):(\d\d) (\d+) GMT$/.exec(text)
  if (!m) return Math.floor(Date.parse(text) / 1000)
  const date = new Date(0)
  date.setUTCFullYear(Number(m[6]), MONTHS.indexOf(m[1]), Number(m[2]))
  date.setUTCHours(Number(m[3]), Number(m[4]), Number(m[5]))
  return Math.floor(date.getTime() / 1000)
}

/**
 * The earlier help article's rules on an uploaded CA, read with @peculiar/x509: the reason a
 * certificate breaks one, or undefined.
 */
async function strictRules() {
  await import('reflect-metadata')
  const x509 = await import('@peculiar/x509')
  /** @param {string} pem */
  return (pem) => {
    const cert = new x509.X509Certificate(pem)
    const usages = cert.getExtension(x509.KeyUsagesExtension)?.usages ?? 0
    const needed = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign
    if (!cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId)
      return 'The certificate must have a Subject Key Identifier extension.'
    if (!cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId)
      return 'The certificate must have an Authority Key Identifier extension with a key identifier.'
    if ((usages & needed) !== needed) return 'The certificate must have Key Usage with Certificate Sign and CRL Sign.'
    if (pem.length >= 16 * 1024) return 'The certificate must be smaller than 16 KB.'
    return undefined
  }
}

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2'

/**
 * Why OpenAI would refuse this client certificate, or undefined (current mutual-TLS guide): valid
 * now, an Authority Key Identifier, fit for TLS client authentication, then signed directly by an
 * active anchor or, after a no-match, through the intermediates presented in the handshake. A
 * second reader to the action's own (src/certificates/chain.ts): OpenSSL's issuer check (names, AKI/SKI, the
 * issuer's Key Usage) and signature check through node:crypto, @peculiar/x509 for extensions.
 * @param {typeof import('@peculiar/x509')} lib
 * @param {X509Certificate} leaf
 * @param {X509Certificate[]} presented
 * @param {X509Certificate[]} anchors
 * @param {number} nowSeconds
 */
export function clientCertificateProblem(lib, leaf, presented, anchors, nowSeconds) {
  const valid = (/** @type {X509Certificate} */ x) =>
    seconds(x.validFrom) <= nowSeconds && nowSeconds <= seconds(x.validTo)
  if (!valid(leaf)) return 'The client certificate is expired or not yet valid.'
  const parsed = new lib.X509Certificate(new Uint8Array(leaf.raw))
  if (!parsed.getExtension(lib.AuthorityKeyIdentifierExtension))
    return 'The client certificate has no Authority Key Identifier.'
  const eku = parsed.getExtension(lib.ExtendedKeyUsageExtension)
  if (eku && !eku.usages.map(String).includes(CLIENT_AUTH))
    return 'The client certificate is not for TLS client authentication (Extended Key Usage).'
  const ku = parsed.getExtension(lib.KeyUsagesExtension)
  if (ku && !(ku.usages & lib.KeyUsageFlags.digitalSignature))
    return 'The client certificate is not for TLS client authentication (Key Usage).'
  /** @param {X509Certificate} ca the most intermediates it allows below it (basicConstraints) */
  const pathLength = (ca) =>
    new lib.X509Certificate(new Uint8Array(ca.raw)).getExtension(lib.BasicConstraintsExtension)?.pathLength ?? Infinity
  /** @param {X509Certificate} child @param {X509Certificate} parent @param {number} below */
  const issued = (child, parent, below) =>
    child.checkIssued(parent) &&
    parent.ca &&
    valid(parent) &&
    below <= pathLength(parent) &&
    child.verify(parent.publicKey)
  /** @param {X509Certificate} cert @param {Set<X509Certificate>} used @returns {boolean} */
  const reaches = (cert, used) =>
    anchors.some((a) => issued(cert, a, used.size)) ||
    (used.size < 8 &&
      presented.some((i) => !used.has(i) && issued(cert, i, used.size) && reaches(i, new Set([...used, i]))))
  return reaches(leaf, new Set()) ? undefined : 'The client certificate does not chain to an active certificate.'
}

/**
 * Sends an answer the way a broken network or proxy does: a byte at a time (`trickle`), or the
 * headers and half the body and then nothing (`stall-after-headers`) or a closed connection
 * (`close-after-headers`). The headers always announce the whole body's length.
 * @param {import('node:http').ServerResponse} res
 * @param {'trickle' | 'stall-after-headers' | 'close-after-headers'} action
 * @param {number} status @param {Record<string, string>} headers @param {string} payload
 * @param {number} intervalMs
 */
function sendFaulty(res, action, status, headers, payload, intervalMs) {
  const bytes = Buffer.from(payload, 'utf8')
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(bytes.length), ...headers })
  if (action === 'trickle') {
    let sent = 0
    const timer = setInterval(() => {
      if (res.destroyed) return clearInterval(timer)
      res.write(bytes.subarray(sent, ++sent))
      if (sent >= bytes.length) {
        clearInterval(timer)
        res.end()
      }
    }, intervalMs)
    res.on('close', () => clearInterval(timer))
    return
  }
  res.write(bytes.subarray(0, Math.floor(bytes.length / 2)))
  if (action === 'close-after-headers') setTimeout(() => res.socket?.destroy(), 20)
}

/**
 * Starts an emulator. Everything it was asked is in `requests`; its state is in `certificates`.
 * @param {EmulatorOptions} [options]
 */
export async function startEmulator(options = {}) {
  const adminKey = options.adminKey ?? EMULATOR_ADMIN_KEY
  const maxPageSize = options.maxPageSize ?? 100
  const cap = options.cap ?? 50
  const now = options.now ?? (() => Math.floor(Date.now() / 1000))
  /** @type {StoredCertificate[]} */
  const certificates = []
  /** @type {StoredProject[]} */
  const projects = []
  /** @type {LoggedRequest[]} */
  const requests = []
  /** @type {Fault[]} */
  const faults = []
  let clock = 0
  let listCalls = 0
  /** `listLag`, which `reset` may change for the next test that reuses this emulator. */
  let listLag = options.listLag
  /** @type {Set<import('node:net').Socket>} */
  const sockets = new Set()
  // The earlier rules need Key Usage, SKI and AKI, which Node 20's X509Certificate does not show.
  const strict = options.caRules === 'strict' ? await strictRules() : undefined
  const stats = { inFlight: 0, maxInFlight: 0 }

  /** @param {string} content @param {string | null} name @param {boolean} [lag] */
  async function store(content, name, lag = false) {
    const cert = check(content, name)
    if (options.storeDelayMs) await new Promise((resolve) => setTimeout(resolve, options.storeDelayMs))
    clock = Math.max(clock + 1, now())
    cert.created_at = clock
    if (lag && listLag) cert.listed = { call: listCalls + (listLag.calls ?? 0) + 1, at: Date.now() + (listLag.ms ?? 0) }
    certificates.push(cert)
    return cert
  }

  /** Whether lists show `c` yet. @param {StoredCertificate} c */
  const listed = (c) => !c.listed || (listCalls >= c.listed.call && Date.now() >= c.listed.at)

  /**
   * Everything an upload checks, the cap included; the certificate to store.
   * @param {string} content @param {string | null} name @param {boolean} [expired]  skip the expiry rule
   */
  function check(content, name, expired = false) {
    /** @type {X509Certificate} */
    let x
    try {
      x = new X509Certificate(content)
    } catch {
      throw new HttpError(
        400,
        'The certificate could not be parsed as a PEM-encoded X.509 certificate.',
        'mtls_certificate_invalid',
        'certificate'
      )
    }
    if (!x.ca)
      throw new HttpError(400, 'The certificate is not a CA certificate.', 'mtls_certificate_invalid', 'certificate')
    if (!expired && seconds(x.validTo) < now() + 86400)
      throw new HttpError(
        400,
        'The certificate has expired or expires within a day.',
        'expired_certificate',
        'certificate'
      )
    const broken = strict?.(content)
    if (broken) throw new HttpError(400, broken, 'mtls_certificate_invalid', 'certificate')
    if (certificates.length >= cap) {
      throw new HttpError(
        400,
        `The organization already has the maximum of ${cap} certificates. Delete one to upload another.`,
        'certificate_limit_exceeded'
      )
    }
    /** @type {StoredCertificate} */
    const cert = {
      id: `cert_${randomBytes(12).toString('hex')}`,
      name,
      created_at: 0,
      valid_at: seconds(x.validFrom),
      expires_at: seconds(x.validTo),
      content: x.toString(),
      active: false,
      projects: new Set()
    }
    return cert
  }

  /** @param {string} id */
  function find(id) {
    const cert = certificates.find((c) => c.id === id)
    if (!cert) throw new HttpError(404, `No certificate found with id '${id}'.`, null, 'certificate_id')
    return cert
  }

  /** @param {unknown} body */
  function idsOf(body) {
    const ids = /** @type {{certificate_ids?: unknown}} */ (body)?.certificate_ids
    if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === 'string')) {
      throw new HttpError(
        400,
        "'certificate_ids' must be a non-empty array of certificate ids.",
        null,
        'certificate_ids'
      )
    }
    if (ids.length > 10) throw new HttpError(400, "'certificate_ids' may hold at most 10 ids.", null, 'certificate_ids')
    return ids.map(find)
  }

  /**
   * @template {{ id: string, created_at: number }} T
   * @param {T[]} items
   * @param {URLSearchParams} query
   * @param {(c: T) => object} render
   * @param {number} [pageSize]
   */
  function page(items, query, render, pageSize = maxPageSize) {
    const limit = Number(query.get('limit') ?? 20)
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      throw new HttpError(400, "'limit' must be an integer from 1 to 100.", null, 'limit')
    const order = query.get('order') ?? 'desc'
    if (order !== 'asc' && order !== 'desc') throw new HttpError(400, "'order' must be 'asc' or 'desc'.", null, 'order')
    const sorted = [...items].sort((a, b) =>
      order === 'asc' ? a.created_at - b.created_at : b.created_at - a.created_at
    )
    const after = query.get('after')
    let start = 0
    if (after) {
      const at = sorted.findIndex((c) => c.id === after)
      if (at < 0) throw new HttpError(400, `'after' names no item of this list: '${after}'.`, null, 'after')
      start = at + 1
    }
    const data = sorted.slice(start, start + Math.min(limit, pageSize))
    return {
      object: 'list',
      data: data.map(render),
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
      has_more: start + data.length < sorted.length
    }
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {URLSearchParams} query
   * @param {unknown} body
   * @param {boolean} [apply]  false: answer an activation as if made, without making it
   * @returns {Promise<object>}
   */
  async function route(method, path, query, body, apply = true) {
    /** @type {RegExpExecArray | null} */
    let m
    if (path === '/organization/certificates' && method === 'GET') {
      listCalls++
      return page(certificates.filter(listed), query, (c) => view(c, 'organization.certificate', c.active))
    }
    if (path === '/organization/certificates' && method === 'POST') {
      const { certificate, name } = /** @type {{certificate?: unknown, name?: unknown}} */ (body ?? {})
      if (typeof certificate !== 'string' || certificate.trim() === '') {
        throw new HttpError(
          400,
          "Missing required parameter: 'certificate'.",
          'missing_required_parameter',
          'certificate'
        )
      }
      if (name !== undefined && name !== null && typeof name !== 'string')
        throw new HttpError(400, "'name' must be a string.", null, 'name')
      return view(await store(certificate, /** @type {string | null} */ (name ?? null), true), 'certificate', undefined)
    }
    if ((m = /^\/organization\/certificates\/(activate|deactivate)$/.exec(path)) && method === 'POST') {
      const targets = idsOf(body)
      if (apply) for (const c of targets) c.active = m[1] === 'activate'
      return {
        object: `organization.certificate.${m[1] === 'activate' ? 'activation' : 'deactivation'}`,
        data: targets.map((c) => view(c, 'organization.certificate', c.active))
      }
    }
    if ((m = /^\/organization\/certificates\/([^/]+)$/.exec(path))) {
      const cert = find(decodeURIComponent(m[1]))
      if (method === 'GET') {
        const answer = view(cert, 'certificate', undefined)
        // The SDKs send include[]=content; the OpenAPI spec's plain form is include=content.
        const include = [...query.getAll('include[]'), ...query.getAll('include')]
        const content = include.includes('content') ? { content: cert.content } : {}
        return { ...answer, certificate_details: { ...answer.certificate_details, ...content } }
      }
      if (method === 'POST') {
        const { name } = /** @type {{name?: unknown}} */ (body ?? {})
        if (typeof name !== 'string') throw new HttpError(400, "'name' must be a string.", null, 'name')
        cert.name = name
        return view(cert, 'certificate', undefined)
      }
      if (method === 'DELETE') {
        if (cert.active || cert.projects.size > 0) {
          throw new HttpError(
            400,
            'The certificate is active; deactivate it for the organization and every project before deleting it.',
            'certificate_in_use'
          )
        }
        certificates.splice(certificates.indexOf(cert), 1)
        return { id: cert.id, object: 'certificate.deleted' }
      }
    }
    if (path === '/organization/projects' && method === 'GET') {
      const archived = query.get('include_archived')
      if (archived !== null && archived !== 'true' && archived !== 'false')
        throw new HttpError(400, "'include_archived' must be true or false.", null, 'include_archived')
      const shown = projects.filter((p) => archived === 'true' || p.status === 'active')
      return page(shown, query, (p) => ({ ...p }), options.projectPageSize ?? maxPageSize)
    }
    if ((m = /^\/organization\/projects\/([^/]+)$/.exec(path)) && method === 'GET') {
      const id = decodeURIComponent(m[1])
      const project = projects.find((p) => p.id === id)
      if (!project) throw new HttpError(404, `No project found with id '${id}'.`, null, 'project_id')
      return { ...project }
    }
    if ((m = /^\/organization\/projects\/([^/]+)\/certificates$/.exec(path)) && method === 'GET') {
      const project = decodeURIComponent(m[1])
      listCalls++
      return page(certificates.filter(listed), query, (c) =>
        view(c, 'organization.project.certificate', c.projects.has(project))
      )
    }
    if (
      (m = /^\/organization\/projects\/([^/]+)\/certificates\/(activate|deactivate)$/.exec(path)) &&
      method === 'POST'
    ) {
      const project = decodeURIComponent(m[1])
      const targets = idsOf(body)
      for (const c of apply ? targets : []) {
        if (m[2] === 'activate') c.projects.add(project)
        else c.projects.delete(project)
      }
      return {
        object: `organization.project.certificate.${m[2] === 'activate' ? 'activation' : 'deactivation'}`,
        data: targets.map((c) => view(c, 'organization.project.certificate', c.projects.has(project)))
      }
    }
    throw new HttpError(404, `Invalid URL (${method} /v1${path})`)
  }

  /** @param {string} method @param {string} path */
  function takeFault(method, path) {
    const fault = faults.find(
      (f) => f.method === method && (typeof f.path === 'string' ? f.path === path : f.path.test(path))
    )
    if (fault && fault.skip) {
      fault.skip--
      return undefined
    }
    if (fault && (fault.times = (fault.times ?? 1) - 1) <= 0) faults.splice(faults.indexOf(fault), 1)
    return fault
  }

  const lib = options.mtls ? await import('reflect-metadata').then(() => import('@peculiar/x509')) : undefined

  /**
   * OpenAI's answer to a request on this connection once a certificate is active for the
   * organization (Admin API calls are organization requests); before that, none is needed.
   * @param {import('node:tls').TLSSocket} socket
   */
  function mtlsRefusal(socket) {
    const active = certificates.filter((c) => c.active)
    if (!lib || active.length === 0) return undefined
    // getPeerCertificate(true) first: after getPeerX509Certificate(), Node 20 loses the chain.
    const peer = socket.getPeerCertificate(true)
    const leaf = peer?.raw ? new X509Certificate(peer.raw) : undefined
    if (!leaf) {
      return {
        code: 'certificate_required',
        message:
          'This organization requires mutual TLS: send a client certificate that chains to an active certificate.'
      }
    }
    /** @type {X509Certificate[]} */
    const presented = []
    let link = peer
    while (link?.issuerCertificate && link.issuerCertificate !== link && presented.length < 10) {
      link = link.issuerCertificate
      presented.push(new X509Certificate(link.raw))
    }
    const anchors = active.map((c) => new X509Certificate(c.content))
    const problem = clientCertificateProblem(lib, leaf, presented, anchors, now())
    return problem && { code: 'certificate_verification_failed', message: problem }
  }

  /** @type {import('node:http').RequestListener} */
  const handler = (req, res) => {
    // How many requests are under way at once: what a client's concurrency really is.
    stats.maxInFlight = Math.max(stats.maxInFlight, ++stats.inFlight)
    res.on('close', () => stats.inFlight--)
    const chunks = /** @type {Buffer[]} */ ([])
    req.on('data', (chunk) => chunks.push(chunk))
    req.on('end', async () => {
      const url = new URL(req.url ?? '/', 'http://emulator')
      const method = req.method ?? 'GET'
      const path = url.pathname.replace(/^\/v1(?=\/)/, '')
      const text = Buffer.concat(chunks).toString('utf8')
      /** @type {unknown} */
      let body
      let badJson = false
      if (text !== '') {
        try {
          body = JSON.parse(text)
        } catch {
          badJson = true
        }
      }
      /** @type {LoggedRequest} */
      const request = { method, path, query: Object.fromEntries(url.searchParams), body, at: Date.now() }
      requests.push(request)
      await options.beforeAnswer?.(request)
      const fault = takeFault(method, path)

      /** @param {number} status @param {unknown} answer @param {Record<string, string>} [headers] */
      const send = (status, answer, headers = {}) => {
        setTimeout(() => {
          const payload = typeof answer === 'string' ? answer : JSON.stringify(answer)
          if (
            fault?.action === 'trickle' ||
            fault?.action === 'stall-after-headers' ||
            fault?.action === 'close-after-headers'
          )
            return sendFaulty(res, fault.action, status, headers, payload, fault.intervalMs ?? 100)
          res.writeHead(status, { 'content-type': 'application/json', ...headers })
          res.end(payload)
        }, options.latencyMs ?? 0)
      }
      /** @param {HttpError} e */
      const sendError = (e) =>
        send(e.status, {
          error: { message: e.message, type: 'invalid_request_error', param: e.param ?? null, code: e.code ?? null }
        })

      const refusal = mtlsRefusal(/** @type {import('node:tls').TLSSocket} */ (req.socket))
      if (refusal) {
        return send(401, {
          error: { message: refusal.message, type: 'invalid_request_error', param: null, code: refusal.code }
        })
      }
      if (fault?.action === 'hang') return
      if (fault?.action === 'reset') return void req.socket.destroy()
      const failure = () =>
        send(
          fault?.status ?? 500,
          fault?.body ?? {
            error: {
              message: `Scripted failure ${fault?.status ?? 500}.`,
              type: 'server_error',
              param: null,
              code: null
            }
          },
          fault?.headers
        )
      if (fault?.status && !fault.action) return failure()
      if (req.headers.authorization !== `Bearer ${adminKey}`) {
        return send(401, {
          error: {
            message:
              'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.',
            type: 'invalid_request_error',
            param: null,
            code: 'invalid_api_key'
          }
        })
      }
      if (badJson) return sendError(new HttpError(400, 'We could not parse the JSON body of your request.'))
      if (fault?.respond) return send(200, fault.respond(request))
      try {
        if (fault?.action === 'apply-some-then-fail') {
          const ids = /** @type {{certificate_ids: string[]}} */ (body).certificate_ids.slice(0, fault.count ?? 1)
          await route(method, path, url.searchParams, { certificate_ids: ids })
          return failure()
        }
        const answer = await route(method, path, url.searchParams, body, fault?.action !== 'answer-unapplied')
        if (fault?.action === 'store-then-reset') return void req.socket.destroy()
        if (fault?.action === 'store-then-fail') return failure()
        send(200, fault?.rewrite ? fault.rewrite(structuredClone(answer), request) : answer)
      } catch (error) {
        if (error instanceof HttpError) return sendError(error)
        send(500, { error: { message: `Emulator failure: ${error}`, type: 'server_error', param: null, code: null } })
      }
    })
  }
  const server = options.mtls
    ? createTlsServer(
        {
          key: options.mtls.key,
          cert: options.mtls.cert,
          requestCert: true,
          rejectUnauthorized: false
        },
        handler
      )
    : createServer(handler)
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise((resolve) => server.listen(options.port ?? 0, '127.0.0.1', () => resolve(undefined)))
  const address = /** @type {import('node:net').AddressInfo} */ (server.address())

  return {
    baseUrl: `${options.mtls ? 'https' : 'http'}://127.0.0.1:${address.port}/v1`,
    adminKey,
    certificates,
    requests,
    faults,
    stats,
    /**
     * Puts a certificate in the organization as if uploaded earlier (no request is logged); with
     * `expired`, one that was uploaded while valid and has expired since.
     * @param {string} pem @param {string | null} [name] @param {{ expired?: boolean }} [how]
     */
    seed: (pem, name = null, { expired = false } = {}) => {
      const cert = check(pem, name, expired)
      cert.created_at = clock = Math.max(clock + 1, now())
      certificates.push(cert)
      return cert
    },
    projects,
    /**
     * Adds a project to the organization (no request is logged); an archived one keeps the
     * certificates active in it, as OpenAI's archived projects do.
     * @param {{ id?: string, name?: string, archived?: boolean }} [project]
     */
    addProject: ({ id, name, archived = false } = {}) => {
      clock = Math.max(clock + 1, now())
      /** @type {StoredProject} */
      const project = {
        object: 'organization.project',
        id: id ?? `proj_${randomBytes(8).toString('hex')}`,
        name: name ?? `Project ${projects.length + 1}`,
        created_at: clock,
        archived_at: archived ? clock : null,
        status: archived ? 'archived' : 'active'
      }
      projects.push(project)
      return project
    },
    /**
     * Empties the organization, the request log and the faults, for a test that reuses one
     * emulator across cases; listings then lag as `listLag` says (none when not given).
     * @param {{ listLag?: EmulatorOptions['listLag'] }} [next]
     */
    reset: (next = {}) => {
      certificates.length = 0
      projects.length = 0
      requests.length = 0
      faults.length = 0
      listLag = next.listLag
      stats.maxInFlight = stats.inFlight
    },
    /**
     * From now on, listings lag as given (undefined: not at all); what was stored lagging keeps its lag.
     * @param {EmulatorOptions['listLag']} next
     */
    setListLag: (next) => {
      listLag = next
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve(undefined))
      })
  }
}

/** @typedef {Awaited<ReturnType<typeof startEmulator>>} Emulator */

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const emulator = await startEmulator({
    port: Number(process.env.PORT ?? 0),
    caRules: process.env.CA_RULES === 'strict' ? 'strict' : 'standard'
  })
  console.log(`OpenAI certificates API emulator listening.
  base URL:  ${emulator.baseUrl}
  admin key: ${emulator.adminKey}
Use them as the action's base-url and admin-api-key (or OPENAI_BASE_URL and OPENAI_ADMIN_KEY). Ctrl-C stops it.`)
}
