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
 * This file starts the server and logs requests; tools/emulator/ holds the rest: the organization
 * and its rules (store.mjs), the API's paths (routes.mjs), scripted faults (faults.mjs) and mutual
 * TLS (mtls.mjs).
 *
 * Run it alone with `npm run emulator`: it prints its base URL and an admin key.
 */
import { createServer } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import { pathToFileURL } from 'node:url'
import { sendFaulty, takeFault } from './emulator/faults.mjs'
import { mtlsRefusal } from './emulator/mtls.mjs'
import { createRoutes } from './emulator/routes.mjs'
import { HttpError, createStore } from './emulator/store.mjs'

export { clientCertificateProblem } from './emulator/mtls.mjs'

export const EMULATOR_ADMIN_KEY = 'sk-admin-emulator-0000000000000000'

/** @typedef {import('./emulator/store.mjs').StoredCertificate} StoredCertificate */
/** @typedef {import('./emulator/store.mjs').StoredProject} StoredProject */
/** @typedef {import('./emulator/faults.mjs').Fault} Fault */

/**
 * @typedef {object} LoggedRequest
 * @property {string} method
 * @property {string} path        without /v1
 * @property {Record<string, string>} query
 * @property {unknown} body
 * @property {number} at          when it arrived (ms since the epoch)
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

/**
 * Starts an emulator. Everything it was asked is in `requests`; its state is in `certificates`.
 * @param {EmulatorOptions} [options]
 */
export async function startEmulator(options = {}) {
  const adminKey = options.adminKey ?? EMULATOR_ADMIN_KEY
  /** @type {LoggedRequest[]} */
  const requests = []
  /** @type {Fault[]} */
  const faults = []
  /** @type {Set<import('node:net').Socket>} */
  const sockets = new Set()
  const org = await createStore(options)
  const { certificates, projects, now } = org
  const route = createRoutes(org, options)
  const stats = { inFlight: 0, maxInFlight: 0 }

  const lib = options.mtls ? await import('reflect-metadata').then(() => import('@peculiar/x509')) : undefined

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
      const fault = takeFault(faults, method, path)

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

      const refusal = mtlsRefusal(lib, certificates, now, /** @type {import('node:tls').TLSSocket} */ (req.socket))
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
    seed: org.seed,
    projects,
    addProject: org.addProject,
    /**
     * Empties the organization, the request log and the faults, for a test that reuses one
     * emulator across cases; listings then lag as `listLag` says (none when not given).
     * @param {{ listLag?: EmulatorOptions['listLag'] }} [next]
     */
    reset: (next = {}) => {
      org.empty(next.listLag)
      requests.length = 0
      faults.length = 0
      stats.maxInFlight = stats.inFlight
    },
    setListLag: org.setListLag,
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
