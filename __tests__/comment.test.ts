// comment-on-pr: one sticky report comment per pull request, through a fake GitHub API on loopback.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DAY, makeCa } from '../tools/certs.mjs'
import { runAction } from '../tools/run-action.mjs'
import { commands, workspace } from './helpers.js'

interface Comment {
  id: number
  body: string
}

let server: Server
let api: string
let comments: Comment[]
let requests: { method: string; url: string; authorization?: string }[]
let refuseWrites: boolean

beforeEach(async () => {
  comments = [{ id: 1, body: 'Looks good to me' }]
  requests = []
  refuseWrites = false
  server = createServer(async (req: IncomingMessage, res) => {
    let text = ''
    for await (const chunk of req) text += chunk
    requests.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization })
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (refuseWrites && req.method !== 'GET') return send(403, { message: 'Resource not accessible by integration' })
    if (req.method === 'GET' && req.url!.startsWith('/repos/acme/certs/issues/7/comments')) return send(200, comments)
    if (req.method === 'POST' && req.url === '/repos/acme/certs/issues/7/comments') {
      const comment = { id: comments.length + 100, body: JSON.parse(text).body as string }
      comments.push(comment)
      return send(201, comment)
    }
    const update = /^\/repos\/acme\/certs\/issues\/comments\/(\d+)$/.exec(req.url!)
    if (req.method === 'PATCH' && update) {
      const comment = comments.find((c) => c.id === Number(update[1]))!
      comment.body = JSON.parse(text).body
      return send(200, comment)
    }
    send(404, { message: 'Not Found' })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterEach(() => new Promise((resolve) => server.close(resolve)))

async function pullRequestRun(root: string, commentOnPr: string, event = 'pull_request', label = '') {
  const eventPath = join(root, `event-${Math.random()}.json`)
  await writeFile(
    eventPath,
    JSON.stringify({ pull_request: { number: 7 }, repository: { name: 'certs', owner: { login: 'acme' } } })
  )
  return runAction({
    workspace: root,
    inputs: { files: 'certs/*.pem', mode: 'validate', 'comment-on-pr': commentOnPr, label },
    env: {
      GITHUB_EVENT_NAME: event,
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_REPOSITORY: 'acme/certs',
      GITHUB_API_URL: api,
      GITHUB_TOKEN: 'ghs_token_for_tests'
    }
  })
}

const ours = () => comments.filter((c) => c.body.includes('<!-- openai-certificates-action -->'))

describe('comment-on-pr', () => {
  it('comments the report once, then updates the same comment on the next push', async () => {
    const root = await workspace({ 'certs/ca.pem': (await makeCa({ ca: false, cn: 'Leaf' })).pem })
    const first = await pullRequestRun(root, 'true')
    expect(first.code).toBe(1)
    expect(ours()).toHaveLength(1)
    expect(ours()[0].body).toContain('| ❌ | CN=Leaf | `certs/ca.pem:1` |')
    expect(ours()[0].body).toContain('`not-ca`')
    expect(requests.every((r) => r.authorization === 'token ghs_token_for_tests')).toBe(true)
    expect(first.stdout).toContain('::add-mask::ghs_token_for_tests')

    await writeFile(join(root, 'certs', 'ca.pem'), (await makeCa({ keyUsage: 64 /* cRLSign only */, cn: 'Root' })).pem)
    const second = await pullRequestRun(root, 'true')
    expect(second.code).toBe(1)
    expect(ours()).toHaveLength(1)
    expect(ours()[0].body).toContain('`key-usage`')
    expect(ours()[0].body).not.toContain('`not-ca`')
    expect(requests.filter((r) => r.method === 'PATCH')).toHaveLength(1)

    // Fixed: the comment is brought up to date rather than left showing old errors.
    await writeFile(join(root, 'certs', 'ca.pem'), (await makeCa({ cn: 'Root' })).pem)
    const third = await pullRequestRun(root, 'true')
    expect(third.code).toBe(0)
    expect(ours()).toHaveLength(1)
    expect(ours()[0].body).toContain('| ✅ | CN=Root |')
  })

  it('writes no comment when there is nothing to say, unless asked to always', async () => {
    const root = await workspace({ 'certs/ca.pem': (await makeCa()).pem })
    expect((await pullRequestRun(root, 'true')).code).toBe(0)
    expect(requests.map((r) => r.method)).toEqual(['GET'])
    expect(ours()).toHaveLength(0)
    expect((await pullRequestRun(root, 'always')).code).toBe(0)
    expect(ours()).toHaveLength(1)
  })

  it('does nothing outside pull requests', async () => {
    const root = await workspace({ 'certs/ca.pem': (await makeCa({ ca: false })).pem })
    const run = await pullRequestRun(root, 'true', 'push')
    expect(run.code).toBe(1)
    expect(requests).toEqual([])
  })

  it('warns, without failing the run, when the token may not comment (a fork)', async () => {
    refuseWrites = true
    const root = await workspace({ 'certs/ca.pem': (await makeCa()).pem })
    const run = await pullRequestRun(root, 'always')
    expect(run.code).toBe(0)
    expect(commands(run, 'warning').at(-1)!.message).toMatch(
      /^Could not comment on pull request #7: Resource not accessible by integration.*pull-requests: write/
    )
  })

  it('keeps one comment per label, so that the legs of a matrix do not overwrite each other', async () => {
    const root = await workspace({ 'certs/ca.pem': (await makeCa({ ca: false, cn: 'Leaf' })).pem })
    await pullRequestRun(root, 'true', 'pull_request', 'org-a')
    await pullRequestRun(root, 'true', 'pull_request', 'org-b')
    const labelled = (label: string) =>
      comments.filter((c) => c.body.startsWith(`<!-- openai-certificates-action label=${label} -->\n`))
    expect(labelled('org-a')).toHaveLength(1)
    expect(labelled('org-b')).toHaveLength(1)
    expect(labelled('org-a')[0].body).toContain('## OpenAI certificates (org-a): validate')
    expect(labelled('org-b')[0].body).toContain('## OpenAI certificates (org-b): validate')
    expect(ours()).toHaveLength(0)

    // The next push updates each leg's own comment in place.
    await writeFile(
      join(root, 'certs', 'ca.pem'),
      (await makeCa({ cn: 'Root', notAfter: new Date(Date.now() + 10 * DAY) })).pem
    )
    await pullRequestRun(root, 'true', 'pull_request', 'org-b')
    await pullRequestRun(root, 'true', 'pull_request', 'org-a')
    expect(comments).toHaveLength(3)
    const [a, b] = [labelled('org-a')[0], labelled('org-b')[0]]
    expect([a.id, b.id]).toEqual([101, 102])
    for (const comment of [a, b]) {
      expect(comment.body).toContain('`expires-soon`')
      expect(comment.body).not.toContain('`not-ca`')
    }
    expect(requests.filter((r) => r.method === 'PATCH').map((r) => r.url)).toEqual([
      '/repos/acme/certs/issues/comments/102',
      '/repos/acme/certs/issues/comments/101'
    ])
  })
})
