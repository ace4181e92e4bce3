// @ts-check
/**
 * Scripted faults: what a test pushes on `emulator.faults` to make a request fail, hang, lose its
 * answer or get another one, and how a broken network sends an answer.
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
 * @property {(answer: any, request: import('../emulator.mjs').LoggedRequest) => unknown} [rewrite]
 *   carry the request out, then answer 200 with what this returns instead (a string goes as is)
 * @property {(request: import('../emulator.mjs').LoggedRequest) => unknown} [respond]
 *   answer 200 with what this returns, without carrying the request out (listings that cycle or
 *   never end)
 */

/**
 * The first fault scripted for this request, counted down (and removed once used up), or
 * undefined.
 * @param {Fault[]} faults @param {string} method @param {string} path
 */
export function takeFault(faults, method, path) {
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

/**
 * Sends an answer the way a broken network or proxy does: a byte at a time (`trickle`), or the
 * headers and half the body and then nothing (`stall-after-headers`) or a closed connection
 * (`close-after-headers`). The headers always announce the whole body's length.
 * @param {import('node:http').ServerResponse} res
 * @param {'trickle' | 'stall-after-headers' | 'close-after-headers'} action
 * @param {number} status @param {Record<string, string>} headers @param {string} payload
 * @param {number} intervalMs
 */
export function sendFaulty(res, action, status, headers, payload, intervalMs) {
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
