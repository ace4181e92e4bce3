// The bundled action against an emulator that misbehaves: it must finish the job or stop cleanly,
// never leave a duplicate behind, never pass the cap, and a rerun must complete the job.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { makeCa } from '../tools/certs.mjs'
import { type Emulator, startEmulator } from '../tools/emulator.mjs'
import { runAction } from '../tools/run-action.mjs'
import { commands, ids, results, visibleLog, workspace } from './helpers.js'

let emulator: Emulator
afterEach(async () => emulator?.close())

const LIST = '/organization/certificates'
const envelope = (message: string): string =>
  JSON.stringify({ error: { message, type: 'server_error', param: null, code: null } })

async function setUp(count = 1) {
  emulator = await startEmulator()
  const made = await Promise.all(Array.from({ length: count }, (_, i) => makeCa({ cn: `CA ${i}` })))
  const files = Object.fromEntries(made.map((m, i) => [`certs/ca-${i}.pem`, m.pem]))
  return { made, root: await workspace(files) }
}

const publish = (root: string, inputs: Record<string, string> = {}) =>
  runAction({
    workspace: root,
    inputs: { files: 'certs/*.pem', 'admin-api-key': emulator.adminKey, 'base-url': emulator.baseUrl, ...inputs }
  })

const posts = () => emulator.requests.filter((r) => r.method === 'POST')
const distinctContents = () => new Set(emulator.certificates.map((c) => c.content)).size

describe('faults', () => {
  it('waits as Retry-After says when listing is rate limited, then publishes', async () => {
    const { root } = await setUp()
    emulator.faults.push({ method: 'GET', path: LIST, status: 429, headers: { 'retry-after': '1' } })
    const run = await publish(root)
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
    const run = await publish(root)
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
    const run = await publish(root)
    expect(run.code).toBe(0)
    expect(emulator.certificates).toHaveLength(1)
    expect(posts()).toHaveLength(1)
    const [stored] = emulator.certificates
    expect(ids(run, 'uploaded-ids')).toEqual([stored.id])
    expect(results(run)[0]).toMatchObject({ status: 'uploaded', id: stored.id })
    expect(visibleLog(run)).toContain(`'ca-0' was stored as ${stored.id} before the answer was lost; using it.`)
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
    const run = await publish(root)
    expect(run.code).toBe(0)
    expect(ids(run, 'existing-ids')).toEqual([stored.id])
    expect(posts()).toEqual([])
    expect(visibleLog(run)).toContain(`GET ${LIST}/${stored.id} 200; retry 1 of 4`)
  })

  it('gives up on an answer that never comes after timeout-seconds, and retries', async () => {
    const { root } = await setUp()
    emulator.faults.push({ method: 'GET', path: LIST, action: 'hang' })
    const run = await publish(root, { 'timeout-seconds': '1' })
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
    const failed = await publish(root, { 'max-retries': '1' })
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
    const rerun = await publish(root)
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
    const run = await publish(root, { 'max-retries': '1' })
    expect(run.code).toBe(0)
    expect(posts()).toHaveLength(2)
    expect(emulator.certificates).toHaveLength(1)
    expect(ids(run, 'uploaded-ids')).toEqual([emulator.certificates[0].id])
  })

  it('says so when the cap keeps refusing, after a bounded number of looks', async () => {
    const { root } = await setUp()
    emulator.faults.push(capRefusal(Infinity))
    const run = await publish(root, { 'max-retries': '1' })
    expect(run.code).toBe(1)
    expect(commands(run, 'error').at(-1)!.message).toMatch(
      /^The organization reached its certificate cap during this run \(another workflow or person may have uploaded at the same time\)/
    )
    // The first attempt, and one after each of the 3 looks that found a slot free.
    expect(posts()).toHaveLength(4)
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
    const run = await publish(root)
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
      const run = await publish(root)
      expect(run.code).toBe(1)
      expect(seen).toEqual([])
      expect(commands(run, 'error').at(-1)!.message).toMatch(
        /^The OpenAI API failed to list the organization certificates \(307/
      )
    } finally {
      await new Promise((resolve) => elsewhere.close(resolve))
    }
  })
})
