import type { IncomingHttpHeaders, IncomingMessage, RequestOptions } from 'node:http'
import type { Agent as HttpsAgent } from 'node:https'
import { HttpClient } from '@actions/http-client'
import { cancellation } from '../shared/cancel.js'
import { ApiError, CancelledError, messageOf } from '../shared/errors.js'
import { CERTIFICATE_CAP } from './limits.js'

/** A certificate as the organization listing describes it (the listing never carries the PEM). */
export interface RemoteCertificate {
  id: string
  name: string | null
  /** Unix seconds; `UNKNOWN_TIME` (sorts last) when the API sent no readable date. */
  createdAt: number
  active?: boolean
  /** notBefore and notAfter, unix seconds; undefined when the API sent none, or not in unix seconds. */
  validAt?: number
  expiresAt?: number
}

export interface ApiOptions {
  baseUrl: string
  adminKey: string
  /** A client certificate and key, for an organization that requires mutual TLS. */
  clientTls?: { cert: string; key: string }
  timeoutSeconds: number
  /** Retries after the first attempt, for answers that are safe to try again. */
  maxRetries: number
  log: (message: string) => void
  sleep?: (ms: number) => Promise<void>
}

interface WireCertificate {
  id: string
  name?: unknown
  created_at?: unknown
  active?: unknown
  certificate_details?: { valid_at?: unknown; expires_at?: unknown; content?: unknown }
}

interface WireList {
  data: unknown[]
  has_more: boolean
  last_id?: unknown
}

/** A `createdAt` the API did not give: later than any real one, so such a copy is never the oldest. */
export const UNKNOWN_TIME = Number.MAX_SAFE_INTEGER

/**
 * The most certificates, and the most pages, a listing may hold before it is taken for broken:
 * twice the 50 an organization can hold, which leaves room to name the extras of an organization
 * found over the cap, even at one certificate a page.
 */
export const LIST_BOUND = 2 * CERTIFICATE_CAP

/** An answer of the expected kind that breaks the contract; its message says how. */
class UnexpectedAnswer extends Error {}

/** An attempt that got no complete answer; `status` when the headers came but the body did not. */
class NoCompleteAnswer extends Error {
  constructor(
    message: string,
    readonly status?: number
  ) {
    super(message)
  }
}

const RETRYABLE_STATUS = (status: number): boolean =>
  status === 408 || status === 409 || status === 429 || status >= 500

/** The wait the server asked for: `retry-after-ms`, else `retry-after` (seconds or a date), within 0–60 s. */
export function requestedWaitMs(headers: IncomingHttpHeaders, now = Date.now()): number | undefined {
  const ms = Number(headers['retry-after-ms'])
  if (headers['retry-after-ms'] !== undefined && Number.isFinite(ms) && ms >= 0 && ms <= 60_000) return ms
  const after = headers['retry-after']
  if (typeof after === 'string' && after.trim() !== '') {
    const seconds = Number(after)
    const wait = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(after) - now
    if (Number.isFinite(wait) && wait >= 0 && wait <= 60_000) return wait
  }
  return undefined
}

/** How long to wait before retry `attempt` (1-based): the server's word, else backoff with jitter. */
export function retryDelayMs(attempt: number, headers: IncomingHttpHeaders, now = Date.now()): number {
  const requested = requestedWaitMs(headers, now)
  if (requested !== undefined) return requested
  const backoff = Math.min(500 * 2 ** (attempt - 1), 8000)
  return backoff * (1 - Math.random() * 0.25)
}

/** The latest instant X.509 can express (9999-12-31T23:59:59Z): anything larger is not unix seconds. */
const LAST_SECOND = 253_402_300_799

/** A date the API sent: unix seconds, or undefined when it sent none or another form (ISO text, ms). */
function unixSeconds(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && Math.abs(value) <= LAST_SECOND ? value : undefined
}

/** One certificate of an answer, checked: an item without an id is an error, never a free slot. */
function toRemote(value: unknown): RemoteCertificate {
  if (!isObject(value)) throw new UnexpectedAnswer('a certificate that is not a JSON object')
  const wire = value as Partial<WireCertificate>
  if (typeof wire.id !== 'string' || wire.id.trim() === '') throw new UnexpectedAnswer('a certificate without an id')
  if (wire.active !== undefined && typeof wire.active !== 'boolean')
    throw new UnexpectedAnswer(
      `certificate ${wire.id} with an 'active' that is not true or false (${JSON.stringify(wire.active)})`
    )
  const details = isObject(wire.certificate_details) ? wire.certificate_details : {}
  return {
    id: wire.id,
    name: typeof wire.name === 'string' ? wire.name : null,
    createdAt: unixSeconds(wire.created_at) ?? UNKNOWN_TIME,
    active: typeof wire.active === 'boolean' ? wire.active : undefined,
    validAt: unixSeconds(details.valid_at),
    expiresAt: unixSeconds(details.expires_at)
  }
}

