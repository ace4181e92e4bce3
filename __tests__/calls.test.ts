// API round trips are what users wait for: each count here is the lower bound the issue sets,
// read off the emulator's request log. m in the organization, n local (k new), c remote
// certificates sharing a local validity window, a activations that must change.
import { DAY, makeCa, makeLeaf } from '../tools/certs.mjs'
import type { Emulator } from '../tools/emulator.mjs'
import { emulators, publishTo, workspace } from './helpers.js'

let emulator: Emulator
const startEmulator = emulators()

/** Certificates with validity windows of their own, so that c is known exactly. */
// Counted back from one fixed instant: counting from Date.now() would let two windows meet.
const BASE = Math.floor(Date.now() / 1000) * 1000 - DAY
let made = 0
const distinctCa = () => makeCa({ cn: `CA ${made}`, notBefore: new Date(BASE - made++ * 1000) })

function counts() {
  const kinds = emulator.requests.map((r) => {
    if (r.method === 'GET' && r.path === '/organization/certificates') return 'list'
    if (r.method === 'GET' && r.path === '/organization/projects') return 'projects'
    if (r.method === 'GET' && /^\/organization\/projects\/[^/]+\/certificates$/.test(r.path)) return 'project list'
    if (r.method === 'GET') return 'get'
    if (r.method === 'DELETE') return 'delete'
    if (r.method === 'POST' && r.path === '/organization/certificates') return 'upload'
    if (r.path.endsWith('/activate') || r.path.endsWith('/deactivate')) return 'activation'
    return `${r.method} ${r.path}`
  })
  const tally: Record<string, number> = {}
  for (const kind of kinds) tally[kind] = (tally[kind] ?? 0) + 1
  return tally
}

async function scenario({
  remoteOnly,
  present,
  fresh,
  latencyMs = 0
}: {
  remoteOnly: number
  present: number
  fresh: number
  latencyMs?: number
}) {
  emulator = await startEmulator({ maxPageSize: 100, latencyMs })
  for (let i = 0; i < remoteOnly; i++) emulator.seed((await distinctCa()).pem)
  const files: Record<string, string> = {}
  for (let i = 0; i < present; i++) {
    const ca = await distinctCa()
    emulator.seed(ca.pem)
    files[`certs/present-${i}.pem`] = ca.pem
  }
  let client: { pem: string; key: string } | undefined
  for (let i = 0; i < fresh; i++) {
    const ca = await distinctCa()
    files[`certs/new-${i}.pem`] = ca.pem
    client ??= await makeLeaf(ca, { cn: 'release workflow' })
  }
  const root = await workspace(files)
  // Activating for the organization needs a client certificate that verifies after the run.
  clientInputs = client ? { 'client-certificate': client.pem, 'client-key': client.key } : {}
  return root
}
let clientInputs: Record<string, string> = {}

describe('API calls', () => {
  it('no-op rerun, 50 in the organization, 16 local all present: 1 list + 16 reads in one round, no write', async () => {
    const root = await scenario({ remoteOnly: 34, present: 16, fresh: 0, latencyMs: 100 })
    const result = await publishTo(emulator, root)
    expect(result.code).toBe(0)
    expect(counts()).toEqual({ list: 1, get: 16 })
    // 2 round trips: the list, then the 16 reads side by side.
    expect(emulator.stats.maxInFlight).toBe(16)
    // A progress line per round of reads.
    expect(result.stdout.match(/^Fetched \d+\/16 certificates\.$/gm)).toEqual(['Fetched 16/16 certificates.'])
  })

  it('more look-alikes than one round: 1 list + c reads, 16 at a time, a progress line per round', async () => {
    const root = await scenario({ remoteOnly: 0, present: 20, fresh: 0 })
    const result = await publishTo(emulator, root)
    expect(result.code).toBe(0)
    expect(counts()).toEqual({ list: 1, get: 20 })
    expect(result.stdout.match(/^Fetched \d+\/20 certificates\.$/gm)).toEqual([
      'Fetched 16/20 certificates.',
      'Fetched 20/20 certificates.'
    ])
  })

  it('publish 10 new into an organization of 40: 1 list + 10 uploads + 1 list to read back, no read', async () => {
    const root = await scenario({ remoteOnly: 40, present: 0, fresh: 10 })
    expect((await publishTo(emulator, root)).code).toBe(0)
    expect(counts()).toEqual({ list: 2, upload: 10 })
  })

  it('the same with activate: + 1 activation call for the 10', async () => {
    const root = await scenario({ remoteOnly: 40, present: 0, fresh: 10 })
    expect((await publishTo(emulator, root, { activate: 'true', ...clientInputs })).code).toBe(0)
    expect(counts()).toEqual({ list: 2, upload: 10, activation: 1 })
  })

  it('a mixed run: 2 lists + c reads + k uploads + ceil(a/10) activations', async () => {
    const root = await scenario({ remoteOnly: 20, present: 15, fresh: 8 })
    expect((await publishTo(emulator, root, { activate: 'true', ...clientInputs })).code).toBe(0)
    expect(counts()).toEqual({ list: 2, get: 15, upload: 8, activation: 3 })
  })

  it('plan reads exactly what publish reads, and validate makes no call', async () => {
    const root = await scenario({ remoteOnly: 5, present: 3, fresh: 2 })
    expect((await publishTo(emulator, root, { mode: 'plan' })).code).toBe(0)
    expect(counts()).toEqual({ list: 1, get: 3 })
    emulator.requests.length = 0
    expect((await publishTo(emulator, root, { mode: 'validate' })).code).toBe(0)
    expect(counts()).toEqual({})
  })

  /** 5 retired under 'team-*', 35 of another team active, p projects (every third archived), 2 new. */
  async function retiring(p: number) {
    emulator = await startEmulator({ maxPageSize: 100 })
    for (let i = 0; i < p; i++) emulator.addProject({ id: `proj_${i}`, archived: i % 3 === 2 })
    for (let i = 0; i < 5; i++) emulator.seed((await distinctCa()).pem, `team-old-${i}`)
    for (let i = 0; i < 35; i++) emulator.seed((await distinctCa()).pem, `other-${i}`).active = true
    return workspace({ 'certs/team-a.pem': (await distinctCa()).pem, 'certs/team-b.pem': (await distinctCa()).pem })
  }

  it('prune-retired: + ceil(p/100) project listings + p project certificate lists, and nothing more while nothing is deleted', async () => {
    const root = await retiring(20)
    expect((await publishTo(emulator, root, { 'managed-names': 'team-*', 'prune-retired': 'as-needed' })).code).toBe(0)
    expect(counts()).toEqual({ list: 2, projects: 1, 'project list': 20, upload: 2 })
  })

  it('prune-retired: all: + 1 listing at the last moment before the d deletes', async () => {
    const root = await retiring(3)
    expect((await publishTo(emulator, root, { 'managed-names': 'team-*', 'prune-retired': 'all' })).code).toBe(0)
    expect(counts()).toEqual({ list: 3, projects: 1, 'project list': 3, delete: 5, upload: 2 })
  })

  it('exclusive scoped by managed-names lists no project: matching none of the others, the calls of activate alone', async () => {
    const root = await scenario({ remoteOnly: 20, present: 15, fresh: 8 })
    expect(
      (
        await publishTo(emulator, root, {
          activate: 'true',
          exclusive: 'true',
          'managed-names': 'nothing-*',
          ...clientInputs
        })
      ).code
    ).toBe(0)
    expect(counts()).toEqual({ list: 2, get: 15, upload: 8, activation: 3 })
  })
})
