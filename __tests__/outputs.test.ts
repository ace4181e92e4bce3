// Outputs a workflow branches on, the label of a run, and the reviewed-plan gate, from the bundle.
import { copyFile, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { DAY, makeCa } from '../tools/certs.mjs'
import type { Emulator } from '../tools/emulator.mjs'
import { commands, counts, emulators, publishTo, validate, visibleLog, workspace } from './helpers.js'

let emulator: Emulator
const startEmulator = emulators()

const writes = () => emulator.requests.filter((r) => r.method !== 'GET')

// A RUNNER_TEMP that outlives the run, as a later artifact upload step sees it (removed with the
// workspace).
const action = (root: string, inputs: Record<string, string> = {}) =>
  publishTo(
    emulator,
    root,
    { files: 'certs/**/*.pem', ...inputs },
    { env: { RUNNER_TEMP: join(root, '.runner-temp') }, organizationClient: true }
  )

describe('outputs to branch on', () => {
  it('validate: no change, the counts, and the earliest expiry among every certificate matched', async () => {
    const soon = await makeCa({
      cn: 'Soon',
      notBefore: new Date(Date.now() - 300 * DAY),
      notAfter: new Date(Date.now() + 20.5 * DAY)
    })
    const later = await makeCa({ cn: 'Later' })
    const leaf = await makeCa({ cn: 'Leaf', ca: false })
    const root = await workspace({
      'certs/a.pem': `${soon.pem}\n${later.pem}`,
      'certs/copy.pem': later.pem,
      'certs/leaf.pem': leaf.pem,
      'certs/junk.pem': 'not a certificate'
    })
    const run = await validate(root)
    expect(run.code).toBe(1)
    expect(run.outputs['has-changes']).toBe('false')
    expect(counts(run)).toEqual({
      found: 4,
      distinct: 3,
      valid: 2,
      invalid: 2,
      existing: 0,
      uploaded: 0,
      activated: 0,
      deactivated: 0,
      renamed: 0,
      deleted: 0,
      warnings: 1,
      errors: 2
    })
    expect(run.outputs['next-expiry']).toBe(soon.notAfter.toISOString())
    expect(run.outputs['days-until-next-expiry']).toBe('20')
    expect(run.outputs['plan-hash']).toBe('')
  })

  it('plan says what would change; publish, what did; a rerun, that nothing did', async () => {
    emulator = await startEmulator()
    const [a, b] = await Promise.all([makeCa({ cn: 'A' }), makeCa({ cn: 'B' })])
    emulator.seed(a.pem, 'a')
    const root = await workspace({ 'certs/a.pem': a.pem, 'certs/b.pem': b.pem })

    const plan = await action(root, { mode: 'plan' })
    expect(plan.code).toBe(0)
    expect(plan.outputs['has-changes']).toBe('true')
    expect(counts(plan)).toMatchObject({ found: 2, distinct: 2, valid: 2, existing: 1, uploaded: 1, activated: 0 })
    expect(writes()).toEqual([])

    const publish = await action(root, { activate: 'true' })
    expect(publish.code).toBe(0)
    expect(publish.outputs['has-changes']).toBe('true')
    expect(counts(publish)).toMatchObject({ existing: 1, uploaded: 1, activated: 2, deactivated: 0 })
    // The timeline of what is active once the run is done: both CAs, for the organization.
    const active = publish.summary.split('### Active after this run\n\n```mermaid\n')[1].split('\n```')[0]
    expect(active).toMatch(/section Active for the organization\n {4}a :active, [-\d]+, [-\d]+\n {4}b :active, /)
    expect(plan.summary).toContain(`Plan hash (for \`reviewed-plan\`): \`${plan.outputs['plan-hash']}\``)

    const again = await action(root, { activate: 'true' })
    expect(again.outputs['has-changes']).toBe('false')
    expect(counts(again)).toMatchObject({ existing: 2, uploaded: 0, activated: 0 })
    expect(Number(again.outputs['days-until-next-expiry'])).toBeGreaterThan(360)
  })

  it('names a labelled run in the summary heading and the log', async () => {
    const root = await workspace({ 'certs/ca.pem': (await makeCa()).pem })
    const run = await validate(root, { label: 'acme-prod' })
    expect(run.code).toBe(0)
    expect(run.summary).toMatch(/^## OpenAI certificates \(acme-prod\): validate$/m)
    expect(visibleLog(run)).toContain('OpenAI certificates (acme-prod): validate.')
    expect(visibleLog(run)).toMatch(/^\[acme-prod\] Checked 1 file/m)
    expect(run.summary).toContain('```mermaid\n%%{init: {"gantt": {"leftPadding": 170}}}%%\ngantt\n')
  })
})

describe('the summary and the log add up', () => {
  it('counts distinct certificates apart from blocks with none, and the summary does not point at itself', async () => {
    const [good, leaf] = await Promise.all([makeCa({ cn: 'Good' }), makeCa({ cn: 'Leaf', ca: false })])
    const root = await workspace({
      'certs/good.pem': good.pem,
      'certs/again.pem': good.pem,
      'certs/leaf.pem': leaf.pem,
      'certs/junk.pem': '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n'
    })
    const run = await validate(root)
    expect(run.code).toBe(1)
    const headline =
      'Checked 4 files, 3 certificates (2 distinct): 1 valid, 1 invalid, 1 block or file with no certificate;'
    expect(visibleLog(run)).toContain(headline)
    expect(run.summary).toContain(headline)
    // The log's last line points at the annotations; the summary (and a PR comment) lists the problems itself.
    expect(commands(run, 'error').at(-1)!.message).toMatch(/fix the certificates annotated above \(the job summary/)
    expect(run.summary).toMatch(/> \[!CAUTION\]\n> 2 errors in 2 files: fix the certificates listed below\.\n/)
    expect(run.summary).not.toContain('annotated above')
  })

  it("if-no-files-found: warn counts its warning, in the log, the summary and 'counts'", async () => {
    const root = await workspace({ 'other/x.txt': 'x' })
    const run = await validate(root, { 'if-no-files-found': 'warn' })
    expect(run.code).toBe(0)
    expect(commands(run, 'warning')).toHaveLength(1)
    expect(visibleLog(run)).toContain('Checked 0 files, 0 certificates: nothing found; 0 errors, 1 warning.')
    expect(run.summary).toMatch(/> \[!WARNING\]\n> No files matched 'certs\/\*\.pem'/)
    expect(counts(run).warnings).toBe(1)
  })

  it('shows a certificate already there under its name in the organization, and the timeline names a project in full', async () => {
    emulator = await startEmulator()
    emulator.addProject({ id: 'proj_payments' })
    const ca = await makeCa({ cn: 'Payments CA' })
    emulator.seed(ca.pem, 'named-by-hand')
    const root = await workspace({ 'certs/payments.pem': ca.pem })
    const plan = await action(root, {
      mode: 'plan',
      name: '{cn}',
      'sync-names': 'true',
      activate: 'true',
      'project-ids': 'proj_payments'
    })
    expect(plan.code).toBe(0)
    expect(visibleLog(plan)).toMatch(/would-rename +certs\/payments\.pem:1 'named-by-hand' /)
    expect(plan.summary).toMatch(/\| 📝 would-rename \| named-by-hand \|/)
    expect(plan.summary).toMatch(/\| rename from named-by-hand \| Payments CA /)
    expect(plan.summary).toContain('    section Active in proj_payments\n')
  })
})

describe('reviewed-plan gate', () => {
  async function rotation() {
    emulator = await startEmulator()
    const [old, next, intruder] = await Promise.all([
      makeCa({ cn: 'Old' }),
      makeCa({ cn: 'Next' }),
      makeCa({ cn: 'Intruder', notBefore: new Date(Date.now() - 2 * DAY) })
    ])
    const stored = emulator.seed(old.pem, 'old')
    stored.active = true
    const root = await workspace({ 'certs/next.pem': next.pem })
    return { root, intruder, stored }
  }
  const rotate = { activate: 'true', exclusive: 'true' }

  it('plan hashes the plan and writes it; publish with that hash applies it', async () => {
    const { root, stored } = await rotation()
    const plan = await action(root, { mode: 'plan', ...rotate })
    expect(plan.code).toBe(0)
    const hash = plan.outputs['plan-hash']
    expect(hash).toMatch(/^[0-9a-f]{64}$/)
    expect(JSON.parse(plan.outputs.plan)).toMatchObject({
      version: 1,
      relies_on: [{ id: stored.id, name: 'old', active: true, projects: [] }]
    })
    const file = JSON.parse(await readFile(plan.outputs['plan-file'], 'utf8'))
    expect(file.hash).toBe(hash)
    expect(file.changes.map((c: { action: string }) => c.action).sort()).toEqual(['activate', 'deactivate', 'upload'])
    // The same organization gives the same hash.
    expect((await action(root, { mode: 'plan', ...rotate })).outputs['plan-hash']).toBe(hash)

    const publish = await action(root, { ...rotate, 'reviewed-plan': hash })
    expect(publish.code).toBe(0)
    expect(publish.outputs['plan-hash']).toBe(hash)
    expect(emulator.certificates.map((c) => [c.name, c.active])).toEqual([
      ['old', false],
      ['next', true]
    ])
  })

  it('refuses, changing nothing, when the organization changed since the review, and says what changed', async () => {
    const { root, intruder } = await rotation()
    const plan = await action(root, { mode: 'plan', ...rotate })
    const hash = plan.outputs['plan-hash']
    const reviewed = join(root, 'reviewed-plan.json')
    await copyFile(plan.outputs['plan-file'], reviewed)

    // Someone activates another CA by hand before the merge: publish would now deactivate it too.
    emulator.seed(intruder.pem, 'by-hand').active = true
    emulator.requests.length = 0
    const before = JSON.stringify(emulator.certificates)
    const refused = await action(root, { ...rotate, 'reviewed-plan': 'reviewed-plan.json' })
    expect(refused.code).toBe(1)
    expect(writes()).toEqual([])
    expect(JSON.stringify(emulator.certificates)).toBe(before)
    const error = commands(refused, 'error').at(-1)!.message
    expect(error).toMatch(
      new RegExp(
        `^The plan changed since it was reviewed \\(approved plan-hash ${hash.slice(0, 12)}…, now [0-9a-f]{12}…\\), so nothing was changed: now also deactivate 'by-hand' \\(cert_[^)]+\\) for the organization\\. Review the new plan and approve its hash\\.$`
      )
    )
    expect(refused.outputs['plan-hash']).not.toBe(hash)
    expect(refused.outputs['has-changes']).toBe('false')

    // Given the hash alone (no plan file to compare with), it lists the new plan.
    const blind = await action(root, { ...rotate, 'reviewed-plan': hash })
    expect(blind.code).toBe(1)
    expect(commands(blind, 'error').at(-1)!.message).toContain('so nothing was changed: the plan is now: ')
    expect(writes()).toEqual([])
  })

  it("refuses a hash written in another form ('sha256:…', quoted) as a hash, not as a missing file", async () => {
    const { root } = await rotation()
    const hash = (await action(root, { mode: 'plan', ...rotate })).outputs['plan-hash']
    emulator.requests.length = 0
    for (const value of [`sha256:${hash}`, `"${hash}"`, `'${hash}'`]) {
      const run = await action(root, { ...rotate, 'reviewed-plan': value })
      expect(run.code).toBe(1)
      expect(commands(run, 'error').at(-1)!.message).toBe(
        `Input 'reviewed-plan' is '${value}', which looks like a plan hash in another form: give the 'plan-hash' output as it is, 64 hex digits alone (no 'sha256:' prefix, no quotes), or the reviewed run's plan file.`
      )
    }
    expect(emulator.requests).toEqual([])
  })

  it('refuses a plan file edited after the plan run wrote it (its content no longer gives its hash)', async () => {
    const { root } = await rotation()
    const plan = await action(root, { mode: 'plan', ...rotate })
    const file = JSON.parse(await readFile(plan.outputs['plan-file'], 'utf8'))
    // Edited by hand: the deactivation dropped, the hash left as it was.
    const edited = { ...file, changes: file.changes.filter((c: { action: string }) => c.action !== 'deactivate') }
    await writeFile(join(root, 'edited-plan.json'), JSON.stringify(edited))
    emulator.requests.length = 0
    const before = JSON.stringify(emulator.certificates)
    const run = await action(root, { ...rotate, 'reviewed-plan': 'edited-plan.json' })
    expect(run.code).toBe(1)
    expect(commands(run, 'error').at(-1)!.message).toMatch(
      new RegExp(
        `^Input 'reviewed-plan' \\(edited-plan\\.json\\) does not match its own 'hash' field \\(${file.hash.slice(0, 12)}…, its content hashes to [0-9a-f]{12}…\\): the file was changed after the plan run wrote it\\.`
      )
    )
    expect(writes()).toEqual([])
    expect(JSON.stringify(emulator.certificates)).toBe(before)
    // The file as written passes the gate.
    await writeFile(join(root, 'plan.json'), JSON.stringify(file))
    expect((await action(root, { ...rotate, 'reviewed-plan': 'plan.json' })).code).toBe(0)
  })

  it('refuses a hash that is not one, before any request', async () => {
    const { root } = await rotation()
    const run = await action(root, { 'reviewed-plan': 'abc' })
    expect(run.code).toBe(1)
    expect(commands(run, 'error').at(-1)!.message).toBe(
      "Input 'reviewed-plan' is 'abc': give the reviewed plan run's plan file (its 'plan-file' output, downloaded into the workspace) or its 'plan-hash' output (64 hex digits)."
    )
    expect(emulator.requests).toEqual([])

    // A reviewed plan is read only inside the workspace, by its real path.
    const outsideFile = `${root}-outside-plan.json`
    await writeFile(outsideFile, '{"version":1,"changes":[],"relies_on":[]}')
    await symlink(outsideFile, join(root, 'plan.json'))
    for (const file of [`../${basename(outsideFile)}`, 'plan.json']) {
      const outside = await action(root, { ...rotate, 'reviewed-plan': file })
      expect(outside.code).toBe(1)
      expect(commands(outside, 'error').at(-1)!.message).toBe(
        `Input 'reviewed-plan' (${file}) is outside the workspace: download the plan artifact into the workspace.`
      )
    }
    expect(writes()).toEqual([])
    await rm(outsideFile)
  })
})
