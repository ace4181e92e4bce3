// Activation, rotation, renames and pruning, through the bundled action against the emulator.
import { type GeneratedCertificate, makeCa, makeLeaf } from '../tools/certs.mjs'
import type { Emulator } from '../tools/emulator.mjs'
import { commands, emulators, ids, publishTo, results, visibleLog, workspace } from './helpers.js'

let emulator: Emulator
const startEmulator = emulators()

const publish = (root: string, inputs: Record<string, string> = {}) =>
  publishTo(emulator, root, inputs, { organizationClient: true })

/** client-certificate and client-key issued from `ca`: organization-wide activation needs them. */
async function clientOf(ca: GeneratedCertificate) {
  const client = await makeLeaf(ca, { cn: 'release workflow' })
  return { 'client-certificate': client.pem, 'client-key': client.key }
}

const writes = () => emulator.requests.filter((r) => r.method !== 'GET')
const activations = (verb = 'activate') => writes().filter((r) => r.path.endsWith(`/${verb}`))
const idsSent = (r: { body: unknown }) => (r.body as { certificate_ids: string[] }).certificate_ids

async function files(count: number, prefix = 'ca') {
  const made = await Promise.all(Array.from({ length: count }, (_, i) => makeCa({ cn: `${prefix} ${i}` })))
  return {
    made,
    files: Object.fromEntries(made.map((m, i) => [`certs/${prefix}-${String(i).padStart(2, '0')}.pem`, m.pem]))
  }
}

/** Seeds a certificate that has expired since it was uploaded. */
async function seedExpired(name: string, daysAgo: number) {
  const stored = emulator.seed((await makeCa({ cn: name })).pem, name)
  stored.expires_at = Math.floor(Date.now() / 1000) - daysAgo * 86400
  return stored
}

describe('activate', () => {
  it('activates 12 new certificates in 2 calls, once its own client certificate is shown to get in after', async () => {
    emulator = await startEmulator()
    const { made, files: certs } = await files(12)
    const run = await publish(await workspace(certs), { activate: 'true', ...(await clientOf(made[0])) })
    expect(run.code).toBe(0)
    expect(
      activations()
        .map((r) => idsSent(r).length)
        .sort()
    ).toEqual([10, 2])
    expect(emulator.certificates.every((c) => c.active)).toBe(true)
    expect(ids(run, 'activated-ids').sort()).toEqual(emulator.certificates.map((c) => c.id).sort())
    expect(JSON.parse(run.outputs.workloads)).toEqual([
      expect.objectContaining({ source: 'client-certificate', anchor: 'certs/ca-00.pem', path: 'direct' })
    ])
  })

  it('sends only the certificates whose state must change, and nothing at all on a rerun', async () => {
    emulator = await startEmulator()
    const { made, files: certs } = await files(3)
    const stored = made.map((m, i) => emulator.seed(m.pem, `ca-0${i}`))
    stored[0].active = true
    stored[2].active = true
    const root = await workspace(certs)
    const run = await publish(root, { activate: 'true' })
    expect(run.code).toBe(0)
    expect(activations().map(idsSent)).toEqual([[stored[1].id]])
    expect(ids(run, 'activated-ids')).toEqual([stored[1].id])
    expect(results(run)[1].changes).toEqual([
      expect.objectContaining({ action: 'activate', id: stored[1].id, scope: 'organization', done: true })
    ])

    emulator.requests.length = 0
    const rerun = await publish(root, { activate: 'true' })
    expect(rerun.code).toBe(0)
    expect(writes()).toEqual([])
  })

  it('activates in the projects named, leaving the organization scope alone', async () => {
    emulator = await startEmulator()
    emulator.addProject({ id: 'proj_a' })
    emulator.addProject({ id: 'proj_b' })
    const { made, files: certs } = await files(2)
    const present = emulator.seed(made[0].pem, 'ca-00')
    present.projects.add('proj_b')
    const run = await publish(await workspace(certs), { activate: 'true', 'project-ids': 'proj_a\nproj_b' })
    expect(run.code).toBe(0)
    const uploaded = emulator.certificates.find((c) => c.id !== present.id)!
    expect(
      activations()
        .map((r) => [r.path, idsSent(r).sort()])
        .sort()
    ).toEqual([
      ['/organization/projects/proj_a/certificates/activate', [present.id, uploaded.id].sort()],
      ['/organization/projects/proj_b/certificates/activate', [uploaded.id]]
    ])
    expect(emulator.certificates.map((c) => c.active)).toEqual([false, false])
    expect(commands(run, 'warning')).toEqual([])
  })
})

