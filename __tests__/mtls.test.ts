// Once a CA is active for the whole organization, Admin API calls need a client certificate too
// (at mtls.api.openai.com). The action sends one from two inputs; here the emulator serves HTTPS
// and refuses requests without a certificate signed by the client CA.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { makeCa, makeLeaf } from '../tools/certs.mjs'
import { type Emulator, startEmulator } from '../tools/emulator.mjs'
import { runAction } from '../tools/run-action.mjs'
import { commands, ids, workspace } from './helpers.js'

let emulator: Emulator
let serverCaFile: string
let client: { pem: string; key: string }
let root: string

beforeAll(async () => {
  const serverCa = await makeCa({ cn: 'Emulator server CA' })
  const server = await makeLeaf(serverCa, { cn: '127.0.0.1', server: true })
  const clientCa = await makeCa({ cn: 'Client CA' })
  client = await makeLeaf(clientCa, { cn: 'release workflow' })
  emulator = await startEmulator({ mtls: { key: server.key, cert: server.pem, clientCa: clientCa.pem } })
  root = await workspace({ 'certs/ca.pem': clientCa.pem })
  serverCaFile = join(root, 'server-ca.crt')
  await writeFile(serverCaFile, serverCa.pem)
})
afterAll(() => emulator.close())

// The runner trusts the emulator's server CA the way a self-hosted runner trusts a private CA.
const publish = (inputs: Record<string, string>) =>
  runAction({
    workspace: root,
    inputs: { files: 'certs/*.pem', 'admin-api-key': emulator.adminKey, 'base-url': emulator.baseUrl, ...inputs },
    env: { NODE_EXTRA_CA_CERTS: serverCaFile }
  })

describe('mutual TLS to the API', () => {
  it('is refused without a client certificate, with the API’s message', async () => {
    const run = await publish({})
    expect(run.code).toBe(1)
    expect(commands(run, 'error').at(-1)!.message).toMatch(
      /^The OpenAI API requires mutual TLS for this organization \(401: This organization requires mutual TLS.*\) while trying to list the organization certificates: set client-certificate and client-key from secrets/
    )
  })

  it('publishes with client-certificate and client-key, and never prints the key', async () => {
    const run = await publish({ 'client-certificate': client.pem, 'client-key': client.key })
    expect(run.code).toBe(0)
    expect(ids(run, 'uploaded-ids')).toEqual([emulator.certificates[0].id])
    const keyLines = client.key.split('\n').filter((l) => l && !l.startsWith('-----'))
    for (const line of keyLines) {
      expect(
        run.stdout
          .split('\n')
          .filter((l) => l.includes(line))
          .every((l) => l.startsWith('::add-mask::'))
      ).toBe(true)
      expect(run.summary + run.stderr + JSON.stringify(run.outputs)).not.toContain(line)
    }
  })

  it('refuses a key that is not the certificate’s before any request', async () => {
    const other = await makeLeaf(await makeCa(), { cn: 'someone else' })
    emulator.requests.length = 0
    const run = await publish({ 'client-certificate': client.pem, 'client-key': other.key })
    expect(run.code).toBe(1)
    expect(commands(run, 'error').at(-1)!.message).toBe(
      "Input 'client-key' is not the private key of 'client-certificate': pass the key the certificate was issued for."
    )
    expect(emulator.requests).toEqual([])
  })
})
