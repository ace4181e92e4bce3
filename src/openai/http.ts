// The transport: one attempt within its deadline, retries and backoff as the official SDK does
// them, and what a failed answer means, in words a person can act on. It knows no endpoint: the
// caller names what it was trying to do and how to tell an expected answer.
import type { IncomingHttpHeaders, IncomingMessage, RequestOptions } from 'node:http'
import type { Agent as HttpsAgent } from 'node:https'
import { HttpClient } from '@actions/http-client'
import { cancellation } from '../shared/cancel.js'
import { ApiError, CancelledError, messageOf } from '../shared/errors.js'
import { UnexpectedAnswer } from './wire.js'

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
 * Requests to the API over @actions/http-client (which honours the runner's proxy settings). The
 * admin key goes only in the Authorization header, only to the base URL; redirects are not followed.
 */
export class Transport {
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

  /**
   * One call, retried when that is safe: a failure of an `idempotent` call (a read, or a write
   * that leaves the same state however often it is made) is retried after connection errors,
   * timeouts, cut or unreadable answers, 408, 409, 429 and 5xx; any other write only after 429.
   * Every wait is the server's (`Retry-After`) when it gave one. Once the run is cancelled, no
   * write is started. A failure carries the server's requested wait and whether a write may have
   * been carried out (`ambiguous`).
   */
  async send<T>(
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
