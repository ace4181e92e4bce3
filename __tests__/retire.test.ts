// Retiring (managed-names, prune-retired): the bundled action against the emulator, asserting on
// what the organization holds after each run.
import { DAY, type GeneratedCertificate, makeCa, makeLeaf } from '../tools/certs.mjs'
import type { Emulator } from '../tools/emulator.mjs'
import type { ActionRun } from '../tools/run-action.mjs'
import { commands, emulators, ids, publishTo, workspace } from './helpers.js'

let emulator: Emulator
const startEmulator = emulators()

// Validity windows of their own, counted back from one instant, so that only look-alikes are read.
const BASE = Math.floor(Date.now() / 1000) * 1000 - DAY
let made = 0
const ca = (cn: string) => makeCa({ cn, notBefore: new Date(BASE - made++ * 1000) })

const writes = () => emulator.requests.filter((r) => r.method !== 'GET')
const names = () => emulator.certificates.map((c) => c.name).sort()
const byName = (name: string) => emulator.certificates.find((c) => c.name === name)
const errorLine = (result: ActionRun) => commands(result, 'error').at(-1)?.message ?? ''

/**
 * 50 held, none expired: 3 retired under 'team-*' (team-old-1 created first), 1 inactive that
 * matches no pattern, 1 inactive for the organization but active in an archived project, 5 in the
 * files, 40 of another team active for the organization; and 2 new files.
 */
async function fullOrganization(options: Parameters<typeof startEmulator>[0] = {}) {
  emulator = await startEmulator(options)
  emulator.addProject({ id: 'proj_live' })
  emulator.addProject({ id: 'proj_gone', archived: true })
  for (const i of [1, 2, 3]) emulator.seed((await ca(`old ${i}`)).pem, `team-old-${i}`)
  emulator.seed((await ca('stray')).pem, 'stray-inactive')
  emulator.seed((await ca('archived')).pem, 'team-archived').projects.add('proj_gone')
  const files: Record<string, string> = {}
  for (let i = 0; i < 5; i++) {
    const cert = await ca(`present ${i}`)
    emulator.seed(cert.pem, `team-present-${i}`)
    files[`certs/team-present-${i}.pem`] = cert.pem
  }
  for (let i = 0; i < 40; i++) emulator.seed((await ca(`other ${i}`)).pem, `other-${i}`).active = true
  for (const i of [1, 2]) files[`certs/team-new-${i}.pem`] = (await ca(`new ${i}`)).pem
  expect(emulator.certificates).toHaveLength(50)
  return workspace(files)
}

const RETIRE = { 'managed-names': 'team-*' }

