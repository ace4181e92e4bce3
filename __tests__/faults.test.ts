// The bundled action against an emulator that misbehaves: it must finish the job or stop cleanly,
// never leave a duplicate behind, never pass the cap, and a rerun must complete the job.
import type { ChildProcess } from 'node:child_process'
import { createServer } from 'node:http'
import { writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { makeCa, makeLeaf } from '../tools/certs.mjs'
import type { Emulator } from '../tools/emulator.mjs'
import { type ActionRun, runAction } from '../tools/run-action.mjs'
import { commands, emulators, ids, publishTo, results, visibleLog, workspace } from './helpers.js'

let emulator: Emulator
const startEmulator = emulators()

const LIST = '/organization/certificates'
const envelope = (message: string): string =>
  JSON.stringify({ error: { message, type: 'server_error', param: null, code: null } })

async function setUp(count = 1, latencyMs = 0) {
  emulator = await startEmulator({ latencyMs })
  const made = await Promise.all(Array.from({ length: count }, (_, i) => makeCa({ cn: `CA ${i}` })))
  const files = Object.fromEntries(made.map((m, i) => [`certs/ca-${i}.pem`, m.pem]))
  return { made, root: await workspace(files) }
}

const posts = () => emulator.requests.filter((r) => r.method === 'POST')
const distinctContents = () => new Set(emulator.certificates.map((c) => c.content)).size

describe('faults', () => {
  it('waits as Retry-After says when listing is rate limited, then publishes', async () => {
    const { root } = await setUp()
    emulator.faults.push({ method: 'GET', path: LIST, status: 429, headers: { 'retry-after': '1' } })
    const run = await publishTo(emulator, root)
    expect(run.code).toBe(0)
    expect(visibleLog(run)).toContain('GET /organization/certificates 429; retry 1 of 4 in 1.0 s')
    expect(emulator.certificates).toHaveLength(1)
  })

  it.each([
    ['a 503', { status: 503 }],
    ['a connection reset', { action: 'reset' as const }],
    ['a success whose body is not JSON', { status: 200, body: '<html>OK</html>' }]
  ])('after %s on upload, looks before uploading again, and ends with one copy', async (_, fault) => {
    const { root } = await setUp()
    emulator.faults.push({ method: 'POST', path: LIST, ...fault })
    const run = await publishTo(emulator, root, { 'timeout-seconds': '4' })
    expect(run.code).toBe(0)
    expect(emulator.certificates).toHaveLength(1)
    expect(posts()).toHaveLength(2)
    expect(visibleLog(run)).toMatch(/'ca-0' was not stored; upload retry 1 of 4/)
    expect(ids(run, 'uploaded-ids')).toEqual([emulator.certificates[0].id])
  })

  it.each([
    ['then drops the connection', 'store-then-reset' as const],
    ['then answers 500', 'store-then-fail' as const]
  ])('adopts the copy when the API stores the upload %s, never uploading it twice', async (_, action) => {
    const { root } = await setUp()
    emulator.faults.push({ method: 'POST', path: LIST, action })
    const run = await publishTo(emulator, root)
    expect(run.code).toBe(0)
    expect(emulator.certificates).toHaveLength(1)
    expect(posts()).toHaveLength(1)
    const [stored] = emulator.certificates
    expect(ids(run, 'uploaded-ids')).toEqual([stored.id])
    expect(results(run)[0]).toMatchObject({ status: 'uploaded', id: stored.id })
    expect(visibleLog(run)).toContain(
      `'ca-0' is in the organization as ${stored.id}, stored by this upload before its answer was lost`
    )
  })

  it('treats a body that is not JSON as a failed attempt and retries the read', async () => {
    const { made, root } = await setUp()
    const stored = emulator.seed(made[0].pem, 'old')
    emulator.faults.push({
      method: 'GET',
      path: `${LIST}/${stored.id}`,
      status: 200,
      body: '<html>502 Bad Gateway</html>'
    })
    const run = await publishTo(emulator, root)
    expect(run.code).toBe(0)
    expect(ids(run, 'existing-ids')).toEqual([stored.id])
    expect(posts()).toEqual([])
    expect(visibleLog(run)).toContain(`GET ${LIST}/${stored.id} 200; retry 1 of 4`)
  })

  it('gives up on an answer that never comes after timeout-seconds, and retries', async () => {
    const { root } = await setUp()
    emulator.faults.push({ method: 'GET', path: LIST, action: 'hang' })
    const run = await publishTo(emulator, root, { 'timeout-seconds': '1' })
    expect(run.code).toBe(0)
    expect(visibleLog(run)).toMatch(/GET \/organization\/certificates failed \(no answer\); retry 1 of 4/)
    expect(emulator.certificates).toHaveLength(1)
  })

  it('stops cleanly when the API stays down, reports what it did, and a rerun completes the job without duplicates', async () => {
    const { made, root } = await setUp(3)
    emulator.faults.push({
      method: 'POST',
      path: LIST,
      skip: 1,
      status: 500,
      times: Infinity,
      body: envelope('The server had an error.')
    })
    const failed = await publishTo(emulator, root, { 'max-retries': '1', 'timeout-seconds': '4' })
    expect(failed.code).toBe(1)
    expect(emulator.certificates).toHaveLength(1)
    const message = commands(failed, 'error').at(-1)!.message
    // Uploads run side by side: which one the API let through is a matter of timing.
    expect(message).toMatch(
      /^The OpenAI API failed to upload certificate 'ca-\d' \(500: The server had an error\.\)\. 1 of 3 new certificates were uploaded; 2 were not\. Run the action again when the API is back: it skips the certificates already in the organization, so nothing is uploaded twice\.$/
    )
    expect(ids(failed, 'uploaded-ids')).toEqual([emulator.certificates[0].id])
    expect(
      results(failed)
        .map((r) => r.status)
        .sort()
    ).toEqual(['not-uploaded', 'not-uploaded', 'uploaded'])
    expect(failed.summary).toMatch(/2 not-uploaded/)
    expect(failed.summary).toContain(`> ${message}`)
    expect(failed.stdout + failed.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/)

    emulator.faults.length = 0
    const rerun = await publishTo(emulator, root)
    expect(rerun.code).toBe(0)
    expect(emulator.certificates).toHaveLength(3)
    expect(distinctContents()).toBe(3)
    expect(ids(rerun, 'certificate-ids')).toHaveLength(3)
    expect(ids(rerun, 'existing-ids')).toEqual(ids(failed, 'uploaded-ids'))
    expect(made).toHaveLength(3)
  })

  const capRefusal = (times: number) => ({
    method: 'POST',
    path: LIST,
    status: 400,
    times,
    body: JSON.stringify({
      error: {
        message: 'The organization already has the maximum of 50 certificates.',
        type: 'invalid_request_error',
        param: null,
        code: 'certificate_limit_exceeded'
      }
    })
  })

  it('after a cap refusal, lists again and uploads when a slot is free after all', async () => {
    const { root } = await setUp()
    emulator.faults.push(capRefusal(1))
    const run = await publishTo(emulator, root, { 'max-retries': '1' })
    expect(run.code).toBe(0)
    expect(posts()).toHaveLength(2)
    expect(emulator.certificates).toHaveLength(1)
    expect(ids(run, 'uploaded-ids')).toEqual([emulator.certificates[0].id])
  })

  it('says so when the cap keeps refusing, after a bounded number of looks', async () => {
    const { root } = await setUp()
    emulator.faults.push(capRefusal(Infinity))
    const run = await publishTo(emulator, root, { 'max-retries': '1' })
    expect(run.code).toBe(1)
    expect(commands(run, 'error').at(-1)!.message).toMatch(
      /^The organization reached its certificate cap during this run \(another workflow or person may have uploaded at the same time\)/
    )
    // The first attempt, and one after each of the 3 looks that found a slot free.
    expect(posts()).toHaveLength(4)
  })

  it('a 429 on upload that outlasts max-retries is a rate limit, not the cap: it says so and how to get past it', async () => {
    const { root } = await setUp()
    emulator.faults.push({
      method: 'POST',
      path: LIST,
      status: 429,
      times: Infinity,
      headers: { 'retry-after': '0' },
      body: JSON.stringify({
        error: {
          message: 'Rate limit reached for requests per min (RPM): Limit 5, Used 5, Requested 1.',
          type: 'requests',
          param: null,
          code: 'rate_limit_exceeded'
        }
      })
    })
    const run = await publishTo(emulator, root, { 'max-retries': '1' })
    expect(run.code).toBe(1)
    expect(emulator.certificates).toHaveLength(0)
    // The first attempt and one retry: no cap look-ups, which a cap refusal would make.
    expect(posts()).toHaveLength(2)
    const message = commands(run, 'error').at(-1)!.message
    expect(message).not.toMatch(/certificate cap during this run/)
    expect(message).toMatch(/Rate limit reached for requests per min/)
    expect(message).toMatch(/That is a rate limit, not the certificate cap, and it outlasted 1 retry/)
    expect(message).toMatch(/Run the action again in a few minutes, or set a larger 'max-retries'/)
    expect(results(run)[0]).toMatchObject({ status: 'not-uploaded', id: null })
  })

  it('refuses a timeout-seconds past 600, which would overflow the timers into instant timeouts', async () => {
    const { root } = await setUp()
    const run = await publishTo(emulator, root, { 'timeout-seconds': '2147484' })
    expect(run.code).toBe(1)
    expect(commands(run, 'error').map((e) => e.message)).toEqual([
      "Input 'timeout-seconds' is '2147484': use a whole number from 1 to 600."
    ])
    expect(emulator.requests).toEqual([])
    expect(run.outputs['uploaded-ids']).toBe('[]')
  })

  it('does not retry what cannot succeed: 401, 403, 404, 400', async () => {
    const { root } = await setUp()
    emulator.faults.push({
      method: 'GET',
      path: LIST,
      status: 403,
      body: JSON.stringify({
        error: { message: 'Missing scope.', type: 'invalid_request_error', param: null, code: null }
      })
    })
    const run = await publishTo(emulator, root)
    expect(run.code).toBe(1)
    expect(emulator.requests).toHaveLength(1)
    expect(commands(run, 'error').at(-1)!.message).toMatch(/^The OpenAI API denied access \(403: Missing scope\.\)/)
  })

  it('does not follow a redirect, so the admin key never reaches another host', async () => {
    const { root } = await setUp()
    const seen: (string | undefined)[] = []
    const elsewhere = createServer((req, res) => {
      seen.push(req.headers.authorization)
      res.end('{}')
    })
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve))
    try {
      const target = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/steal`
      emulator.faults.push({ method: 'GET', path: LIST, status: 307, headers: { location: target }, body: '' })
      const run = await publishTo(emulator, root)
      expect(run.code).toBe(1)
      expect(seen).toEqual([])
      expect(commands(run, 'error').at(-1)!.message).toMatch(
        /^The OpenAI API failed to list the organization certificates \(307/
      )
    } finally {
      await new Promise((resolve) => elsewhere.close(resolve))
    }
  })

  describe('answers that trickle, stall or stop after the headers', () => {
    const transport: [string, 'trickle' | 'stall-after-headers' | 'close-after-headers'][] = [
      ['trickles a byte at a time', 'trickle'],
      ['stalls after the headers', 'stall-after-headers'],
      ['closes the connection after the headers', 'close-after-headers']
    ]
    const quick = { 'timeout-seconds': '1', 'max-retries': '1' }

    /** What a user must get from a run that failed: the outputs, the summary, one error line. */
    function expectCleanFailure(run: ActionRun, pattern: RegExp) {
      expect(run.code).toBe(1)
      const errors = commands(run, 'error')
      expect(errors).toHaveLength(1)
      expect(errors[0].message).toMatch(pattern)
      expect(run.outputs.results).toBeDefined()
      expect(run.summary).toContain(errors[0].message)
    }

    it.each(transport)('a listing that %s is a failed attempt within timeout-seconds, retried', async (_, action) => {
      const { root } = await setUp()
      emulator.faults.push({ method: 'GET', path: LIST, action, intervalMs: 200 })
      const run = await publishTo(emulator, root, quick)
      expect(run.code).toBe(0)
      expect(visibleLog(run)).toMatch(/GET \/organization\/certificates 200, answer cut short; retry 1 of 1/)
      expect(emulator.certificates).toHaveLength(1)
    })

    it.each(transport)(
      'a content read that always %s stops the run before any upload, naming the certificate',
      async (_, action) => {
        const { made, root } = await setUp()
        const stored = emulator.seed(made[0].pem, 'old')
        emulator.faults.push({ method: 'GET', path: `${LIST}/${stored.id}`, action, intervalMs: 200, times: Infinity })
        const run = await publishTo(emulator, root, quick)
        expectCleanFailure(
          run,
          new RegExp(
            `^The OpenAI API's answer was cut short while trying to read certificate ${stored.id} \\(status 200: `
          )
        )
        expect(posts()).toEqual([])
        expect(emulator.certificates).toHaveLength(1)
      }
    )

    it.each(transport)(
      'an upload whose answer %s may have been stored: it is looked for, never uploaded twice',
      async (_, action) => {
        const { root } = await setUp()
        emulator.faults.push({ method: 'POST', path: LIST, action, intervalMs: 200 })
        const run = await publishTo(emulator, root, quick)
        expect(run.code).toBe(0)
        expect(posts()).toHaveLength(1)
        expect(emulator.certificates).toHaveLength(1)
        expect(ids(run, 'uploaded-ids')).toEqual([emulator.certificates[0].id])
        expect(visibleLog(run)).toMatch(/Upload of 'ca-0' got no clear answer \(The OpenAI API's answer was cut short/)
      }
    )

    it('a listing whose connection always closes after the headers ends the run with outputs, not exit code 13', async () => {
      const { root } = await setUp()
      emulator.faults.push({ method: 'GET', path: LIST, action: 'close-after-headers', times: Infinity })
      const run = await publishTo(emulator, root, quick)
      expectCleanFailure(
        run,
        /^The OpenAI API's answer was cut short while trying to list the organization certificates/
      )
      expect(run.outputs['uploaded-ids']).toBe('[]')
      expect(posts()).toEqual([])
    })
  })

  describe('Retry-After, on every retryable status', () => {
    it('an upload answered 409 with Retry-After waits that long before it is sent again', async () => {
      const { root } = await setUp()
      emulator.faults.push({ method: 'POST', path: LIST, status: 409, headers: { 'retry-after': '2' } })
      const run = await publishTo(emulator, root, { 'timeout-seconds': '4' })
      expect(run.code).toBe(0)
      expect(visibleLog(run)).toContain("'ca-0' was not stored; upload retry 1 of 4 in 2.0 s.")
      const [first, second] = posts()
      expect(second.at - first.at).toBeGreaterThanOrEqual(1900)
      expect(emulator.certificates).toHaveLength(1)
    })

    it('an activation answered 409 with retry-after-ms waits that long', async () => {
      const { made, root } = await setUp()
      const path = `${LIST}/activate`
      emulator.faults.push({ method: 'POST', path, status: 409, headers: { 'retry-after-ms': '1500' } })
      // Activating for the organization needs a client certificate that verifies after the run.
      const client = await makeLeaf(made[0], { cn: 'release workflow' })
      const run = await publishTo(emulator, root, {
        activate: 'true',
        'client-certificate': client.pem,
        'client-key': client.key
      })
      expect(run.code).toBe(0)
      expect(visibleLog(run)).toContain(`POST ${path} 409; retry 1 of 4 in 1.5 s`)
      const [first, second] = emulator.requests.filter((r) => r.path === path)
      expect(second.at - first.at).toBeGreaterThanOrEqual(1400)
      expect(emulator.certificates[0].active).toBe(true)
    })
  })

  describe('cancellation', () => {
    /** Sends `signal` to the action once the emulator has seen its first upload. */
    const cancelAtFirstUpload = (signal: NodeJS.Signals) => (child: ChildProcess) => {
      const timer = setInterval(() => {
        if (posts().length > 0) {
          clearInterval(timer)
          child.kill(signal)
        }
      }, 10)
      child.on('exit', () => clearInterval(timer))
    }

    it.each(['SIGTERM', 'SIGINT'] as const)(
      'on %s, starts no new write, lets those under way finish, and writes outputs that match the store',
      async (signal) => {
        const { root } = await setUp(7, 700)
        const run = await runAction({
          workspace: root,
          inputs: { files: 'certs/*.pem', 'admin-api-key': emulator.adminKey, 'base-url': emulator.baseUrl },
          onSpawn: cancelAtFirstUpload(signal)
        })
        expect(run.code).toBe(1)
        const errors = commands(run, 'error')
        expect(errors).toHaveLength(1)
        expect(errors[0].message).toMatch(
          new RegExp(`^Cancelled \\(${signal}\\): no change was started after the signal; run the action again`)
        )
        expect(run.summary).toContain(errors[0].message)
        // Not every upload was started; each one started was finished, and the outputs say which.
        expect(posts().length).toBeLessThan(7)
        expect(emulator.certificates).toHaveLength(posts().length)
        expect(ids(run, 'uploaded-ids').sort()).toEqual(emulator.certificates.map((c) => c.id).sort())
        expect(results(run).filter((r) => r.status === 'uploaded')).toHaveLength(posts().length)

        emulator.faults.length = 0
        const rerun = await publishTo(emulator, root)
        expect(rerun.code).toBe(0)
        expect(emulator.certificates).toHaveLength(7)
        expect(distinctContents()).toBe(7)
      }
    )

    it('stops waiting for a write that never finishes a few seconds after the signal, with outputs', async () => {
      const { root } = await setUp()
      emulator.faults.push({ method: 'POST', path: LIST, action: 'hang' })
      const run = await runAction({
        workspace: root,
        inputs: { files: 'certs/*.pem', 'admin-api-key': emulator.adminKey, 'base-url': emulator.baseUrl },
        onSpawn: cancelAtFirstUpload('SIGTERM')
      })
      expect(run.code).toBe(1)
      expect(commands(run, 'error').map((e) => e.message)).toEqual([
        expect.stringMatching(
          /^Cancelled \(SIGTERM\): changes under way did not finish within 5 s, so they may or may not have been made/
        )
      ])
      // The upload was sent and never answered: whether it was stored is not known, and the outputs say so.
      expect(results(run)[0]).toMatchObject({ status: 'unknown', id: null })
      expect(run.outputs['has-changes']).toBe('true')
      expect(run.summary).toContain('Cancelled (SIGTERM)')
    })

    it('an upload stored after the run gave up waiting for it is reported unknown, never not made', async () => {
      emulator = await startEmulator({ storeDelayMs: 6500 })
      const root = await workspace({ 'certs/ca-0.pem': (await makeCa({ cn: 'slow' })).pem })
      const run = await runAction({
        workspace: root,
        inputs: { files: 'certs/*.pem', 'admin-api-key': emulator.adminKey, 'base-url': emulator.baseUrl },
        onSpawn: cancelAtFirstUpload('SIGTERM')
      })
      expect(run.code).toBe(1)
      expect(results(run)[0].status).toBe('unknown')
      expect(run.outputs['has-changes']).toBe('true')
      expect(ids(run, 'uploaded-ids')).toEqual([])
      // The organization did store it: 'not-uploaded' would have been a lie.
      await new Promise((resolve) => setTimeout(resolve, 3000))
      expect(emulator.certificates).toHaveLength(1)
    })
  })

  it('an unhandled rejection part way (a library bug) still ends with outputs, a summary and one error line', async () => {
    const { root } = await setUp(1, 1000)
    // Preloaded into the action's process: a promise that rejects unhandled while the run waits on the API.
    const preload = join(root, 'reject.mjs')
    await writeFile(preload, "setTimeout(() => Promise.reject(new Error('boom')), 300)\n")
    const run = await runAction({
      workspace: root,
      inputs: { files: 'certs/*.pem', 'admin-api-key': emulator.adminKey, 'base-url': emulator.baseUrl },
      env: { NODE_OPTIONS: `--import=${pathToFileURL(preload).href}` }
    })
    expect(run.code).toBe(1)
    expect(commands(run, 'error').map((e) => e.message)).toEqual([
      'Unexpected error: boom. Please report it with the debug log (re-run with debug logging on).'
    ])
    expect(run.outputs.results).toBeDefined()
    expect(ids(run, 'uploaded-ids')).toEqual([])
    expect(emulator.certificates).toEqual([])
    expect(run.summary).toContain('Unexpected error: boom')
  })
})