describe('a project-ids entry the organization does not have', () => {
  it('is refused before anything is written, whether or not the run lists the projects', async () => {
    emulator = await startEmulator()
    emulator.addProject({ id: 'proj_pay' })
    const root = await workspace({ 'certs/new.pem': (await makeCa({ cn: 'new' })).pem })
    // Without a listing of the projects: the project's own route answers 404, as OpenAI's does.
    const typo = await publish(root, { activate: 'true', 'project-ids': 'proj_pay\nproj_nope' })
    expect(typo.code).toBe(1)
    expect(commands(typo, 'error').at(-1)!.message).toBe(
      "Input 'project-ids' has 'proj_nope', which is not a project of this organization (the OpenAI API answered 404), so nothing was changed: check the id (the dashboard's project settings) and that the admin key is this organization's."
    )
    // With prune-retired the run lists every project, and says so from that listing.
    const listed = await publish(root, {
      activate: 'true',
      'project-ids': 'proj_nope',
      'managed-names': 'new',
      'prune-retired': 'all'
    })
    expect(listed.code).toBe(1)
    expect(commands(listed, 'error').at(-1)!.message).toMatch(
      /^Input 'project-ids' has 'proj_nope', which is not among the projects the organization lists, so nothing was changed: /
    )
    expect(writes()).toEqual([])
    expect(emulator.certificates).toEqual([])
    // The id as it is: uploaded and activated there.
    const right = await publish(root, { activate: 'true', 'project-ids': 'proj_pay' })
    expect(right.code).toBe(0)
    expect(emulator.certificates.map((c) => [c.name, [...c.projects]])).toEqual([['new', ['proj_pay']]])
  })
})

describe('rotation', () => {
  it('with exclusive, deactivates the old CA only after the new one is active', async () => {
    emulator = await startEmulator()
    const old = emulator.seed((await makeCa({ cn: 'Old CA' })).pem, 'old')
    old.active = true
    const { made, files: certs } = await files(1, 'new')
    const run = await publish(await workspace(certs), {
      activate: 'true',
      exclusive: 'true',
      ...(await clientOf(made[0]))
    })
    expect(run.code).toBe(0)
    const fresh = emulator.certificates.find((c) => c.id !== old.id)!
    expect(writes().map((r) => r.path)).toEqual([
      '/organization/certificates',
      '/organization/certificates/activate',
      '/organization/certificates/deactivate'
    ])
    expect(activations('deactivate').map(idsSent)).toEqual([[old.id]])
    expect([fresh.active, old.active]).toEqual([true, false])
    expect(ids(run, 'deactivated-ids')).toEqual([old.id])
    const log = visibleLog(run)
    expect(log.indexOf(`Activated 'new-00' (${fresh.id}) for the organization.`)).toBeLessThan(
      log.indexOf(`Deactivated 'old' (${old.id}) for the organization.`)
    )
  })
})

