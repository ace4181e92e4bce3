// Runners behind a corporate proxy set HTTPS_PROXY and NO_PROXY; @actions/http-client follows
// them. Here the bundled action talks to the HTTPS emulator through a small CONNECT proxy on
// 127.0.0.1. The base URL's host name resolves nowhere but in the proxy (the HTTP client never
// proxies loopback addresses, whatever the variables say), so a request that bypassed the proxy
// could not reach the emulator at all; the emulator's CA is trusted with NODE_EXTRA_CA_CERTS.
import { createServer, type Server } from 'node:http'
import { connect, type Socket } from 'node:net'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { makeCa, makeLeaf } from '../tools/certs.mjs'
import { type Emulator, startEmulator } from '../tools/emulator.mjs'
import { runAction } from '../tools/run-action.mjs'
import { commands, ids, workspace } from './helpers.js'

const HOST = 'api.emulator.test'

interface Tunnel {
  target: string
  /** Everything the action sent through the tunnel, as the proxy saw it. */
  sent: Buffer[]
}

let emulator: Emulator
let proxy: Server
let proxyUrl: string
let tunnels: Tunnel[] = []
let plainRequests: string[] = []
let root: string
let client: { pem: string; key: string }
let baseUrl: string
const sockets = new Set<Socket>()

beforeAll(async () => {
  const serverCa = await makeCa({ cn: 'Emulator server CA' })
  const server = await makeLeaf(serverCa, { cn: HOST, server: true, dns: HOST })
  const clientCa = await makeCa({ cn: 'Client CA' })
  client = await makeLeaf(clientCa, { cn: 'release workflow' })
  emulator = await startEmulator({ mtls: { key: server.key, cert: server.pem } })
  // Active for the organization: every request needs the client certificate, through the tunnel too.
  emulator.seed(clientCa.pem, 'client-ca').active = true
  baseUrl = emulator.baseUrl.replace('127.0.0.1', HOST)

  // The proxy: CONNECT to HOST goes to the emulator on 127.0.0.1; anything else is refused.
  proxy = createServer((req, res) => {
    plainRequests.push(`${req.method} ${req.url}`)
    res.writeHead(502).end()
  })
  proxy.on('connect', (req, clientSocket: Socket, head: Buffer) => {
    sockets.add(clientSocket)
    clientSocket.on('close', () => sockets.delete(clientSocket))
    const [host, port] = (req.url ?? '').split(':')
    const tunnel: Tunnel = { target: req.url ?? '', sent: [head] }
    tunnels.push(tunnel)
    if (host !== HOST) return void clientSocket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n')
    const upstream = connect(Number(port), '127.0.0.1', () => {
      clientSocket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      clientSocket.on('data', (chunk: Buffer) => tunnel.sent.push(chunk))
      clientSocket.pipe(upstream).pipe(clientSocket)
    })
    sockets.add(upstream)
    upstream.on('close', () => sockets.delete(upstream))
    upstream.on('error', () => clientSocket.destroy())
    clientSocket.on('error', () => upstream.destroy())
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  const address = proxy.address() as { port: number }
  proxyUrl = `http://127.0.0.1:${address.port}`

  root = await workspace({ 'certs/ca.pem': (await makeCa({ cn: 'Proxied CA' })).pem })
  await writeFile(join(root, 'server-ca.crt'), serverCa.pem)
})

afterAll(async () => {
  for (const socket of sockets) socket.destroy()
  await new Promise((resolve) => proxy.close(resolve))
  await emulator.close()
  await rm(root, { recursive: true, force: true })
})

beforeEach(() => {
  tunnels = []
  plainRequests = []
  emulator.requests.length = 0
})

const publish = (env: Record<string, string>, inputs: Record<string, string> = {}) =>
  runAction({
    workspace: root,
    inputs: {
      files: 'certs/*.pem',
      'admin-api-key': emulator.adminKey,
      'base-url': baseUrl,
      'client-certificate': client.pem,
      'client-key': client.key,
      ...inputs
    },
    env: { NODE_EXTRA_CA_CERTS: join(root, 'server-ca.crt'), ...env }
  })

describe('HTTPS_PROXY', () => {
  it('carries every request through the proxy, and the proxy never sees the admin key', async () => {
    const run = await publish({ HTTPS_PROXY: proxyUrl })
    expect(commands(run, 'error')).toEqual([])
    expect(run.code).toBe(0)
    expect(ids(run, 'uploaded-ids')).toHaveLength(1)
    // The emulator answered every call of a publish (list, upload, read back) ...
    expect(emulator.requests.map((r) => r.method)).toContain('POST')
    // ... and every connection to it was a tunnel through the proxy, to the base URL's host.
    expect(tunnels.length).toBeGreaterThan(0)
    expect(new Set(tunnels.map((t) => t.target))).toEqual(new Set([`${HOST}:${new URL(baseUrl).port}`]))
    expect(plainRequests).toEqual([])
    // TLS runs end to end inside the tunnel: the key and the certificate's PEM are not readable.
    const seen = Buffer.concat(tunnels.flatMap((t) => t.sent)).toString('latin1')
    expect(seen).not.toContain(emulator.adminKey)
    expect(seen).not.toContain('Authorization')
  })

  it('is honoured in lower case too (https_proxy)', async () => {
    const run = await publish({ https_proxy: proxyUrl })
    expect(run.code).toBe(0)
    expect(tunnels.length).toBeGreaterThan(0)
  })
})

describe('NO_PROXY', () => {
  it('sends a host it lists directly, bypassing the proxy (here: to a name only the proxy knows, so it fails)', async () => {
    const run = await publish(
      { HTTPS_PROXY: proxyUrl, NO_PROXY: `localhost,.emulator.test` },
      { 'max-retries': '0', 'timeout-seconds': '5' }
    )
    expect(run.code).toBe(1)
    expect(tunnels).toEqual([])
    expect(emulator.requests).toEqual([])
    // The action's one error line names the host it could not resolve.
    expect(commands(run, 'error').at(-1)!.message).toMatch(/api\.emulator\.test.*(ENOTFOUND|EAI_AGAIN)/)
  })

  it('leaves other hosts to the proxy', async () => {
    const run = await publish({ HTTPS_PROXY: proxyUrl, NO_PROXY: 'localhost,.internal.example,other.test' })
    expect(run.code).toBe(0)
    expect(tunnels.length).toBeGreaterThan(0)
  })
})