describe('prune-retired', () => {
  it('as-needed: 50 held, 2 new → exactly the 2 oldest retired deleted, both uploads stored, the rest untouched', async () => {
    const root = await fullOrganization()
    const before = new Map(emulator.certificates.map((c) => [c.id, c.name]))
    const old = [byName('team-old-1')!.id, byName('team-old-2')!.id]
    const result = await publishTo(emulator, root, { ...RETIRE, 'prune-retired': 'as-needed' })
    expect(result.code).toBe(0)
    expect(ids(result, 'deleted-ids')).toEqual(old)
    expect(emulator.certificates).toHaveLength(50)
    expect(names()).toEqual(
      [...before.values()]
        .filter((n) => n !== 'team-old-1' && n !== 'team-old-2')
        .concat(['team-new-1', 'team-new-2'])
        .sort()
    )
    for (const name of ['team-old-3', 'stray-inactive', 'team-archived']) expect(byName(name)).toBeDefined()
    expect(byName('team-archived')!.projects.has('proj_gone')).toBe(true)
    // Deletions first, then the uploads; nothing else written.
    expect(writes().map((r) => r.method)).toEqual(['DELETE', 'DELETE', 'POST', 'POST'])
    const changes = JSON.parse(result.outputs.changes) as { action: string; reason?: string; done: boolean }[]
    expect(changes.filter((c) => c.action === 'delete')).toEqual([
      expect.objectContaining({ done: true, reason: expect.stringMatching(/^retired: .*name matches 'team-\*'/) }),
      expect.objectContaining({ done: true, reason: expect.stringMatching(/^retired: /) })
    ])
    expect(JSON.parse(result.outputs.counts)).toMatchObject({ deleted: 2, uploaded: 2 })
    expect(result.outputs['slots-left']).toBe('0')
    expect(result.summary).toMatch(/\| delete \(retired: not in the files, inactive .*team-old-1/)
    expect(result.summary).toContain('### Deleted by this run')
    // Every project was listed, archived ones included, and each one's certificates.
    const projectLists = emulator.requests.filter((r) => r.path === '/organization/projects')
    expect(projectLists.map((r) => r.query.include_archived)).toEqual(['true'])
    expect(
      emulator.requests.filter((r) => /^\/organization\/projects\/[^/]+\/certificates$/.test(r.path))
    ).toHaveLength(2)
  })

  it('all: the 3 retired deleted, never the one that matches no pattern or the one active in an archived project', async () => {
    const root = await fullOrganization()
    const retired = [1, 2, 3].map((i) => byName(`team-old-${i}`)!.id)
    const result = await publishTo(emulator, root, { ...RETIRE, 'prune-retired': 'all' })
    expect(result.code).toBe(0)
    expect(ids(result, 'deleted-ids')).toEqual(retired)
    expect(emulator.certificates).toHaveLength(49)
    expect(byName('stray-inactive')).toBeDefined()
    expect(byName('team-archived')).toBeDefined()
    expect(byName('team-new-1')).toBeDefined()
    expect(byName('team-new-2')).toBeDefined()
    // A rerun has nothing left to retire.
    emulator.requests.length = 0
    const again = await publishTo(emulator, root, { ...RETIRE, 'prune-retired': 'all' })
    expect(again.code).toBe(0)
    expect(writes()).toEqual([])
  })

  it('plan shows the same deletions with their reasons, writes nothing, and publish of that hash makes them', async () => {
    const root = await fullOrganization()
    const inputs = { ...RETIRE, 'prune-retired': 'as-needed' }
    const planned = await publishTo(emulator, root, { ...inputs, mode: 'plan' })
    expect(planned.code).toBe(0)
    expect(writes()).toEqual([])
    const plan = JSON.parse(planned.outputs.plan) as {
      changes: { action: string; id: string; reason?: string }[]
      spares?: { id: string; name: string; reason: string }[]
    }
    // The only certificate publish may delete instead, should a planned one be refused: in the hash too.
    expect(plan.spares).toEqual([
      { id: byName('team-old-3')!.id, name: 'team-old-3', reason: expect.stringMatching(/^retired: /) }
    ])
    const deletions = plan.changes.filter((c) => c.action === 'delete')
    expect(deletions.map((c) => c.id).sort()).toEqual([byName('team-old-1')!.id, byName('team-old-2')!.id].sort())
    expect(deletions.every((c) => c.reason?.startsWith('retired: '))).toBe(true)
    expect(JSON.parse(planned.outputs.counts)).toMatchObject({ deleted: 2, uploaded: 2 })
    expect(planned.summary).toContain('### Deleted once publish has run')
    expect(planned.stdout).toMatch(/^Would delete 'team-old-1' \(cert_\w+\) — retired: /m)

    const published = await publishTo(emulator, root, { ...inputs, 'reviewed-plan': planned.outputs['plan-hash'] })
    expect(published.code).toBe(0)
    expect(ids(published, 'deleted-ids').sort()).toEqual(deletions.map((c) => c.id).sort())
  })

  it('another run activating a candidate between the listing and the delete: a warning naming it, it is kept, the next one frees the slot', async () => {
    emulator = await startEmulator({
      beforeAnswer: (request) => {
        // Someone activates team-old-1 in a project just before this run's delete of it arrives.
        const first = byName('team-old-1')
        if (request.method === 'DELETE' && first && request.path.endsWith(first.id)) first.projects.add('proj_live')
      }
    })
    emulator.addProject({ id: 'proj_live' })
    for (const i of [1, 2]) emulator.seed((await ca(`old ${i}`)).pem, `team-old-${i}`)
    for (let i = 0; i < 48; i++) emulator.seed((await ca(`other ${i}`)).pem, `other-${i}`).active = true
    const root = await workspace({ 'certs/team-new.pem': (await ca('new')).pem })
    const first = byName('team-old-1')!.id
    const second = byName('team-old-2')!.id
    const result = await publishTo(emulator, root, { ...RETIRE, 'prune-retired': 'as-needed' })
    expect(result.code).toBe(0)
    const warnings = commands(result, 'warning').map((w) => w.message)
    expect(warnings).toContainEqual(
      expect.stringMatching(
        new RegExp(`^Did not delete retired certificate 'team-old-1' \\(${first}\\): OpenAI says it is in use`)
      )
    )
    expect(byName('team-old-1')).toBeDefined()
    expect(byName('team-old-2')).toBeUndefined()
    expect(byName('team-new')).toBeDefined()
    expect(ids(result, 'deleted-ids')).toEqual([second])
    const changes = JSON.parse(result.outputs.changes) as {
      action: string
      id: string
      done: boolean
      error?: string
    }[]
    expect(changes.filter((c) => c.action === 'delete')).toEqual([
      expect.objectContaining({ id: first, done: false, error: expect.stringContaining('OpenAI says it is in use') }),
      expect.objectContaining({ id: second, done: true })
    ])
  })

  it('the same race with no candidate left: the warning, the certificate kept, and one clear error that nothing was uploaded', async () => {
    emulator = await startEmulator({
      beforeAnswer: (request) => {
        const only = byName('team-old-1')
        if (request.method === 'DELETE' && only) only.active = true
      }
    })
    emulator.seed((await ca('old 1')).pem, 'team-old-1')
    for (let i = 0; i < 49; i++) emulator.seed((await ca(`other ${i}`)).pem, `other-${i}`).active = true
    const root = await workspace({ 'certs/team-new.pem': (await ca('new')).pem })
    const result = await publishTo(emulator, root, { ...RETIRE, 'prune-retired': 'as-needed' })
    expect(result.code).toBe(1)
    expect(byName('team-old-1')).toBeDefined()
    expect(byName('team-new')).toBeUndefined()
    expect(errorLine(result)).toMatch(/Only 0 of the 1 certificates needed to make room could be deleted/)
    expect(ids(result, 'deleted-ids')).toEqual([])
  })

  it('projects paged one per page: every page is followed and a certificate active in the last (archived) project is kept', async () => {
    emulator = await startEmulator({ projectPageSize: 1 })
    for (const id of ['proj_a', 'proj_b', 'proj_c']) emulator.addProject({ id, archived: id !== 'proj_a' })
    const kept = emulator.seed((await ca('kept')).pem, 'team-kept')
    // The emulator lists newest first: proj_c, created last, is on the first page; proj_a on the last.
    kept.projects.add('proj_a')
    const gone = emulator.seed((await ca('gone')).pem, 'team-gone')
    const root = await workspace({ 'certs/team-new.pem': (await ca('new')).pem })
    const result = await publishTo(emulator, root, { ...RETIRE, 'prune-retired': 'all' })
    expect(result.code).toBe(0)
    const pages = emulator.requests.filter((r) => r.path === '/organization/projects')
    expect(pages.map((r) => r.query.after ?? null)).toEqual([null, 'proj_c', 'proj_b'])
    expect(ids(result, 'deleted-ids')).toEqual([gone.id])
    expect(byName('team-kept')).toBeDefined()
  })

  it('a rotation with activate, exclusive and prune-retired: all deactivates the old CA in the first run and deletes it in the second', async () => {
    emulator = await startEmulator()
    const old = emulator.seed((await ca('2025')).pem, 'team-2025')
    old.active = true
    const other = emulator.seed((await ca('other team')).pem, 'other-team')
    other.active = true
    const fresh = await ca('2026')
    const client = await makeLeaf(fresh, { cn: 'release workflow' })
    const root = await workspace({ 'certs/team-2026.pem': fresh.pem })
    const inputs = {
      ...RETIRE,
      activate: 'true',
      exclusive: 'true',
      'prune-retired': 'all',
      'client-certificate': client.pem,
      'client-key': client.key
    }
    const first = await publishTo(emulator, root, inputs)
    expect(first.code).toBe(0)
    expect(ids(first, 'deactivated-ids')).toEqual([old.id])
    expect(ids(first, 'deleted-ids')).toEqual([])
    expect(byName('team-2025')).toMatchObject({ active: false })
    expect(byName('team-2026')).toMatchObject({ active: true })
    // Another team's CA is not this repository's: exclusive with managed-names leaves it active.
    expect(byName('other-team')).toMatchObject({ active: true })

    const second = await publishTo(emulator, root, inputs)
    expect(second.code).toBe(0)
    expect(ids(second, 'deleted-ids')).toEqual([old.id])
    expect(byName('team-2025')).toBeUndefined()
    expect(names()).toEqual(['other-team', 'team-2026'])
  })
})

describe('docs/examples/retiring.yml (prune-retired: as-needed)', () => {
  it('the run after a rotation keeps the deactivated CA while no upload needs its slot, as the example says; plan counts it once one does', async () => {
    emulator = await startEmulator()
    emulator.addProject({ id: 'proj_pay' })
    const [a, b, c] = [await ca('a'), await ca('b'), await ca('c')]
    const old = emulator.seed(a.pem, 'payments-a')
    old.projects.add('proj_pay')
    const inputs = {
      files: 'certs/payments/*.pem',
      name: 'payments-{stem}',
      activate: 'true',
      exclusive: 'true',
      'project-ids': 'proj_pay', // the example activates for the organization; a project spares the client certificate
      'managed-names': 'payments-*',
      'prune-retired': 'as-needed'
    }
    const root = await workspace({ 'certs/payments/b.pem': b.pem })
    expect((await publishTo(emulator, root, inputs)).code).toBe(0)
    expect(old.projects.size).toBe(0)
    const next = await publishTo(emulator, root, inputs)
    expect(next.code).toBe(0)
    expect(names()).toEqual(['payments-a', 'payments-b'])
    // Once the organization is full, the next upload frees the retired CA's slot: plan says so in counts, not deleted-ids.
    for (let i = 0; i < 48; i++) emulator.seed((await ca(`other ${i}`)).pem, `other-${i}`).active = true
    const full = await workspace({ 'certs/payments/b.pem': b.pem, 'certs/payments/c.pem': c.pem })
    const before = emulator.requests.length
    const plan = await publishTo(emulator, full, { ...inputs, mode: 'plan' })
    expect(plan.code).toBe(0)
    expect(emulator.requests.slice(before).filter((r) => r.method !== 'GET')).toEqual([])
    expect(JSON.parse(plan.outputs.counts)).toMatchObject({ deleted: 1, uploaded: 1 })
    expect(ids(plan, 'deleted-ids')).toEqual([])
    expect(JSON.parse(plan.outputs.changes)).toContainEqual(
      expect.objectContaining({ action: 'delete', id: old.id, done: false })
    )
  })
})

describe('retiring, when the API misbehaves', () => {
  it('a delete answered but not made is not reported as deleted: the read-back finds it still there', async () => {
    emulator = await startEmulator()
    const stuck = emulator.seed((await ca('stuck')).pem, 'team-stuck')
    emulator.faults.push({
      method: 'DELETE',
      path: `/organization/certificates/${stuck.id}`,
      respond: () => ({ id: stuck.id, object: 'certificate.deleted' })
    })
    const root = await workspace({ 'certs/team-new.pem': (await ca('new')).pem })
    const result = await publishTo(emulator, root, { ...RETIRE, 'prune-retired': 'all' })
    expect(result.code).toBe(0)
    expect(byName('team-stuck')).toBeDefined()
    expect(ids(result, 'deleted-ids')).toEqual([])
    expect(commands(result, 'warning').map((w) => w.message)).toContainEqual(
      expect.stringMatching(/'team-stuck' \(cert_\w+\) is still in the organization after its delete was answered/)
    )
    expect(JSON.parse(result.outputs.counts)).toMatchObject({ deleted: 0, uploaded: 1 })
  })

  it('a delete whose answer is lost is read back: gone is deleted, still there is not made, never "may or may not"', async () => {
    emulator = await startEmulator()
    const lost = emulator.seed((await ca('lost')).pem, 'team-lost')
    // Deleted, and the connection reset before the answer, on the only attempt.
    emulator.faults.push({
      method: 'DELETE',
      path: `/organization/certificates/${lost.id}`,
      action: 'store-then-reset'
    })
    const root = await workspace({ 'certs/team-new.pem': (await ca('new')).pem })
    const deleted = await publishTo(emulator, root, { ...RETIRE, 'prune-retired': 'all', 'max-retries': '0' })
    expect(deleted.code).toBe(0)
    expect(byName('team-lost')).toBeUndefined()
    expect(ids(deleted, 'deleted-ids')).toEqual([lost.id])

    // Never carried out, every answer reset: the read-back finds it there, so the delete was not made.
    const stuck = emulator.seed((await ca('stuck')).pem, 'team-stuck')
    emulator.faults.push({
      method: 'DELETE',
      path: `/organization/certificates/${stuck.id}`,
      action: 'reset',
      times: 10
    })
    const failed = await publishTo(emulator, root, { ...RETIRE, 'prune-retired': 'all', 'max-retries': '1' })
    expect(failed.code).toBe(1)
    expect(byName('team-stuck')).toBeDefined()
    expect(errorLine(failed)).toMatch(/ 0 of 1 change was made before it stopped \(1 deletion not made\)\./)
    expect(errorLine(failed)).not.toContain('may or may not')
    expect(ids(failed, 'deleted-ids')).toEqual([])
  })

  it('a project listing that keeps failing stops the run before any write, in one line', async () => {
    emulator = await startEmulator()
    emulator.addProject({ id: 'proj_a' })
    emulator.seed((await ca('old')).pem, 'team-old')
    emulator.faults.push({ method: 'GET', path: '/organization/projects', status: 500, times: 10 })
    const root = await workspace({ 'certs/team-new.pem': (await ca('new')).pem })
    const result = await publishTo(emulator, root, { ...RETIRE, 'prune-retired': 'all', 'max-retries': '1' })
    expect(result.code).toBe(1)
    expect(errorLine(result)).toMatch(/list the projects of the organization \(500: Scripted failure 500\.\)/)
    expect(writes()).toEqual([])
    expect(result.outputs['deleted-ids']).toBe('[]')
  })

  it('a project without an id in the listing is an error, never a project left out', async () => {
    emulator = await startEmulator()
    emulator.seed((await ca('old')).pem, 'team-old')
    emulator.faults.push({
      method: 'GET',
      path: '/organization/projects',
      times: 3,
      respond: () => ({ object: 'list', data: [{ object: 'organization.project', name: 'x' }], has_more: false })
    })
    const root = await workspace({ 'certs/team-new.pem': (await ca('new')).pem })
    const result = await publishTo(emulator, root, { ...RETIRE, 'prune-retired': 'all', 'max-retries': '0' })
    expect(result.code).toBe(1)
    expect(errorLine(result)).toMatch(/a project without an id \(item 1 of the page\)/)
    expect(writes()).toEqual([])
  })
})

describe('managed-names', () => {
  it("exclusive with managed-names leaves another team's active CA active, and lists no project for it", async () => {
    emulator = await startEmulator()
    const mine = emulator.seed((await ca('mine')).pem, 'team-old')
    const theirs = emulator.seed((await ca('theirs')).pem, 'billing-root')
    mine.active = true
    theirs.active = true
    const fresh = await ca('new')
    const client = await makeLeaf(fresh, { cn: 'release workflow' })
    const root = await workspace({ 'certs/team-new.pem': fresh.pem })
    const result = await publishTo(emulator, root, {
      ...RETIRE,
      activate: 'true',
      exclusive: 'true',
      'client-certificate': client.pem,
      'client-key': client.key
    })
    expect(result.code).toBe(0)
    expect(ids(result, 'deactivated-ids')).toEqual([mine.id])
    expect(byName('billing-root')).toMatchObject({ active: true })
    expect(byName('team-old')).toMatchObject({ active: false })
    expect(emulator.requests.some((r) => r.path.startsWith('/organization/projects'))).toBe(false)
  })

  it('warns at the input when the run’s own names match no pattern', async () => {
    emulator = await startEmulator()
    const root = await workspace({ 'certs/payments.pem': (await ca('payments')).pem })
    const result = await publishTo(emulator, root, { 'managed-names': 'team-*' })
    expect(result.code).toBe(0)
    expect(commands(result, 'warning').map((w) => w.message)).toContainEqual(
      expect.stringMatching(/^Input 'managed-names' \('team-\*'\) matches none of the names .*'payments'/)
    )
  })

  it.each([
    [{ 'prune-retired': 'all' }, /^Input 'prune-retired' is 'all' but 'managed-names' is empty/],
    [{ 'prune-retired': 'yes', ...RETIRE }, /^Input 'prune-retired' is 'yes': use one of false, as-needed, all\./],
    [
      { 'managed-names': 'team-[abc' },
      /^Input 'managed-names' has 'team-\[abc', which .*never closed: give one glob pattern/
    ],
    [{ 'managed-names': 'team-{a,b' }, /^Input 'managed-names' has 'team-\{a,b', which .*never closed/],
    [{ 'managed-names': '!team-*' }, /^Input 'managed-names' has '!team-\*', which '!' \(exclusion\) is not supported/],
    // A pattern written with a '#' is a comment: the error says so, not that the input is empty.
    [
      { 'managed-names': '#team-*', 'prune-retired': 'all' },
      /^Input 'managed-names' has only comment lines \('#team-\*'\): a line starting with '#' is a comment.*'\[#\]team-\*'/
    ],
    // Worse without prune-retired: exclusive would deactivate every other certificate.
    [
      { 'managed-names': '#team-*', activate: 'true', exclusive: 'true', 'project-ids': 'proj_x' },
      /^Input 'managed-names' has only comment lines/
    ]
  ])('%j is an input error naming the input, with no request made', async (inputs, message) => {
    emulator = await startEmulator()
    const root = await workspace({ 'certs/team.pem': (await ca('team')).pem })
    const result = await publishTo(emulator, root, inputs)
    expect(result.code).toBe(1)
    expect(errorLine(result)).toMatch(message)
    expect(emulator.requests).toEqual([])
  })
})

describe('managed-names and certificates it misses', () => {
  it('a rotation whose old CA has a name managed-names misses: run 1 warns that the files hold it, run 2 gives a notice that exclusive left it active', async () => {
    emulator = await startEmulator()
    emulator.addProject({ id: 'proj_pay' })
    const [a, b] = [await ca('a'), await ca('b')]
    // Uploaded before the team adopted its naming; the files hold it, sync-names is off.
    const legacy = emulator.seed(a.pem, 'legacy-a')
    legacy.projects.add('proj_pay')
    const inputs = {
      name: 'team-{stem}',
      activate: 'true',
      exclusive: 'true',
      'project-ids': 'proj_pay',
      ...RETIRE,
      'prune-retired': 'all'
    }
    const first = await publishTo(emulator, await workspace({ 'certs/a.pem': a.pem }), inputs)
    expect(first.code).toBe(0)
    const warned = commands(first, 'warning').map((w) => w.message)
    expect(warned).toEqual([
      expect.stringMatching(
        new RegExp(
          `^Input 'managed-names' \\('team-\\*'\\) matches none of the names a certificate the files hold has in the organization: 'legacy-a' \\(${legacy.id}\\)\\. 'exclusive' and 'prune-retired' will never touch it .*rename it \\('sync-names: true'.*or widen 'managed-names'\\.$`
        )
      )
    ])
    expect(JSON.parse(first.outputs.counts)).toMatchObject({ warnings: 1, errors: 0 })
    expect(first.summary).toContain('matches none of the names a certificate the files hold has')
    expect(writes()).toEqual([])

    // The rotation: the files now hold only b. The old CA stays active (not managed), and the run says so.
    const rotation = await publishTo(emulator, await workspace({ 'certs/b.pem': b.pem }), inputs)
    expect(rotation.code).toBe(0)
    expect(byName('team-b')!.projects.has('proj_pay')).toBe(true)
    expect(legacy.projects.has('proj_pay')).toBe(true)
    expect(ids(rotation, 'deactivated-ids')).toEqual([])
    expect(commands(rotation, 'notice').map((n) => n.message)).toEqual([
      `'exclusive' left 1 active certificate the files do not hold active for the project proj_pay, as 'managed-names' ('team-*') does not match its name: 'legacy-a' (${legacy.id}). If this repository manages it, rename it or widen 'managed-names'.`
    ])
    // A notice is not a warning: fail-on: warning does not fail on another team's certificate.
    expect(commands(rotation, 'warning')).toEqual([])
  })

  it('a held certificate without a name is named by its id in the warning; with sync-names the rename it gets is checked instead', async () => {
    emulator = await startEmulator()
    const cert = await ca('nameless')
    const nameless = emulator.seed(cert.pem, null)
    const root = await workspace({ 'certs/pay.pem': cert.pem })
    const result = await publishTo(emulator, root, { name: 'team-{stem}', ...RETIRE })
    expect(result.code).toBe(0)
    expect(commands(result, 'warning').map((w) => w.message)).toEqual([
      expect.stringContaining(`the files hold has in the organization: a certificate without a name (${nameless.id}).`)
    ])
    const synced = await publishTo(emulator, root, { name: 'team-{stem}', ...RETIRE, 'sync-names': 'true' })
    expect(synced.code).toBe(0)
    expect(commands(synced, 'warning')).toEqual([])
    expect(byName('team-pay')?.id).toBe(nameless.id)
  })

  it.each(['*', '**', '?*'])(
    "managed-names '%s' with prune-retired: all warns at the input that it claims every team's certificates",
    async (pattern) => {
      emulator = await startEmulator()
      for (let i = 0; i < 2; i++) emulator.seed((await ca(`other ${i}`)).pem, `other-team-${i}`)
      const result = await publishTo(emulator, await workspace({ 'certs/mine.pem': (await ca('mine')).pem }), {
        'managed-names': pattern,
        'prune-retired': 'all'
      })
      expect(result.code).toBe(0)
      const warnings = commands(result, 'warning').map((w) => w.message)
      expect(warnings).toEqual([
        `Input 'managed-names' has '${pattern}', which matches every certificate name: 'exclusive' deactivates, and 'prune-retired' deletes, every team's certificates in the organization that the files do not hold. List only the names this repository gives, e.g. 'payments-*'.`
      ])
      expect(JSON.parse(result.outputs.counts).warnings).toBe(1)
    }
  )

  it("a pattern that merely starts wide ('*-root') does not warn", async () => {
    emulator = await startEmulator()
    const result = await publishTo(emulator, await workspace({ 'certs/pay-root.pem': (await ca('root')).pem }), {
      'managed-names': '*-root'
    })
    expect(result.code).toBe(0)
    expect(commands(result, 'warning')).toEqual([])
  })
})

describe('counts and the summary agree with the annotations', () => {
  it('a retired delete refused as in use is one warning in counts and the summary, ⚠️ in Changes, and does not claim it was activated since', async () => {
    emulator = await startEmulator()
    emulator.addProject({ id: 'proj_gone', archived: true })
    const kept = emulator.seed((await ca('arch')).pem, 'team-arch')
    kept.projects.add('proj_gone')
    // The project's certificate listing does not show it active (a lagging or partial answer).
    emulator.faults.push({
      method: 'GET',
      path: '/organization/projects/proj_gone/certificates',
      times: 10,
      rewrite: (answer: { data: unknown[] }) => ({ ...answer, data: [] })
    })
    const result = await publishTo(emulator, await workspace({ 'certs/new.pem': (await ca('new')).pem }), {
      name: 'team-{stem}',
      ...RETIRE,
      'prune-retired': 'all'
    })
    expect(result.code).toBe(0)
    expect(names()).toEqual(['team-arch', 'team-new'])
    const warnings = commands(result, 'warning').map((w) => w.message)
    expect(warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          `^Did not delete retired certificate 'team-arch' \\(${kept.id}\\): OpenAI says it is in use .*though every listing this run read showed it inactive.*it was kept`
        )
      )
    ])
    expect(warnings[0]).not.toMatch(/activated .* since this run listed/)
    expect(JSON.parse(result.outputs.counts)).toMatchObject({ warnings: 1, errors: 0, deleted: 0, uploaded: 1 })
    expect(result.summary).toContain('0 errors, 1 warning.')
    expect(result.summary).toMatch(
      /\| delete \(retired: .*\| team-arch `[^`]+` \| {2}\| ⚠️ Not deleted: OpenAI says it is in use/
    )
    expect(result.summary).not.toContain('❌')
  })

  it('a failed upload makes an exit-1 run with one error in counts and in the summary', async () => {
    emulator = await startEmulator()
    // Refused for a reason that is neither the certificate's nor the cap's (a key without the permission).
    emulator.faults.push({ method: 'POST', path: '/organization/certificates', status: 403 })
    const result = await publishTo(emulator, await workspace({ 'certs/team-new.pem': (await ca('new')).pem }))
    expect(result.code).toBe(1)
    expect(emulator.certificates).toEqual([])
    expect(JSON.parse(result.outputs.counts)).toMatchObject({ errors: 1, uploaded: 0 })
    expect(result.summary).toContain('1 error, 0 warnings.')
  })
})

describe('the cap error', () => {
  it('without pruning, names the certificates that would qualify (name, id, created, expires) and the inputs that free them', async () => {
    emulator = await startEmulator()
    const stray = emulator.seed((await ca('stray')).pem, 'team-stray')
    for (let i = 0; i < 49; i++) emulator.seed((await ca(`other ${i}`)).pem, `other-${i}`).active = true
    const root = await workspace({ 'certs/team-new.pem': (await ca('new')).pem })
    const result = await publishTo(emulator, root)
    expect(result.code).toBe(1)
    const day = (unix: number) => new Date(unix * 1000).toISOString().slice(0, 10)
    expect(errorLine(result)).toContain(
      `'managed-names' matching their names, with 'prune-retired: as-needed', would retire them once inactive in every project too: 'team-stray' ${stray.id} (created ${day(stray.created_at)}, expires ${day(stray.expires_at)}).`
    )
    expect(errorLine(result)).toMatch(
      /^The organization holds 50 of at most 50 certificates: 1 new certificate needs 1 slot/
    )
    expect(writes()).toEqual([])
    // With managed-names alone it names prune-retired; with both, it frees the slot and goes on.
    expect(errorLine(await publishTo(emulator, root, RETIRE))).toContain(
      `so 'prune-retired: as-needed' would retire them once inactive in every project too: 'team-stray' ${stray.id}`
    )
    const freed = await publishTo(emulator, root, { ...RETIRE, 'prune-retired': 'as-needed' })
    expect(freed.code).toBe(0)
    expect(ids(freed, 'deleted-ids')).toEqual([stray.id])
    expect(byName('team-new')).toBeDefined()
  })
})

describe('never a lock-out', () => {
  it('never deletes the CA a workload certificate or the client-certificate chains to while it is active anywhere', async () => {
    emulator = await startEmulator()
    emulator.addProject({ id: 'proj_gone', archived: true })
    // The workloads' CA, in the files, is active only in an archived project; the CA of the action's
    // own client certificate is active for the organization and not in the files.
    const workloadCa: GeneratedCertificate = await ca('workloads')
    const clientCa: GeneratedCertificate = await ca('client')
    emulator.seed(workloadCa.pem, 'team-workloads').projects.add('proj_gone')
    emulator.seed(clientCa.pem, 'team-client').active = true
    const retired = emulator.seed((await ca('retired')).pem, 'team-retired')
    const workload = await makeLeaf(workloadCa, { cn: 'payments service' })
    const client = await makeLeaf(clientCa, { cn: 'release workflow' })
    const root = await workspace({
      'certs/team-new.pem': (await ca('new')).pem,
      'certs/team-workloads.pem': workloadCa.pem,
      'clients/payments.pem': workload.pem
    })
    const result = await publishTo(emulator, root, {
      ...RETIRE,
      'prune-retired': 'all',
      'workload-certificates': 'clients/*.pem',
      'client-certificate': client.pem,
      'client-key': client.key
    })
    expect(commands(result, 'error')).toEqual([])
    expect(result.code).toBe(0)
    expect(ids(result, 'deleted-ids')).toEqual([retired.id])
    expect(byName('team-workloads')!.projects.has('proj_gone')).toBe(true)
    expect(byName('team-client')).toMatchObject({ active: true })
    // Even with exclusive, the client CA is not deactivated when the run's own certificate needs it.
    const rotate = await publishTo(emulator, root, {
      ...RETIRE,
      activate: 'true',
      exclusive: 'true',
      'prune-retired': 'all',
      'client-certificate': client.pem,
      'client-key': client.key
    })
    expect(rotate.code).toBe(1)
    expect(errorLine(rotate)).toMatch(/client/i)
    expect(writes().filter((r) => r.method === 'DELETE')).toHaveLength(1)
    expect(byName('team-client')).toMatchObject({ active: true })
    expect(byName('team-workloads')).toBeDefined()
  })
})