describe('activation you can rely on', () => {
  it('an activation answered 200 but not applied is not counted, and exclusive keeps the old CA active', async () => {
    emulator = await startEmulator()
    const old = emulator.seed((await makeCa({ cn: 'Old CA' })).pem, 'old')
    old.active = true
    emulator.faults.push({ method: 'POST', path: '/organization/certificates/activate', action: 'answer-unapplied' })
    const { files: certs } = await files(1, 'new')
    const run = await publish(await workspace(certs), { activate: 'true', exclusive: 'true', 'max-retries': '1' })
    expect(run.code).toBe(1)
    const fresh = emulator.certificates.find((c) => c.id !== old.id)!
    expect([fresh.active, old.active]).toEqual([false, true])
    expect(activations('deactivate')).toEqual([])
    expect(ids(run, 'activated-ids')).toEqual([])
    expect(ids(run, 'deactivated-ids')).toEqual([])
    expect(ids(run, 'uploaded-ids')).toEqual([fresh.id])
    expect(commands(run, 'error').at(-1)!.message).toMatch(
      new RegExp(
        `^The OpenAI API answered that it would activate 'new-00' \\(${fresh.id}\\), but a fresh read shows it still inactive: not counted as activated, and nothing was deactivated\\.`
      )
    )
  })

  it('in a project too: an activation not applied leaves the old CA active there, and nothing is deactivated', async () => {
    emulator = await startEmulator()
    emulator.addProject({ id: 'proj_a' })
    const old = emulator.seed((await makeCa({ cn: 'Old CA' })).pem, 'old')
    old.projects.add('proj_a')
    emulator.faults.push({
      method: 'POST',
      path: '/organization/projects/proj_a/certificates/activate',
      action: 'answer-unapplied'
    })
    const { files: certs } = await files(1, 'new')
    const run = await publish(await workspace(certs), {
      activate: 'true',
      exclusive: 'true',
      'project-ids': 'proj_a',
      'max-retries': '1'
    })
    expect(run.code).toBe(1)
    const fresh = emulator.certificates.find((c) => c.id !== old.id)!
    expect([[...fresh.projects], [...old.projects]]).toEqual([[], ['proj_a']])
    expect(activations('deactivate')).toEqual([])
    expect(ids(run, 'activated-ids')).toEqual([])
    expect(ids(run, 'deactivated-ids')).toEqual([])
  })

  it('an activation that half-applied and failed: the outputs say what the organization shows', async () => {
    emulator = await startEmulator()
    emulator.faults.push({
      method: 'POST',
      path: '/organization/certificates/activate',
      action: 'apply-some-then-fail',
      count: 1,
      status: 503,
      times: Infinity
    })
    const { files: certs } = await files(3)
    const run = await publish(await workspace(certs), { activate: 'true', 'max-retries': '1' })
    expect(run.code).toBe(1)
    const active = emulator.certificates.filter((c) => c.active).map((c) => c.id)
    expect(active).toHaveLength(1)
    expect(ids(run, 'activated-ids')).toEqual(active)
    expect(ids(run, 'uploaded-ids').sort()).toEqual(emulator.certificates.map((c) => c.id).sort())
    const changes = JSON.parse(run.outputs.changes) as { action: string; id: string; done: boolean }[]
    expect(changes.filter((c) => c.action === 'activate' && c.done).map((c) => c.id)).toEqual(active)
  })

  it('in a project, an activation the answer does not show is confirmed by a fresh read of the project', async () => {
    emulator = await startEmulator()
    emulator.addProject({ id: 'proj_a' })
    // The call is applied, but its answer leaves the certificate out.
    emulator.faults.push({
      method: 'POST',
      path: '/organization/projects/proj_a/certificates/activate',
      rewrite: (answer: object) => ({ ...answer, data: [] })
    })
    const { files: certs } = await files(1)
    const run = await publish(await workspace(certs), { activate: 'true', 'project-ids': 'proj_a' })
    expect(run.code).toBe(0)
    const [stored] = emulator.certificates
    expect([...stored.projects]).toEqual(['proj_a'])
    expect(ids(run, 'activated-ids')).toEqual([stored.id])
    // The inventory's listing of the project, and one fresh read.
    expect(emulator.requests.filter((r) => r.path === '/organization/projects/proj_a/certificates')).toHaveLength(2)
  })
})