/** A certificate answer (upload, rename, an activation's item); one without an id throws, saying so. */
function isCertificate(value: unknown): value is WireCertificate {
  return isObject(value) && toRemote(value) !== undefined
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null
}

/** An activate or deactivate answer: each item's id and its `active` flag as it now stands. */
function isActivation(value: unknown): value is { data: { id: string; active: boolean }[] } {
  return (
    isList(value) &&
    value.data.every((item) => isCertificate(item) && typeof (item as { active?: unknown }).active === 'boolean')
  )
}

function isList(value: unknown): value is WireList {
  return typeof value === 'object' && value !== null && Array.isArray((value as WireList).data)
}

/** A page of a listing: the envelope, and every item one `parse` accepts. */
function isPageOf(parse: (value: unknown) => unknown) {
  return (value: unknown): value is WireList => {
    if (!isList(value)) return false
    if (typeof value.has_more !== 'boolean') throw new UnexpectedAnswer("a list without a true or false 'has_more'")
    value.data.forEach((item, i) => {
      try {
        parse(item)
      } catch (error) {
        throw new UnexpectedAnswer(`${messageOf(error)} (item ${i + 1} of the page)`)
      }
    })
    return true
  }
}

/** A project of the organization, as `GET /organization/projects` describes it. */
export interface RemoteProject {
  id: string
  name: string | null
  status: 'active' | 'archived'
}

/** One project of a listing, checked: an id, and a status of `active` or `archived`. */
function toProject(value: unknown): RemoteProject {
  if (!isObject(value)) throw new UnexpectedAnswer('a project that is not a JSON object')
  const wire = value as { id?: unknown; name?: unknown; status?: unknown; archived_at?: unknown }
  if (typeof wire.id !== 'string' || wire.id.trim() === '') throw new UnexpectedAnswer('a project without an id')
  const archived = wire.status === 'archived' || (wire.status == null && typeof wire.archived_at === 'number')
  if (wire.status !== undefined && wire.status !== null && wire.status !== 'active' && wire.status !== 'archived')
    throw new UnexpectedAnswer(
      `project ${wire.id} with a status that is not active or archived (${JSON.stringify(wire.status)})`
    )
  return {
    id: wire.id,
    name: typeof wire.name === 'string' ? wire.name : null,
    status: archived ? 'archived' : 'active'
  }
}

/**
 * The most projects a listing may hold before it is taken for broken (no documented limit; far
 * above any organization's), and so the most pages, at one a page.
 */
export const PROJECT_BOUND = 10_000

/** A certificate read with its content: the PEM must be there, as text. */
function hasContent(id: string) {
  return (value: unknown): value is WireCertificate & { certificate_details: { content: string } } => {
    const answered = toRemote(value).id
    if (answered !== id) throw new UnexpectedAnswer(`the answer is about certificate ${answered}`)
    const content = (value as WireCertificate).certificate_details?.content
    if (typeof content === 'string') return true
    throw new UnexpectedAnswer(
      `no PEM content (certificate_details.content is ${content === undefined ? 'missing' : content === null ? 'null' : `a ${typeof content}`})`
    )
  }
}

/** Says what a failed answer means, in the API's own words where it gave some. */
function describeFailure(what: string, status: number, body: string): ApiError {
  let message = body.trim().slice(0, 200) || 'no error message'
  let code: string | null = null
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown; code?: unknown } }
    if (typeof parsed.error?.message === 'string') message = parsed.error.message
    if (typeof parsed.error?.code === 'string') code = parsed.error.code
  } catch {
    // not JSON: keep the start of the body
  }
  if ((status === 401 || status === 403) && /mtls|mutual tls|client certificate/i.test(`${code ?? ''} ${message}`)) {
    return new ApiError(
      `The OpenAI API requires mutual TLS for this organization (${status}: ${message}) while trying to ${what}: set client-certificate and client-key from secrets (base-url then defaults to https://mtls.api.openai.com/v1).`,
      status,
      code
    )
  }
  if (status === 401) {
    return new ApiError(
      `The OpenAI API refused the admin key (401: ${message}) while trying to ${what}: the key was not accepted. Check that admin-api-key holds a current admin key (sk-admin-…) of this organization, not a project key, and that it was not revoked.`,
      status,
      code
    )
  }
  if (status === 403) {
    // OpenAI's role-based access control: api.mtls.read lists and reads, api.mtls.write changes.
    const reads = /^(list|read)\b/.test(what)
    const permission = reads
      ? 'api.mtls.read (list and read certificates), which plan needs'
      : 'api.mtls.write (upload, rename, activate, deactivate and delete certificates), which publish needs'
    return new ApiError(
      `The OpenAI API denied access (403: ${message}) while trying to ${what}: the admin key needs the permission ${permission}. Give the key's owner a role with it in the organization's settings, or use an admin key that has it.`,
      status,
      code
    )
  }
  return new ApiError(`The OpenAI API failed to ${what} (${status}: ${message}).`, status, code)
}

