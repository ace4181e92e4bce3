// The admin key goes only where it must, nothing leaves the process unredacted, and nothing outside
// the workspace is read: each promise tried as an attacker would, through the bundled action.
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createNetServer, type Server as NetServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { mkdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { makeCa, makeLeaf, privateKeyPem } from '../tools/certs.mjs'
import { type Emulator, startEmulator } from '../tools/emulator.mjs'
import { type ActionRun, runAction } from '../tools/run-action.mjs'
import { commands, ids, validate, visibleLog, workspace } from './helpers.js'

const close = (server: Server | NetServer): Promise<void> => new Promise((resolve) => server.close(() => resolve()))
const portOf = (server: Server | NetServer): number => (server.address() as AddressInfo).port

/**
 * A preload for the action's process that resolves every `*.attacker.example` name to 127.0.0.1,
 * as an attacker's DNS would resolve it to their server: a name that reaches a listener here, so
 * that nothing leaves the machine. Loaded through NODE_OPTIONS; /etc/hosts is left alone.
 */
const RESOLVER = `const dns = require('node:dns')
const original = dns.lookup
dns.lookup = function (hostname, options, callback) {
  if (typeof options === 'function') { callback = options; options = {} }
  if (typeof options === 'number') options = { family: options }
  if (/\\.attacker\\.example$/i.test(hostname)) {
    return process.nextTick(() =>
      options && options.all ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(null, '127.0.0.1', 4))
  }
  return original.call(this, hostname, options, callback)
}
`

let resolverEnv: Record<string, string>
/** A listener that only counts connections: the attacker's server. */
let listener: NetServer
let connections: number

beforeAll(async () => {
  // A workspace, so that it is removed with the others after the file's tests.
  const dir = await workspace({ 'resolve.cjs': RESOLVER })
  resolverEnv = { NODE_OPTIONS: `--require ${join(dir, 'resolve.cjs')}` }
  listener = createNetServer((socket) => {
    connections++
    socket.destroy()
  })
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
})
afterAll(() => close(listener))
beforeEach(() => {
  connections = 0
})

const lastError = (run: ActionRun): string => commands(run, 'error').at(-1)?.message ?? ''

describe('where the admin key may go', () => {
  const adminKey = 'sk-admin-0000000000000000000000000000'

  it.each(['127.attacker.example', 'localhost.attacker.example', '127.0.0.1.attacker.example'])(
    'refuses plain http to %s, a name that resolves to a local listener, before any request',
    async (host) => {
      const root = await workspace({ 'certs/ca.pem': (await makeCa()).pem })
      const run = await runAction({
        workspace: root,
        inputs: {
          files: 'certs/*.pem',
          mode: 'plan',
          'admin-api-key': adminKey,
          'base-url': `http://${host}:${portOf(listener)}/v1`
        },
        env: resolverEnv
      })
      expect(run.code).toBe(1)
      expect(connections).toBe(0)
      expect(lastError(run)).toBe(
        `Input 'base-url' 'http://${host}:${portOf(listener)}' must use https:// (plain http is allowed only on loopback: 127.0.0.0/8, [::1] or localhost, for an emulator), so that the admin key is never sent in clear.`
      )
      // Refused while reading the inputs: not even the files were looked at.
      expect(run.stdout).not.toContain('Found 1 file')
    }
  )

  it('does reach that listener when the name is given with https, so the refusal above is what kept the key', async () => {
    const root = await workspace({ 'certs/ca.pem': (await makeCa()).pem })
    const run = await runAction({
      workspace: root,
      inputs: {
        files: 'certs/*.pem',
        mode: 'plan',
        'admin-api-key': adminKey,
        'base-url': `https://127.attacker.example:${portOf(listener)}/v1`,
        'max-retries': '0'
      },
      env: resolverEnv
    })
    expect(run.code).toBe(1)
    expect(connections).toBeGreaterThan(0)
    expect(lastError(run)).toMatch(/^Could not reach the OpenAI API at https:\/\/127\.attacker\.example:\d+/)
  })

  it('never sends the key to an OPENAI_BASE_URL of another host, and says to use base-url', async () => {
    const root = await workspace({ 'certs/ca.pem': (await makeCa()).pem })
    const gateway = `https://llm-gateway.attacker.example:${portOf(listener)}/v1`
    const run = await runAction({
      workspace: root,
      inputs: { files: 'certs/*.pem', mode: 'plan', 'admin-api-key': adminKey },
      env: { ...resolverEnv, OPENAI_BASE_URL: gateway }
    })
    expect(run.code).toBe(1)
    expect(connections).toBe(0)
    expect(lastError(run)).toBe(
      `OPENAI_BASE_URL (from the environment) is 'https://llm-gateway.attacker.example:${portOf(listener)}', which is not an OpenAI API host: the admin key is sent to a host from the environment only when it is *.api.openai.com or loopback. To send it there, give that URL in the 'base-url' input; to use OpenAI, set 'base-url: https://api.openai.com/v1'.`
    )

    // The same host named in the input itself is the user's explicit choice: it is used.
    const chosen = await runAction({
      workspace: root,
      inputs: {
        files: 'certs/*.pem',
        mode: 'plan',
        'admin-api-key': adminKey,
        'base-url': gateway,
        'max-retries': '0'
      },
      env: { ...resolverEnv, OPENAI_BASE_URL: 'https://elsewhere.attacker.example/v1' }
    })
    expect(chosen.stdout).toContain(`OpenAI API: ${gateway} (from the 'base-url' input).`)
    expect(connections).toBeGreaterThan(0)
  })

  it.each(['not a url', 'http://llm-gateway.attacker.example/v1', 'https://llm-gateway.attacker.example/v1'])(
    'validates with OPENAI_BASE_URL=%s, which it never reads',
    async (value) => {
      const root = await workspace({ 'certs/ca.pem': (await makeCa()).pem })
      const run = await validate(root, {}, { ...resolverEnv, OPENAI_BASE_URL: value })
      expect(run.code).toBe(0)
      expect(connections).toBe(0)
      expect(run.stdout).not.toContain('OpenAI API:')
    }
  )

  it('uses an OPENAI_BASE_URL on loopback (an emulator) and logs where the base URL came from', async () => {
    const emulator = await startEmulator()
    try {
      const root = await workspace({ 'certs/ca.pem': (await makeCa()).pem })
      const run = await runAction({
        workspace: root,
        inputs: { files: 'certs/*.pem', mode: 'plan', 'admin-api-key': emulator.adminKey },
        env: { OPENAI_BASE_URL: emulator.baseUrl }
      })
      expect(run.code).toBe(0)
      expect(run.stdout).toContain(`OpenAI API: ${emulator.baseUrl} (from OPENAI_BASE_URL).`)
      expect(emulator.requests.map((r) => r.method)).toEqual(['GET'])
    } finally {
      await emulator.close()
    }
  })
})

describe('nothing that leaves the process carries a secret', () => {
  const adminKey = `sk-admin-${randomBytes(30).toString('base64url')}`
  const githubToken = `ghs_${randomBytes(27).toString('hex')}`
  let clientKey: string
  let clientCert: string
  let ca: Awaited<ReturnType<typeof makeCa>>
  let openai: Server
  let github: Server
  let commentBodies: string[]
  /** What the fake OpenAI server was sent: proof that the secrets did reach it. */
  let authorizations: string[]
  /** How the fake OpenAI server answers a refused call: a JSON envelope or a proxy's plain text. */
  let refusal: 'json' | 'text'

  const listen = async (handler: (req: IncomingMessage, body: string, res: ServerResponse) => void) => {
    const server = createServer(async (req, res) => {
      let body = ''
      for await (const chunk of req) body += chunk
      handler(req, body, res)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return server
  }
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  }

  beforeAll(async () => {
    ca = await makeCa({ cn: 'Echoed CA' })
    const client = await makeLeaf(await makeCa({ cn: 'Client CA' }), { cn: 'release workflow' })
    clientKey = client.key
    clientCert = client.pem
    // An OpenAI look-alike that echoes what it is sent: the Authorization header in a certificate
    // name, then headers and body (and, for good measure, the client key) in its refusals.
    openai = await listen((req, body, res) => {
      const authorization = req.headers.authorization ?? ''
      authorizations.push(authorization)
      const echo = `headers: ${JSON.stringify(req.headers)}; body: ${body}; url: ${encodeURIComponent(authorization)}; client key: ${clientKey}`
      const item = {
        object: 'organization.certificate',
        id: 'cert_echo',
        name: `uploaded with ${authorization}`,
        created_at: 1,
        active: false,
        certificate_details: {
          valid_at: Math.floor(ca.notBefore.getTime() / 1000),
          expires_at: Math.floor(ca.notAfter.getTime() / 1000)
        }
      }
      if (req.method === 'GET' && req.url!.startsWith('/v1/organization/certificates?'))
        return json(res, 200, { object: 'list', data: [item], first_id: item.id, last_id: item.id, has_more: false })
      if (req.method === 'GET' && req.url!.startsWith('/v1/organization/certificates/cert_echo'))
        return json(res, 200, { ...item, certificate_details: { ...item.certificate_details, content: ca.pem } })
      if (refusal === 'text') {
        // A proxy's page: the key falls across the 200 characters the action keeps of a text body.
        res.writeHead(403, { 'content-type': 'text/plain' })
        return res.end(`${'proxy denied the request. '.repeat(7).slice(0, 170)} Authorization: ${authorization}`)
      }
      json(res, 403, {
        error: { message: `Forbidden. ${echo}`, type: 'invalid_request_error', param: null, code: null }
      })
    })
    // A GitHub API that records the comment, then refuses it, echoing the token it was sent.
    github = await listen((req, body, res) => {
      if (req.method === 'GET') return json(res, 200, [])
      if (req.method === 'POST') commentBodies.push(JSON.parse(body).body as string)
      json(res, 403, { message: `Resource not accessible by integration (${req.headers.authorization})` })
    })
  })
  afterAll(async () => {
    await close(openai)
    await close(github)
  })
  beforeEach(() => {
    commentBodies = []
    authorizations = []
  })

  async function pullRequestRun(mode: string): Promise<ActionRun> {
    const root = await workspace({ 'certs/ca.pem': ca.pem })
    const eventPath = join(root, `event-${Math.random()}.json`)
    await writeFile(
      eventPath,
      JSON.stringify({ pull_request: { number: 7 }, repository: { name: 'certs', owner: { login: 'acme' } } })
    )
    return runAction({
      workspace: root,
      inputs: {
        files: 'certs/*.pem',
        mode,
        'admin-api-key': adminKey,
        'base-url': `http://127.0.0.1:${portOf(openai)}/v1`,
        'client-certificate': clientCert,
        'client-key': clientKey,
        'sync-names': 'true',
        'comment-on-pr': 'always',
        'max-retries': '0'
      },
      env: {
        GITHUB_EVENT_NAME: 'pull_request',
        GITHUB_EVENT_PATH: eventPath,
        GITHUB_REPOSITORY: 'acme/certs',
        GITHUB_API_URL: `http://127.0.0.1:${portOf(github)}`,
        GITHUB_TOKEN: githubToken
      }
    })
  }

  /** Every text the run let out, except the runner's own mask commands. */
  const everything = (run: ActionRun): string =>
    [
      run.stdout
        .split('\n')
        .filter((line) => !line.startsWith('::add-mask::'))
        .join('\n'),
      run.stderr,
      run.summary,
      JSON.stringify(run.outputs),
      ...commentBodies
    ].join('\n')

  /** Asserts that no 12 characters in a row of any secret appear, in any of the forms echoed. */
  function expectNoTrace(text: string): void {
    const keyLines = clientKey.split('\n').filter((l) => l && !l.startsWith('-----'))
    for (const secret of [adminKey.slice('sk-admin-'.length), githubToken.slice(4), ...keyLines]) {
      for (let at = 0; at + 12 <= secret.length; at++) {
        const piece = secret.slice(at, at + 12)
        for (const form of [piece, encodeURIComponent(piece), JSON.stringify(piece).slice(1, -1)])
          expect(text).not.toContain(form)
      }
    }
    expect(text).not.toContain('PRIVATE KEY')
  }

  it('publish: an echoed Authorization header, body and client key reach no log, summary, output or comment', async () => {
    refusal = 'json'
    const run = await pullRequestRun('publish')
    expect(run.code).toBe(1)
    // The server did get the key, and echoed it: in a name the plan shows, and in its refusal.
    expect(authorizations).toContain(`Bearer ${adminKey}`)
    expect(run.stdout).toContain("Will rename 'ca' (cert_echo) from 'uploaded with Bearer ***'.")
    expect(lastError(run)).toMatch(
      /^The OpenAI API denied access \(403: Forbidden\. headers: .*"authorization":"Bearer \*\*\*".*\) while trying to rename certificate cert_echo: the admin key needs the permission api\.mtls\.write/
    )
    expect(JSON.parse(run.outputs.changes)).toEqual([
      expect.objectContaining({ action: 'rename', from: 'uploaded with Bearer ***', done: false })
    ])
    // The comment was written (and refused with the token echoed): its body was redacted too.
    expect(commentBodies).toHaveLength(1)
    expect(commentBodies[0]).toContain('denied access (403')
    expect(commands(run, 'warning').at(-1)!.message).toMatch(
      /^Could not comment on pull request #7: Resource not accessible by integration \(token \*\*\*\)/
    )
    expectNoTrace(everything(run))
  })

  it('plan: a proxy that echoes the header in plain text, cut mid-key, leaves no trace either', async () => {
    refusal = 'text'
    const run = await pullRequestRun('publish')
    expect(run.code).toBe(1)
    expect(lastError(run)).toMatch(/^The OpenAI API denied access \(403: proxy denied.* Authorization: Bearer \*\*\*\)/)
    expectNoTrace(everything(run))

    refusal = 'json'
    const planned = await pullRequestRun('plan')
    expect(planned.code).toBe(0)
    expect(JSON.parse(planned.outputs.changes)[0].from).toBe('uploaded with Bearer ***')
    expect(commentBodies.at(-1)).toContain('uploaded with Bearer ***')
    expectNoTrace(everything(planned))
  })
})

describe('files are read by their real path, inside the workspace only', () => {
  let emulator: Emulator
  beforeAll(async () => {
    emulator = await startEmulator()
  })
  afterAll(() => emulator.close())
  beforeEach(() => {
    emulator.requests.length = 0
    emulator.certificates.length = 0
  })

  const publish = (root: string, files = 'certs/**') =>
    runAction({
      workspace: root,
      inputs: { files, 'admin-api-key': emulator.adminKey, 'base-url': emulator.baseUrl }
    })

  /** A workspace with one CA inside, and a folder beside it holding a CA that must not be read. */
  async function setUp() {
    const outer = await workspace({ 'private/outside.pem': (await makeCa({ cn: 'Outside' })).pem })
    const root = join(outer, 'repo')
    await mkdir(join(root, 'certs'), { recursive: true })
    await writeFile(join(root, 'certs', 'inside.pem'), (await makeCa({ cn: 'Inside' })).pem)
    return { outer, root }
  }

  it('refuses a link to a file outside the workspace, and uploads nothing', async () => {
    const { outer, root } = await setUp()
    await symlink(join(outer, 'private', 'outside.pem'), join(root, 'certs', 'link.pem'))
    const run = await publish(root)
    expect(run.code).toBe(1)
    expect(lastError(run)).toMatch(
      /^certs\/link\.pem is a symbolic link that leads outside the workspace: a symbolic link may not lead out of the repository\./
    )
    expect(emulator.requests).toEqual([])
    expect(emulator.certificates).toEqual([])
  })

  it('refuses a link to a folder outside the workspace, whose files the glob would match', async () => {
    const { outer, root } = await setUp()
    await symlink(join(outer, 'private'), join(root, 'certs', 'team'))
    const run = await publish(root)
    expect(run.code).toBe(1)
    expect(lastError(run)).toMatch(/^certs\/team is a symbolic link that leads outside the workspace: /)
    expect(emulator.requests).toEqual([])
    expect(emulator.certificates).toEqual([])
  })

  it('accepts links that stay inside, and a workspace that is itself reached through a link', async () => {
    const { outer, root } = await setUp()
    await mkdir(join(root, 'shared'))
    await writeFile(join(root, 'shared', 'partner.pem'), (await makeCa({ cn: 'Partner' })).pem)
    await symlink(join(root, 'shared', 'partner.pem'), join(root, 'certs', 'partner.pem'))
    await symlink(root, join(outer, 'workspace-link'))
    const run = await publish(join(outer, 'workspace-link'), 'certs/*.pem')
    expect(run.code).toBe(0)
    expect(ids(run, 'uploaded-ids')).toHaveLength(2)
    expect(emulator.certificates.map((c) => c.name).sort()).toEqual(['inside', 'partner'])
  })
})

describe('a refused key and a missing permission are named', () => {
  let emulator: Emulator
  beforeAll(async () => {
    emulator = await startEmulator()
  })
  afterAll(() => emulator.close())
  beforeEach(() => {
    emulator.requests.length = 0
    emulator.certificates.length = 0
  })

  const forbidden = JSON.stringify({
    error: {
      message: 'You do not have access to this resource.',
      type: 'invalid_request_error',
      param: null,
      code: null
    }
  })
  const run = async (mode: string, adminKey = emulator.adminKey) =>
    runAction({
      workspace: await workspace({ 'certs/ca.pem': (await makeCa()).pem }),
      inputs: { files: 'certs/*.pem', mode, 'admin-api-key': adminKey, 'base-url': emulator.baseUrl }
    })

  it('403 on listing: plan needs api.mtls.read', async () => {
    emulator.faults.push({ method: 'GET', path: '/organization/certificates', status: 403, body: forbidden })
    const planned = await run('plan')
    expect(planned.code).toBe(1)
    expect(lastError(planned)).toBe(
      "The OpenAI API denied access (403: You do not have access to this resource.) while trying to list the organization certificates: the admin key needs the permission api.mtls.read (list and read certificates), which plan needs. Give the key's owner a role with it in the organization's settings, or use an admin key that has it."
    )
  })

  it('403 on upload: publish needs api.mtls.write', async () => {
    emulator.faults.push({ method: 'POST', path: '/organization/certificates', status: 403, body: forbidden })
    const published = await run('publish')
    expect(published.code).toBe(1)
    expect(lastError(published)).toMatch(
      /^The OpenAI API denied access \(403: You do not have access to this resource\.\) while trying to upload certificate 'ca': the admin key needs the permission api\.mtls\.write \(upload, rename, activate, deactivate and delete certificates\), which publish needs\./
    )
    expect(emulator.certificates).toEqual([])
  })

  it('401: the key was refused', async () => {
    const refused = await run('plan', 'sk-admin-revoked-0000000000000000')
    expect(refused.code).toBe(1)
    expect(lastError(refused)).toMatch(
      /^The OpenAI API refused the admin key \(401: Incorrect API key provided.*\) while trying to list the organization certificates: the key was not accepted\./
    )
  })
})

describe('a private key pasted into client-certificate', () => {
  it('is refused as what it is, and masked: no line of it reaches the log, the summary or the outputs', async () => {
    const ca = await makeCa({ cn: 'Client' })
    const client = { pem: ca.pem, key: await privateKeyPem(ca.keys) }
    const keyLines = client.key.split('\n').filter((line) => line !== '' && !line.startsWith('-----'))
    const root = await workspace({ 'certs/ca.pem': (await makeCa({ cn: 'CA' })).pem })
    for (const mode of ['validate', 'publish']) {
      const run = await runAction({
        workspace: root,
        inputs: {
          mode,
          files: 'certs/*.pem',
          'admin-api-key': 'sk-admin-test',
          'base-url': 'http://127.0.0.1:9',
          'client-certificate': `${client.pem}${client.key}`
        }
      })
      expect(run.code).toBe(1)
      expect(lastError(run)).toBe(
        "Input 'client-certificate' holds a private key as well as the certificate: give the certificate alone there and the key in 'client-key', from a secret (the key was masked in this log; if the input is not a secret, treat the key as exposed)."
      )
      const everything = visibleLog(run) + run.summary + JSON.stringify(run.outputs)
      for (const line of keyLines) {
        expect(run.stdout).toContain(`::add-mask::${line}\n`)
        expect(everything).not.toContain(line)
      }
    }
  })
})

describe('max-retries', () => {
  it('is bounded: 1000 is refused before any request, 10 is the most', async () => {
    const root = await workspace({ 'certs/ca.pem': (await makeCa({ cn: 'CA' })).pem })
    const run = await runAction({
      workspace: root,
      inputs: {
        files: 'certs/*.pem',
        'admin-api-key': 'sk-admin-test',
        'base-url': 'http://127.0.0.1:9',
        'max-retries': '1000'
      }
    })
    expect(run.code).toBe(1)
    expect(lastError(run)).toBe("Input 'max-retries' is '1000': use a whole number from 0 to 10.")
  })
})