describe('exclusive with another run at work', () => {
  async function rotation() {
    const old = emulator.seed((await makeCa({ cn: 'Old CA' })).pem, 'old')
    old.active = true
    const { files: certs } = await files(1, 'new')
    const root = await workspace(certs)
    const run = () => publish(root, { activate: 'true', exclusive: 'true', 'max-retries': '1' })
    return { old, run }
  }
  const fresh = (oldId: string) => emulator.certificates.find((c) => c.id !== oldId)!
  const deactivateCall = (r: { method: string; path: string }) =>
    r.method === 'POST' && r.path === '/organization/certificates/deactivate'

  it('activates its certificate again when another run deactivated it meanwhile, and says so', async () => {
    let interfered = false
    emulator = await startEmulator({
      // Another run deactivates this run's new certificate as this run deactivates the old one.
      beforeAnswer: (r) => {
        if (deactivateCall(r) && !interfered) {
          interfered = true
          for (const c of emulator.certificates) c.active = false
        }
      }
    })
    const { old, run } = await rotation()
    const result = await run()
    expect(result.code).toBe(1)
    const mine = fresh(old.id)
    expect([mine.active, old.active]).toEqual([true, false])
    expect(commands(result, 'error').at(-1)!.message).toMatch(
      new RegExp(`^Another run deactivated ${mine.id} in the organization while this run was rotating certificates`)
    )
    expect(ids(result, 'activated-ids')).toEqual([mine.id])
    expect(ids(result, 'deactivated-ids')).toEqual([old.id])
  })

  it('deactivates nothing when a fresh read shows its certificate no longer active', async () => {
    let activated = false
    emulator = await startEmulator({
      beforeAnswer: (r) => {
        if (r.path.endsWith('/activate')) activated = true
        else if (activated && r.method === 'GET' && r.path === '/organization/certificates')
          for (const c of emulator.certificates) if (c.name === 'new-00') c.active = false
      }
    })
    const { old, run } = await rotation()
    const result = await run()
    expect(result.code).toBe(1)
    expect(activations('deactivate')).toEqual([])
    expect(old.active).toBe(true)
    expect(commands(result, 'error').at(-1)!.message).toMatch(
      /^Nothing was deactivated in the organization: a fresh read/
    )
    expect(ids(result, 'activated-ids')).toEqual([])
    expect(ids(result, 'deactivated-ids')).toEqual([])
  })
})

describe('sync-names', () => {
  it('renames certificates present under another name, and only those', async () => {
    emulator = await startEmulator()
    const { made, files: certs } = await files(2)
    const wrong = emulator.seed(made[0].pem, 'uploaded by hand')
    const right = emulator.seed(made[1].pem, 'ca-01')
    const run = await publish(await workspace(certs), { 'sync-names': 'true' })
    expect(run.code).toBe(0)
    expect(writes().map((r) => [r.path, r.body])).toEqual([
      [`/organization/certificates/${wrong.id}`, { name: 'ca-00' }]
    ])
    expect(ids(run, 'renamed-ids')).toEqual([wrong.id])
    expect([wrong.name, right.name]).toEqual(['ca-00', 'ca-01'])
    expect(visibleLog(run)).toContain(`Renamed 'ca-00' (${wrong.id}) from 'uploaded by hand'.`)
  })
})

describe('prune-expired', () => {
  it('deletes exactly as many expired, inactive certificates as the uploads need, oldest first', async () => {
    emulator = await startEmulator()
    const oldest = await seedExpired('oldest', 30)
    const older = await seedExpired('older', 20)
    const recent = await seedExpired('recent', 10)
    for (let i = 0; i < 47; i++) emulator.seed((await makeCa({ cn: `c${i}` })).pem)
    const { files: certs } = await files(2)
    const run = await publish(await workspace(certs), { 'prune-expired': 'true' })
    expect(run.code).toBe(0)
    expect(ids(run, 'deleted-ids')).toEqual([oldest.id, older.id])
    expect(emulator.certificates).toHaveLength(50)
    expect(emulator.certificates.map((c) => c.id)).toContain(recent.id)
    expect(writes().map((r) => r.method)).toEqual(['DELETE', 'DELETE', 'POST', 'POST'])
    expect(run.outputs['slots-left']).toBe('0')
  })

  it('never deletes an active certificate: passes over one active in the organization, and one the API refuses', async () => {
    emulator = await startEmulator()
    emulator.addProject({ id: 'proj_elsewhere' })
    const activeHere = await seedExpired('active here', 40)
    activeHere.active = true
    const activeInProject = await seedExpired('active in a project', 30)
    activeInProject.projects.add('proj_elsewhere')
    const free = await seedExpired('free', 20)
    for (let i = 0; i < 47; i++) emulator.seed((await makeCa({ cn: `c${i}` })).pem)
    const { files: certs } = await files(1)
    const run = await publish(await workspace(certs), { 'prune-expired': 'true' })
    expect(run.code).toBe(0)
    expect(
      writes()
        .filter((r) => r.method === 'DELETE')
        .map((r) => r.path)
    ).toEqual([`/organization/certificates/${activeInProject.id}`, `/organization/certificates/${free.id}`])
    expect(ids(run, 'deleted-ids')).toEqual([free.id])
    expect(commands(run, 'warning')[0].message).toMatch(
      new RegExp(
        `^Could not delete expired certificate 'active in a project' \\(${activeInProject.id}\\): .*deactivate it`
      )
    )
    expect(emulator.certificates.map((c) => c.id)).toEqual(expect.arrayContaining([activeHere.id, activeInProject.id]))
    expect(emulator.certificates).toHaveLength(50)
  })

  it('still refuses up front when pruning cannot make enough room', async () => {
    emulator = await startEmulator()
    await seedExpired('only one', 10)
    for (let i = 0; i < 49; i++) emulator.seed((await makeCa({ cn: `c${i}` })).pem)
    const { files: certs } = await files(2)
    const run = await publish(await workspace(certs), { 'prune-expired': 'true' })
    expect(run.code).toBe(1)
    expect(writes()).toEqual([])
    expect(commands(run, 'error').at(-1)!.message).toMatch(
      /but 0 are free, even after deleting 1 expired inactive certificate, so nothing was changed/
    )
  })
})