/**
 * The organization certificates endpoints, over @actions/http-client (which honours the runner's
 * proxy settings). The admin key goes only in the Authorization header, only to the base URL;
 * redirects are not followed.
 */
export class CertificatesApi {
  private readonly http: HttpClient
  private readonly sleep: (ms: number) => Promise<void>
  /** Every request made, as `METHOD path`, in order: what a run costs. */
  readonly calls: string[] = []
  /** Handed to the request that is being prepared, so that its deadline can abort it. */
  private nextSignal: AbortSignal | undefined

  constructor(private readonly options: ApiOptions) {
    // @actions/http-client prepares each request synchronously when asked for it, and lets handlers
    // amend its options: that is where the attempt's abort signal goes.
    const withSignal = {
      prepareRequest: (request: RequestOptions) => {
        request.signal = this.nextSignal
      },
      canHandleAuthentication: () => false,
      handleAuthentication: () => Promise.reject(new Error('not supported'))
    }
    this.http = new HttpClient('openai-certificates-action', [withSignal], {
      socketTimeout: options.timeoutSeconds * 1000,
      allowRedirects: false,
      keepAlive: true
    })
    if (options.clientTls) {
      // @actions/http-client has no option for a client certificate; its agent (which also
      // carries the runner's proxy settings) takes one in its TLS options, as it takes
      // rejectUnauthorized for ignoreSslError.
      const agent = this.http.getAgent(options.baseUrl) as HttpsAgent
      Object.assign(agent.options, { cert: options.clientTls.cert, key: options.clientTls.key })
    }
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)))
  }

  dispose(): void {
    this.http.dispose()
  }

  /** Every certificate in the organization, following `has_more` / `after`. */
  listAll(): Promise<RemoteCertificate[]> {
    return this.listPages('/organization/certificates', 'list the organization certificates', toRemote)
  }

  /**
   * Every project of the organization, archived ones included (`include_archived=true`): a
   * certificate can stay active in an archived project.
   */
  listProjects(): Promise<RemoteProject[]> {
    return this.listPages('/organization/projects', 'list the projects of the organization', toProject, {
      query: '&include_archived=true',
      noun: 'projects',
      bound: PROJECT_BOUND,
      why: 'far more than any organization holds'
    })
  }

  /** Every certificate as one project sees it (`active` at project scope). */
  listProject(projectId: string): Promise<RemoteCertificate[]> {
    return this.listPages(
      `/organization/projects/${encodeURIComponent(projectId)}/certificates`,
      `list the certificates of project ${projectId}`,
      toRemote
    )
  }

  /**
   * Follows the cursor while `has_more`, bounded: a cursor seen before (A→B→A), a certificate
   * listed twice, or more pages or certificates than an organization can hold stop it with an
   * error rather than loop forever.
   */
  private async listPages<T extends { id: string }>(
    path: string,
    what: string,
    parse: (value: unknown) => T,
    {
      query: extra = '',
      noun = 'certificates',
      bound = LIST_BOUND,
      why = `though an organization holds at most ${CERTIFICATE_CAP} certificates`
    } = {}
  ): Promise<T[]> {
    const all: T[] = []
    const ids = new Set<string>()
    const cursors = new Set<string>()
    let after: string | null = null
    for (let pages = 1; ; pages++) {
      const query: string = `?limit=100${extra}${after ? `&after=${encodeURIComponent(after)}` : ''}`
      const page = await this.send('GET', `${path}${query}`, undefined, what, isPageOf(parse))
      const items = page.data.map(parse)
      let next: string | null = null
      if (page.has_more) {
        next = typeof page.last_id === 'string' && page.last_id !== '' ? page.last_id : (items.at(-1)?.id ?? null)
        if (!next) {
          throw new ApiError(
            `The OpenAI API said more ${noun} follow but gave no cursor to ask for them, while trying to ${what}: try again later.`
          )
        }
        if (next === after || cursors.has(next)) {
          throw new ApiError(
            `The OpenAI API's listing went round in a circle (cursor ${next} came back after ${pages} pages) while trying to ${what}: stopped rather than follow it forever; try again later.`
          )
        }
        cursors.add(next)
      }
      for (const item of items) {
        if (ids.has(item.id)) {
          throw new ApiError(
            `The OpenAI API listed ${noun === 'projects' ? 'project' : 'certificate'} ${item.id} twice while trying to ${what}: a listing that repeats itself cannot be trusted; try again later.`
          )
        }
        ids.add(item.id)
        all.push(item)
      }
      if (all.length > bound || (next && pages >= bound)) {
        throw new ApiError(
          `The OpenAI API listed more than ${bound} ${all.length > bound ? noun : 'pages'} while trying to ${what}, ${why}: stopped rather than trust an endless listing; try again later.`
        )
      }
      if (!next) return all
      after = next
    }
  }

  /**
   * The PEM of one certificate, as the API sent it (any whitespace), or undefined when the
   * certificate is gone (404: deleted since it was listed). An answer without content is a failed
   * attempt, retried; after the retries it is an error that names the certificate.
   */
  async getContent(id: string): Promise<string | undefined> {
    try {
      const cert = await this.send(
        'GET',
        `/organization/certificates/${encodeURIComponent(id)}?include%5B%5D=content`,
        undefined,
        `read certificate ${id}`,
        hasContent(id)
      )
      return cert.certificate_details.content
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return undefined
      throw error
    }
  }

  /**
   * One certificate by id, without its content (not subject to a listing's lag); undefined when
   * the organization holds no such certificate (404).
   */
  async get(id: string): Promise<RemoteCertificate | undefined> {
    try {
      const cert = await this.send(
        'GET',
        `/organization/certificates/${encodeURIComponent(id)}`,
        undefined,
        `read certificate ${id}`,
        isCertificate
      )
      return toRemote(cert)
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return undefined
      throw error
    }
  }

  /** Uploads one certificate. Not retried on an ambiguous failure: it may have been stored. */
  async upload(pem: string, name: string): Promise<RemoteCertificate> {
    const cert = await this.send(
      'POST',
      '/organization/certificates',
      { certificate: pem, name },
      `upload certificate '${name}'`,
      isCertificate
    )
    return toRemote(cert)
  }

  /** Renames a certificate: the same name however often it is sent, so it is retried. */
  async rename(id: string, name: string): Promise<void> {
    await this.send(
      'POST',
      `/organization/certificates/${encodeURIComponent(id)}`,
      { name },
      `rename certificate ${id}`,
      isCertificate,
      true
    )
  }

  /** Deletes a certificate; one already gone (a retried delete that had worked) counts as deleted. */
  async delete(id: string): Promise<void> {
    try {
      await this.send(
        'DELETE',
        `/organization/certificates/${encodeURIComponent(id)}`,
        undefined,
        `delete certificate ${id}`,
        isObject,
        true
      )
    } catch (error) {
      if (
        error instanceof ApiError &&
        error.status === 404 &&
        this.calls.filter((c) => c === `DELETE /organization/certificates/${encodeURIComponent(id)}`).length > 1
      )
        return
      throw error
    }
  }

  /**
   * Activates or deactivates at most 10 certificates, for the organization or for one project.
   * The API makes these calls atomic and idempotent, so they are retried.
   */
  async setActive(ids: readonly string[], active: boolean, projectId?: string): Promise<Map<string, boolean>> {
    const scope = projectId
      ? `/organization/projects/${encodeURIComponent(projectId)}/certificates`
      : '/organization/certificates'
    const verb = active ? 'activate' : 'deactivate'
    const where = projectId ? `in project ${projectId}` : 'for the organization'
    const answer = await this.send(
      'POST',
      `${scope}/${verb}`,
      { certificate_ids: ids },
      `${verb} ${ids.join(', ')} ${where}`,
      isActivation,
      true
    )
    return new Map(answer.data.map((item) => [item.id, item.active]))
  }

  /**
   * One call, retried when that is safe: a failure of an `idempotent` call (a read, or a write
   * that leaves the same state however often it is made) is retried after connection errors,
   * timeouts, cut or unreadable answers, 408, 409, 429 and 5xx; any other write only after 429.
   * Every wait is the server's (`Retry-After`) when it gave one. Once the run is cancelled, no
   * write is started. A failure carries the server's requested wait and whether a write may have
   * been carried out (`ambiguous`).
   */
  private async send<T>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body: unknown,
    what: string,
    isExpected: (value: unknown) => value is T,
    idempotent = method === 'GET'
  ): Promise<T> {
    const url = `${this.options.baseUrl}${path}`
    const route = `${method} ${path.split('?')[0]}`
    for (let attempt = 1; ; attempt++) {
      if (method !== 'GET' && cancellation.signal) throw new CancelledError(cancellation.signal)
      const last = attempt > this.options.maxRetries
      let status: number | undefined
      let headers: IncomingHttpHeaders = {}
      let failure: ApiError
      let retryable: boolean
      let cut = false
      this.calls.push(route)
      try {
        const answer = await this.exchange(method, url, body)
        status = answer.status
        headers = answer.headers
        if (status >= 200 && status < 300) {
          let parsed: unknown
          let reason = 'not the JSON it should be'
          try {
            parsed = JSON.parse(answer.text)
            if (isExpected(parsed)) return parsed
          } catch (error) {
            if (error instanceof UnexpectedAnswer) reason = error.message
          }
          failure = new ApiError(
            `The OpenAI API answered an unexpected body while trying to ${what} (status ${status}, ${reason}).`,
            status
          )
          retryable = idempotent
        } else {
          failure = describeFailure(what, status, answer.text)
          const should = headers['x-should-retry']
          retryable = should === 'true' ? true : should === 'false' ? false : RETRYABLE_STATUS(status)
          // A write refused by rate limiting was not carried out; any other failed write may have been.
          if (!idempotent && status !== 429) retryable = false
        }
      } catch (error) {
        status = error instanceof NoCompleteAnswer ? error.status : undefined
        cut = status !== undefined
        failure = cut
          ? new ApiError(
              `The OpenAI API's answer was cut short while trying to ${what} (status ${status}: ${messageOf(error)}).`
            )
          : new ApiError(`Could not reach the OpenAI API at ${new URL(url).origin} to ${what}: ${messageOf(error)}.`)
        retryable = idempotent
      }
      failure.retryAfterMs = requestedWaitMs(headers)
      failure.ambiguous =
        method !== 'GET' &&
        (failure.status === undefined ||
          failure.status < 300 ||
          failure.status === 408 ||
          failure.status === 409 ||
          failure.status >= 500)
      if (!retryable || last) throw failure
      if (method !== 'GET' && cancellation.signal) throw failure
      const wait = retryDelayMs(attempt, headers)
      const said = status === undefined ? 'failed (no answer)' : cut ? `${status}, answer cut short` : status
      this.options.log(
        `${route} ${said}; retry ${attempt} of ${this.options.maxRetries} in ${(wait / 1000).toFixed(1)} s`
      )
      await this.sleep(wait)
    }
  }

  /**
   * One attempt, headers and body within `timeoutSeconds`: http-client's own socket timeout is
   * only an idle timeout (a trickling body never trips it), and its `readBody()` never settles
   * when the connection closes part way. Anything short of a complete answer in time rejects.
   */
  private exchange(
    method: string,
    url: string,
    body: unknown
  ): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
    const seconds = this.options.timeoutSeconds
    const controller = new AbortController()
    return new Promise((resolve, reject) => {
      let message: IncomingMessage | undefined
      let settled = false
      const fail = (reason: string): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        controller.abort()
        message?.destroy()
        reject(new NoCompleteAnswer(reason, message?.statusCode))
      }
      const timer = setTimeout(
        () => fail(message ? `the answer was not complete within ${seconds} s` : `no answer within ${seconds} s`),
        seconds * 1000
      )
      this.nextSignal = controller.signal
      let pending
      try {
        pending = this.http.request(method, url, body === undefined ? null : JSON.stringify(body), {
          authorization: `Bearer ${this.options.adminKey}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' })
        })
      } finally {
        this.nextSignal = undefined
      }
      pending.then(
        (response) => {
          message = response.message
          if (settled) return void message.destroy()
          const chunks: Buffer[] = []
          message.on('data', (chunk: Buffer) => chunks.push(chunk))
          message.on('end', () => {
            if (settled) return
            settled = true
            clearTimeout(timer)
            resolve({
              status: message!.statusCode ?? 0,
              headers: message!.headers,
              text: Buffer.concat(chunks).toString('utf8')
            })
          })
          message.on('error', (error) => fail(`the connection failed during the answer (${error.message})`))
          message.on('close', () => fail('the connection closed before the answer was complete'))
        },
        (error: unknown) => fail(messageOf(error))
      )
    })
  }
}
