import type { IncomingHttpHeaders } from 'node:http'
import type { Agent as HttpsAgent } from 'node:https'
import { HttpClient } from '@actions/http-client'
import { ApiError, messageOf } from './errors.js'

/** A certificate as the organization listing describes it (the listing never carries the PEM). */
export interface RemoteCertificate {
  id: string
  name: string | null
  createdAt: number
  active?: boolean
  /** notBefore and notAfter, unix seconds. */
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
  name: string | null
  created_at: number
  active?: boolean
  certificate_details?: { valid_at?: number; expires_at?: number; content?: string }
}

interface WireList {
  data: WireCertificate[]
  has_more: boolean
  last_id: string | null
}

const RETRYABLE_STATUS = (status: number): boolean =>
  status === 408 || status === 409 || status === 429 || status >= 500

/** How long to wait before retry `attempt` (1-based): the server's word, else backoff with jitter. */
export function retryDelayMs(attempt: number, headers: IncomingHttpHeaders, now = Date.now()): number {
  const ms = Number(headers['retry-after-ms'])
  if (headers['retry-after-ms'] !== undefined && Number.isFinite(ms) && ms >= 0 && ms <= 60_000) return ms
  const after = headers['retry-after']
  if (typeof after === 'string' && after.trim() !== '') {
    const seconds = Number(after)
    const wait = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(after) - now
    if (Number.isFinite(wait) && wait >= 0 && wait <= 60_000) return wait
  }
  const backoff = Math.min(500 * 2 ** (attempt - 1), 8000)
  return backoff * (1 - Math.random() * 0.25)
}

function toRemote(wire: WireCertificate): RemoteCertificate {
  return {
    id: wire.id,
    name: wire.name ?? null,
    createdAt: wire.created_at,
    active: wire.active,
    validAt: wire.certificate_details?.valid_at,
    expiresAt: wire.certificate_details?.expires_at
  }
}

function isCertificate(value: unknown): value is WireCertificate {
  return typeof value === 'object' && value !== null && typeof (value as WireCertificate).id === 'string'
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
      `The OpenAI API refused the admin key (401: ${message}) while trying to ${what}: check that admin-api-key holds a current admin key (sk-admin-…) of the organization.`,
      status,
      code
    )
  }
  if (status === 403) {
    return new ApiError(
      `The OpenAI API denied access (403: ${message}) while trying to ${what}: the admin key needs permission to manage the organization's certificates.`,
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

  constructor(private readonly options: ApiOptions) {
    this.http = new HttpClient('openai-certificates-action', [], {
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
    return this.listPages('/organization/certificates', 'list the organization certificates')
  }

  /** Every certificate as one project sees it (`active` at project scope). */
  listProject(projectId: string): Promise<RemoteCertificate[]> {
    return this.listPages(
      `/organization/projects/${encodeURIComponent(projectId)}/certificates`,
      `list the certificates of project ${projectId}`
    )
  }

  private async listPages(path: string, what: string): Promise<RemoteCertificate[]> {
    const all: RemoteCertificate[] = []
    let after: string | null = null
    for (;;) {
      const query: string = `?limit=100${after ? `&after=${encodeURIComponent(after)}` : ''}`
      const page = await this.send('GET', `${path}${query}`, undefined, what, isList)
      all.push(...page.data.filter(isCertificate).map(toRemote))
      if (!page.has_more) return all
      const next = page.last_id ?? page.data.at(-1)?.id ?? null
      if (!next || next === after) {
        throw new ApiError(
          `The OpenAI API said more certificates follow but gave no cursor to ask for them, while trying to ${what}: try again later.`
        )
      }
      after = next
    }
  }

  /** The PEM of one certificate, or undefined when the API did not send it. */
  async getContent(id: string): Promise<string | undefined> {
    const cert = await this.send(
      'GET',
      `/organization/certificates/${encodeURIComponent(id)}?include%5B%5D=content`,
      undefined,
      `read certificate ${id}`,
      isCertificate
    )
    return cert.certificate_details?.content
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
   * timeouts, unreadable answers, 408, 409, 429 and 5xx; any other write only after 429.
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
    for (let attempt = 1; ; attempt++) {
      const last = attempt > this.options.maxRetries
      let status: number | undefined
      let headers: IncomingHttpHeaders = {}
      let failure: ApiError
      let retryable: boolean
      this.calls.push(`${method} ${path.split('?')[0]}`)
      try {
        const response = await this.http.request(method, url, body === undefined ? null : JSON.stringify(body), {
          authorization: `Bearer ${this.options.adminKey}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' })
        })
        status = response.message.statusCode ?? 0
        headers = response.message.headers
        const text = await response.readBody()
        if (status >= 200 && status < 300) {
          let parsed: unknown
          try {
            parsed = JSON.parse(text)
          } catch {
            parsed = undefined
          }
          if (isExpected(parsed)) return parsed
          failure = new ApiError(
            `The OpenAI API answered an unexpected body while trying to ${what} (status ${status}, not the JSON it should be).`,
            status
          )
          retryable = idempotent
        } else {
          failure = describeFailure(what, status, text)
          const should = headers['x-should-retry']
          retryable = should === 'true' ? true : should === 'false' ? false : RETRYABLE_STATUS(status)
          // A write refused by rate limiting was not carried out; any other failed write may have been.
          if (!idempotent && status !== 429) retryable = false
        }
      } catch (error) {
        failure = new ApiError(
          `Could not reach the OpenAI API at ${new URL(url).origin} to ${what}: ${messageOf(error)}.`
        )
        retryable = idempotent
      }
      if (!retryable || last) throw failure
      const wait = retryDelayMs(attempt, headers)
      this.options.log(
        `${method} ${path.split('?')[0]} ${status ?? 'failed (no answer)'}; retry ${attempt} of ${this.options.maxRetries} in ${(wait / 1000).toFixed(1)} s`
      )
      await this.sleep(wait)
    }
  }
}