describe('plan', () => {
  it('shows every change publish would make, and writes nothing', async () => {
    emulator = await startEmulator()
    const old = emulator.seed((await makeCa({ cn: 'Old' })).pem, 'old')
    old.active = true
    const gone = await seedExpired('gone', 5)
    for (let i = 0; i < 46; i++) emulator.seed((await makeCa({ cn: `c${i}` })).pem)
    const { made, files: certs } = await files(3)
    const renamed = emulator.seed(made[0].pem, 'by hand')
    const inputs = {
      mode: 'plan',
      activate: 'true',
      exclusive: 'true',
      'sync-names': 'true',
      'prune-expired': 'true',
      ...(await clientOf(made[1]))
    }
    const run = await publish(await workspace(certs), inputs)
    expect(run.code).toBe(0)
    expect(writes()).toEqual([])
    expect(results(run).map((r) => r.status)).toEqual(['would-rename', 'would-upload', 'would-upload'])
    const changes = JSON.parse(run.outputs.changes) as { action: string; id: string | null; done: boolean }[]
    expect(changes.map((c) => [c.action, c.id, c.done])).toEqual([
      ['delete', gone.id, false],
      ['upload', null, false],
      ['upload', null, false],
      ['rename', renamed.id, false],
      ['activate', renamed.id, false],
      ['activate', null, false],
      ['activate', null, false],
      ['deactivate', old.id, false]
    ])
    expect(run.summary).toContain('### Changes')
    expect(run.summary).toContain(`| deactivate | old \`${old.id}\` | organization | 📝 planned |`)
    expect(visibleLog(run)).toContain(`Would deactivate 'old' (${old.id}) for the organization.`)
    expect(commands(run, 'warning')).toEqual([])
    for (const name of ['activated-ids', 'deactivated-ids', 'renamed-ids', 'deleted-ids', 'uploaded-ids'])
      expect(run.outputs[name]).toBe('[]')
  })
})

describe('plan keeps the ids of certificates it would change', () => {
  it.each([
    ['would-activate', { activate: 'true', 'project-ids': 'p1' }],
    ['would-rename', { 'sync-names': 'true' }]
  ])('a certificate the organization holds, %s, is in certificate-ids and existing-ids', async (status, more) => {
    emulator = await startEmulator()
    emulator.addProject({ id: 'p1' })
    const { made, files: certs } = await files(2)
    const held = emulator.seed(made[0].pem, 'by hand')
    const run = await publish(await workspace(certs), { mode: 'plan', ...more })
    expect(run.code).toBe(0)
    expect(writes()).toEqual([])
    expect(results(run).map((r) => [r.status, r.id])).toEqual([
      [status, held.id],
      ['would-upload', null]
    ])
    expect(ids(run, 'certificate-ids')).toEqual([held.id])
    expect(ids(run, 'existing-ids')).toEqual([held.id])
  })
})

describe('a certificate the organization holds twice', () => {
  it('keeps the copy already active: activate and exclusive write nothing, and the outputs name the active copy', async () => {
    emulator = await startEmulator()
    const { made, files: certs } = await files(1)
    const older = emulator.seed(made[0].pem, 'ca-00')
    const active = emulator.seed(made[0].pem, 'ca-00')
    active.active = true
    const run = await publish(await workspace(certs), { activate: 'true', exclusive: 'true' })
    expect(run.code).toBe(0)
    expect(writes()).toEqual([])
    expect([older.active, active.active]).toEqual([false, true])
    expect(ids(run, 'certificate-ids')).toEqual([active.id])
    expect(ids(run, 'existing-ids')).toEqual([active.id])
    expect(results(run)[0]).toMatchObject({ status: 'existing', id: active.id })
    const [warning] = commands(run, 'warning').filter((w) => /holds this certificate 2 times/.test(w.message))
    expect(warning.message).toContain(
      `${active.id}, the copy already active, is the one this action uses; delete ${older.id}`
    )
  })

  it('in several projects, keeps the copy active in most of them and activates only where it is not', async () => {
    emulator = await startEmulator()
    for (const id of ['p1', 'p2', 'p3']) emulator.addProject({ id })
    const { files: certs, made } = await files(1)
    const older = emulator.seed(made[0].pem, 'ca-00')
    const newer = emulator.seed(made[0].pem, 'ca-00')
    older.projects.add('p1')
    newer.projects.add('p2')
    newer.projects.add('p3')
    const run = await publish(await workspace(certs), {
      activate: 'true',
      exclusive: 'true',
      'project-ids': 'p1\np2\np3'
    })
    expect(run.code).toBe(0)
    // Activated in p1, where it was not; the older copy, a copy of the files' certificate, stays active there.
    expect(activations().map((r) => [r.path, idsSent(r)])).toEqual([
      ['/organization/projects/p1/certificates/activate', [newer.id]]
    ])
    expect(activations('deactivate')).toEqual([])
    expect([...newer.projects].sort()).toEqual(['p1', 'p2', 'p3'])
    expect([...older.projects]).toEqual(['p1'])
    expect(ids(run, 'certificate-ids')).toEqual([newer.id])
    expect(ids(run, 'activated-ids')).toEqual([newer.id])
  })
})

describe('failure part way', () => {
  it('reports which changes were made before the API stopped answering', async () => {
    emulator = await startEmulator()
    emulator.faults.push({ method: 'POST', path: '/organization/certificates/activate', status: 503, times: Infinity })
    const { made, files: certs } = await files(2)
    const client = await clientOf(made[0])
    const run = await publish(await workspace(certs), { activate: 'true', 'max-retries': '1', ...client })
    expect(run.code).toBe(1)
    expect(commands(run, 'error').at(-1)!.message).toMatch(
      /^The OpenAI API failed to activate .* for the organization \(503: Scripted failure 503\.\)\. 2 of 4 changes were made before it stopped \(2 activations not made\)\. Run the action again/
    )
    const changes = JSON.parse(run.outputs.changes) as { action: string; done: boolean }[]
    expect(changes.map((c) => [c.action, c.done])).toEqual([
      ['upload', true],
      ['upload', true],
      ['activate', false],
      ['activate', false]
    ])
    expect(ids(run, 'uploaded-ids')).toHaveLength(2)
    expect(run.summary).toContain('⏸️ not made')

    emulator.faults.length = 0
    const rerun = await publish(await workspace(certs), { activate: 'true', ...client })
    expect(rerun.code).toBe(0)
    expect(emulator.certificates).toHaveLength(2)
    expect(emulator.certificates.every((c) => c.active)).toBe(true)
  })
})

describe('inputs', () => {
  it('refuses exclusive without activate', async () => {
    emulator = await startEmulator()
    const { files: certs } = await files(1)
    const run = await publish(await workspace(certs), { exclusive: 'true' })
    expect(run.code).toBe(1)
    expect(commands(run, 'error').at(-1)!.message).toBe(
      "Input 'exclusive' only has a meaning with 'activate: true': set it, or remove the input."
    )
    expect(emulator.requests).toEqual([])
  })
})
