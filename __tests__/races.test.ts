// Two runs at once, and an API whose answers cannot be taken at their word: the bundled action
// against one emulator, asserting on what the organization holds afterwards.
import { makeCa } from '../tools/certs.mjs'
import type { Emulator, EmulatorOptions } from '../tools/emulator.mjs'
import { commands, emulators, ids, publishTo, results, visibleLog, workspace } from './helpers.js'

let emulator: Emulator
const startEmulator = emulators()

const LIST = '/organization/certificates'
type Request = Emulator['requests'][number]

/**
 * Holds the first `n` requests that `match` until all `n` have arrived, so that two runs are sure
 * to overlap: both take their inventory before either writes. (No time limit: on a loaded machine
 * a process can take many seconds to start; the test's own timeout ends a run that never comes.)
 */
function barrier(n: number, match: (r: Request) => boolean) {
  const waiting: (() => void)[] = []
  let seen = 0
  return (r: Request): Promise<void> | void => {
    if (!match(r) || seen >= n) return
    seen++
    return new Promise<void>((resolve) => {
      waiting.push(resolve)
      if (waiting.length === n) for (const release of waiting) release()
    })
  }
}
const inventories = (r: Request) => r.method === 'GET' && r.path === LIST

const uploads = (r: Request) => r.method === 'POST' && r.path === LIST

/** An emulator where two runs take their inventory together (and, with `holdUploads`, upload together). */
async function start(options: EmulatorOptions = {}, watch?: () => void, holdUploads = false) {
  const holdInventories = barrier(2, inventories)
  const holdUpload = barrier(holdUploads ? 2 : 0, uploads)
  emulator = await startEmulator({
    latencyMs: 10,
    beforeAnswer: async (r) => {
      watch?.()
      await holdInventories(r)
      await holdUpload(r)
    },
    ...options
  })
  emulator.addProject({ id: 'proj_a' })
}

// Runs here retry once: a race shows in a few requests, not in waits.
const publish = (root: string, inputs: Record<string, string> = {}) =>
  publishTo(emulator, root, { 'max-retries': '1', ...inputs }, { organizationClient: true })

async function certs(count: number, prefix = 'ca') {
  const made = await Promise.all(Array.from({ length: count }, (_, i) => makeCa({ cn: `${prefix} ${i}` })))
  return Object.fromEntries(made.map((m, i) => [`certs/${prefix}-${i}.pem`, m.pem]))
}

const posts = () => emulator.requests.filter((r) => r.method === 'POST' && r.path === LIST)
const writes = () => emulator.requests.filter((r) => r.method !== 'GET')
const sorted = (list: string[]) => [...list].sort()
/** The id the organization holds for each local certificate, by content. */
const storedIdsOf = (files: Record<string, string>) =>
  sorted(
    Object.values(files).map((pem) => {
      const copies = emulator.certificates.filter((c) => c.content.replace(/\s/g, '') === pem.replace(/\s/g, ''))
      expect(copies).toHaveLength(1)
      return copies[0].id
    })
  )

/** Two processes at once on a loaded 2-core machine: room to start. */
const RACE_TIMEOUT = 90_000

describe('two runs at once', () => {
  it(
    'with the same 3 new certificates: 3 stored, once each, and both runs name the ids kept',
    async () => {
      await start()
      const files = await certs(3)
      const [a, b] = await Promise.all([publish(await workspace(files)), publish(await workspace(files))])
      expect([a.code, b.code]).toEqual([0, 0])
      // Both uploaded all three (the race happened), and each deleted only its own extra copies.
      expect(posts()).toHaveLength(6)
      expect(emulator.certificates).toHaveLength(3)
      const kept = storedIdsOf(files)
      for (const run of [a, b]) {
        expect(sorted(results(run).map((r) => r.id!))).toEqual(kept)
        expect(sorted(ids(run, 'certificate-ids'))).toEqual(kept)
        expect(run.outputs['slots-left']).toBe('47')
      }
      const deleted = emulator.requests.filter((r) => r.method === 'DELETE').map((r) => r.path.split('/').pop())
      expect(deleted).toHaveLength(3)
      expect(deleted.some((id) => kept.includes(id!))).toBe(false)
    },
    RACE_TIMEOUT
  )

  it(
    'while listings lag 2.5 s behind writes: each run waits for its own uploads to show, and one copy of each is left',
    async () => {
      await start({ listLag: { ms: 2500 } })
      const files = await certs(2)
      const [a, b] = await Promise.all([publish(await workspace(files)), publish(await workspace(files))])
      expect([a.code, b.code]).toEqual([0, 0])
      expect(emulator.certificates).toHaveLength(2)
      const kept = storedIdsOf(files)
      for (const run of [a, b]) {
        expect(sorted(results(run).map((r) => r.id!))).toEqual(kept)
        expect(run.outputs['slots-left']).toBe('48')
      }
    },
    RACE_TIMEOUT
  )

  it(
    'a run that cannot delete its own second copy (the delete refused) fails naming it, after everything else',
    async () => {
      await start({}, undefined, true)
      const files = await certs(1)
      emulator.faults.push({ method: 'DELETE', path: /^\/organization\/certificates\//, status: 500, times: 2 })
      const inputs = { 'max-retries': '0', activate: 'true', 'project-ids': 'proj_a' }
      const [a, b] = await Promise.all([
        publish(await workspace(files), inputs),
        publish(await workspace(files), inputs)
      ])
      // Both stored a copy; the one not kept is still there, and the run that stored it says so.
      expect(emulator.certificates).toHaveLength(2)
      const [kept, extra] = [...emulator.certificates].sort(
        (x, y) => x.created_at - y.created_at || (x.id < y.id ? -1 : 1)
      )
      const failed = [a, b].filter((run) => run.code !== 0)
      expect(failed).toHaveLength(1)
      expect(commands(failed[0], 'error').at(-1)!.message).toMatch(
        new RegExp(
          `^This run may have left a duplicate: ${extra.id}, this run's second copy of 'ca-0' \\(${kept.id} is kept\\), could not be deleted\\. Look at ${extra.id} in the organization's settings`
        )
      )
      // The rest of its work is done: the kept copy is active in the project, and reported.
      expect([...kept.projects]).toEqual(['proj_a'])
      for (const run of [a, b]) expect(ids(run, 'certificate-ids')).toEqual([kept.id])
    },
    RACE_TIMEOUT
  )

  it(
    'a run that stops for another reason after it could not delete its own second copy still names it',
    async () => {
      await start({}, undefined, true)
      const files = await certs(1)
      emulator.faults.push({ method: 'DELETE', path: /^\/organization\/certificates\//, status: 500, times: 2 })
      emulator.faults.push({ method: 'POST', path: /\/activate$/, status: 500, times: 2 })
      const inputs = { 'max-retries': '0', activate: 'true', 'project-ids': 'proj_a' }
      const [a, b] = await Promise.all([
        publish(await workspace(files), inputs),
        publish(await workspace(files), inputs)
      ])
      expect(emulator.certificates).toHaveLength(2)
      const extra = [...emulator.certificates].sort((x, y) => x.created_at - y.created_at || (x.id < y.id ? -1 : 1))[1]
      const lines = [a, b].map((run) => commands(run, 'error').at(-1)!.message)
      const naming = lines.filter((line) => line.includes(`This run may have left a duplicate: ${extra.id}`))
      expect(naming).toHaveLength(1)
      expect(naming[0]).toMatch(/^The OpenAI API failed to activate .*This run may have left a duplicate/)
    },
    RACE_TIMEOUT
  )

  /**
   * Two runs upload one certificate at once; once both copies are stored, reading copy `which`
   * (0 the older, 1 the newer) fails `times` times, with no retry.
   */
  async function unreadableCopy(which: 0 | 1, times: number) {
    let id: string | undefined
    await start(
      {},
      () => {
        if (id || emulator.certificates.length < 2) return
        id = emulator.certificates[which].id
        emulator.faults.push({ method: 'GET', path: `/organization/certificates/${id}`, status: 500, times })
      },
      true
    )
    const files = await certs(1)
    const runs = await Promise.all([
      publish(await workspace(files), { 'max-retries': '0' }),
      publish(await workspace(files), { 'max-retries': '0' })
    ])
    expect(emulator.certificates).toHaveLength(2)
    return { runs, id: id! }
  }

  it(
    "a run that cannot read the other run's copy to compare it fails naming it, rather than pass with a duplicate",
    async () => {
      // The run with the newer copy, which alone must read the older one, cannot tell that its own
      // copy is the second one.
      const { runs, id: older } = await unreadableCopy(0, 1)
      const failed = runs.filter((run) => run.code !== 0)
      expect(failed).toHaveLength(1)
      expect(commands(failed[0], 'error').at(-1)!.message).toMatch(
        new RegExp(
          `^This run may have left a duplicate: ${older}, stored by someone else meanwhile, could not be read to tell whether it is a copy`
        )
      )
    },
    RACE_TIMEOUT
  )

  it(
    'a run that cannot read its own second copy to confirm it fails naming it, rather than pass with a duplicate',
    async () => {
      // Found by the model: the run that stored the newer copy cannot confirm that it is the second
      // copy before deleting it.
      const { runs, id: newer } = await unreadableCopy(1, 10)
      const owner = runs.find((run) => run.stdout.includes(`Uploaded`) && run.stdout.includes(`(${newer})`))!
      expect(owner.code).toBe(1)
      expect(commands(owner, 'error').at(-1)!.message).toContain(`This run may have left a duplicate: ${newer}`)
    },
    RACE_TIMEOUT
  )

  it(
    'runs whose read-back after the uploads fails say they could not check for a copy, naming their uploads',
    async () => {
      await start({}, undefined, true)
      const files = await certs(1)
      // The two inventories get through; the read-back list of each run fails, with no retry.
      emulator.faults.push({ method: 'GET', path: LIST, status: 500, skip: 2, times: 2 })
      const [a, b] = await Promise.all([
        publish(await workspace(files), { 'max-retries': '0' }),
        publish(await workspace(files), { 'max-retries': '0' })
      ])
      expect(emulator.certificates).toHaveLength(2)
      for (const run of [a, b]) {
        expect(run.code).toBe(1)
        const [id] = ids(run, 'uploaded-ids')
        expect(emulator.certificates.map((c) => c.id)).toContain(id)
        expect(commands(run, 'error').at(-1)!.message).toMatch(
          new RegExp(
            `It came after this run's uploads, so it could not check for a copy another run stored at the same time: look at ${id} in the organization's settings`
          )
        )
      }
    },
    RACE_TIMEOUT
  )

  it(
    '47 held and the same 3 new in each: all 3 stored once, never over 50, and a rerun is a no-op',
    async () => {
      let most = 0
      await start({}, () => (most = Math.max(most, emulator.certificates.length)))
      for (let i = 0; i < 47; i++) emulator.seed((await makeCa({ cn: `held ${i}` })).pem)
      const files = await certs(3)
      const root = await workspace(files)
      const [a, b] = await Promise.all([publish(root), publish(await workspace(files))])
      most = Math.max(most, emulator.certificates.length)
      expect(most).toBeLessThanOrEqual(50)
      expect(emulator.certificates).toHaveLength(50)
      const kept = storedIdsOf(files)
      for (const run of [a, b]) {
        expect(run.code).toBe(0)
        expect(sorted(results(run).map((r) => r.id!))).toEqual(kept)
      }

      emulator.requests.length = 0
      const rerun = await publish(root)
      expect(rerun.code).toBe(0)
      expect(writes()).toEqual([])
      expect(results(rerun).map((r) => r.status)).toEqual(['existing', 'existing', 'existing'])
    },
    RACE_TIMEOUT
  )

  it(
    '47 held, the uploads interleaved so that each run stores some and the cap refuses the rest: all 3 stored once',
    async () => {
      // Each run names its uploads after itself, so the emulator can let them in turn by turn.
      const order = ['ca-0 a', 'ca-0 b', 'ca-1 a', 'ca-1 b', 'ca-2 a', 'ca-2 b']
      const held: { name: string; release: () => void }[] = []
      // What the organization held as each upload was let in: a run may later delete its own copy
      // of a duplicate (the kept copy is the older one), so the end state cannot show who stored what.
      const stored: string[] = []
      await start({
        beforeAnswer: async (r) => {
          if (!uploads(r) || held.length === order.length) return
          await new Promise<void>((release) => {
            held.push({ name: (r.body as { name: string }).name, release })
            if (held.length < order.length) return
            void (async () => {
              // Each in turn, once the one before is stored (or the cap is full): a loaded machine
              // must not reorder them (bounded: 100 looks of 20 ms each).
              for (const name of order) {
                held.find((h) => h.name === name)!.release()
                for (let look = 0; look < 100; look++) {
                  if (emulator.certificates.some((c) => c.name === name)) {
                    stored.push(name)
                    break
                  }
                  if (emulator.certificates.length >= 50) break
                  await new Promise((resolve) => setTimeout(resolve, 20))
                }
              }
            })()
          })
        }
      })
      for (let i = 0; i < 47; i++) emulator.seed((await makeCa({ cn: `held ${i}` })).pem)
      const files = await certs(3)
      const [a, b] = await Promise.all([
        publish(await workspace(files), { name: '{stem} a' }),
        publish(await workspace(files), { name: '{stem} b' })
      ])
      expect(emulator.certificates).toHaveLength(50)
      const kept = storedIdsOf(files)
      // Both runs stored some: the first three uploads let in were a's ca-0, b's ca-0, a's ca-1.
      expect(stored.slice(0, 3)).toEqual(['ca-0 a', 'ca-0 b', 'ca-1 a'])
      for (const run of [a, b]) {
        expect(run.code).toBe(0)
        expect(sorted(results(run).map((r) => r.id!))).toEqual(kept)
      }
    },
    RACE_TIMEOUT
  )

  it(
    'when a non-atomic cap lets two uploads pass it, stops with an error that names the extra certificate',
    async () => {
      await start({ storeDelayMs: 300 }, undefined, true)
      for (let i = 0; i < 49; i++) emulator.seed((await makeCa({ cn: `held ${i}` })).pem)
      const [a, b] = await Promise.all([
        publish(await workspace(await certs(1, 'a'))),
        publish(await workspace(await certs(1, 'b')))
      ])
      expect(emulator.certificates).toHaveLength(51)
      const newest = emulator.certificates.at(-1)!
      for (const run of [a, b]) {
        expect(run.code).toBe(1)
        expect(commands(run, 'error').at(-1)!.message).toMatch(
          new RegExp(
            `^The organization holds 51 certificates, more than the 50 it may hold .*: the newest is ${newest.id}`
          )
        )
      }
    },
    RACE_TIMEOUT
  )

  it(
    'two exclusive rotations from different commits never leave the organization without an active CA',
    async () => {
      let lowest = Infinity
      await start({}, () => (lowest = Math.min(lowest, emulator.certificates.filter((c) => c.active).length)))
      const old = emulator.seed((await makeCa({ cn: 'Old CA' })).pem, 'old')
      old.active = true
      const inputs = { activate: 'true', exclusive: 'true' }
      const [a, b] = await Promise.all([
        publish(await workspace(await certs(1, 'a')), inputs),
        publish(await workspace(await certs(1, 'b')), inputs)
      ])
      lowest = Math.min(lowest, emulator.certificates.filter((c) => c.active).length)
      expect(lowest).toBeGreaterThanOrEqual(1)
      expect(old.active).toBe(false)
      for (const run of [a, b]) {
        // Whatever each run says, its outputs match the organization.
        const [mine] = ids(run, 'certificate-ids')
        const stored = emulator.certificates.find((c) => c.id === mine)!
        expect(ids(run, 'activated-ids').every((id) => emulator.certificates.find((c) => c.id === id)?.active)).toBe(
          true
        )
        if (run.code === 0) expect(stored.active).toBe(true)
      }
    },
    RACE_TIMEOUT
  )
})

describe('two exclusive rotations, interleaved the worst way', () => {
  it(
    'the run whose certificate the other deactivated activates it again and fails, so the CA stays active',
    async () => {
      // The organization holds `a`, active, from an older commit. Run B (the new commit) rotates to
      // `b`; its deactivation of `a` is held back while run A (the older commit, files [a]) runs
      // whole: A sees `b` active and not in its files, so exclusive deactivates it. Then B's
      // deactivation of `a` lands: without a second look, nothing would be active.
      const a = await makeCa({ cn: 'a' })
      const b = await makeCa({ cn: 'b' })
      const inputs = { activate: 'true', exclusive: 'true' }
      const rootA = await workspace({ 'certs/a.pem': a.pem })
      const rootB = await workspace({ 'certs/b.pem': b.pem })
      let runA: ReturnType<typeof publish> | undefined
      emulator = await startEmulator({
        beforeAnswer: async (r) => {
          if (r.method === 'POST' && r.path === '/organization/certificates/deactivate' && !runA) {
            runA = publish(rootA, inputs)
            await runA
          }
        }
      })
      const stored = emulator.seed(a.pem, 'a')
      stored.active = true
      const runB = await publish(rootB, inputs)
      const first = await runA!
      expect(emulator.certificates.filter((c) => c.active).length).toBeGreaterThanOrEqual(1)

      const bStored = emulator.certificates.find((c) => c.id !== stored.id)!
      expect(first.code).toBe(0)
      expect(ids(first, 'deactivated-ids')).toEqual([bStored.id])
      expect(runB.code).toBe(1)
      expect(commands(runB, 'error').at(-1)!.message).toMatch(
        new RegExp(
          `^Another run deactivated ${bStored.id} in the organization while this run was rotating certificates`
        )
      )
      expect(bStored.active).toBe(true)
      expect(stored.active).toBe(false)
      expect(ids(runB, 'activated-ids')).toEqual([bStored.id])
      expect(ids(runB, 'deactivated-ids')).toEqual([stored.id])
    },
    RACE_TIMEOUT
  )
})

describe('an organization over the cap', () => {
  it('found over 50 before anything is written: an error that names the extra certificate', async () => {
    emulator = await startEmulator({ cap: 60 })
    for (let i = 0; i < 51; i++) emulator.seed((await makeCa({ cn: `held ${i}` })).pem, `held ${i}`)
    const run = await publish(await workspace(await certs(1)))
    expect(run.code).toBe(1)
    expect(writes()).toEqual([])
    const newest = emulator.certificates.at(-1)!
    expect(commands(run, 'error').at(-1)!.message).toMatch(
      new RegExp(
        `^The organization holds 51 certificates, more than the 50 it may hold .*: the newest is ${newest.id} \\(held 50\\)\\.`
      )
    )
  })
})

describe('duplicates a run could not remove', () => {
  it('a later run warns at the file and line, naming the copies and the one kept, and deletes nothing', async () => {
    emulator = await startEmulator()
    const files = await certs(1)
    const pem = files['certs/ca-0.pem']
    // Left by two runs that raced while listings lagged, or by a racer cancelled after its upload.
    const first = emulator.seed(pem, 'ca-0')
    const second = emulator.seed(pem, 'ca-0')
    const run = await publish(await workspace({ 'certs/ca-0.pem': `\n${pem}` }))
    expect(run.code).toBe(0)
    const warnings = commands(run, 'warning').filter((w) => /holds this certificate 2 times/.test(w.message))
    expect(warnings).toHaveLength(1)
    expect(warnings[0].properties).toBe('file=certs/ca-0.pem,line=2')
    expect(warnings[0].message).toContain(`${first.id}, ${second.id}`)
    expect(warnings[0].message).toContain(`${first.id}, stored first, is the one this action uses; delete ${second.id}`)
    expect(writes()).toEqual([])
    expect(emulator.certificates).toHaveLength(2)
    expect(results(run)[0]).toMatchObject({ status: 'existing', id: first.id })
    expect(run.summary).toContain(second.id)
  })
})

describe('uploads whose answers cannot be taken at their word', () => {
  it('an upload answered with an id that does not exist: the certificate is found by its content', async () => {
    emulator = await startEmulator()
    const files = await certs(1)
    emulator.faults.push({
      method: 'POST',
      path: LIST,
      rewrite: (answer: object) => ({ ...answer, id: 'cert_doesnotexist' })
    })
    const run = await publish(await workspace(files))
    expect(run.code).toBe(0)
    const [stored] = emulator.certificates
    expect(emulator.certificates).toHaveLength(1)
    expect(ids(run, 'uploaded-ids')).toEqual([stored.id])
    expect(results(run)[0]).toMatchObject({ status: 'uploaded', id: stored.id })
    expect(run.outputs.changes).not.toContain('cert_doesnotexist')
  })

  it('an upload answered with the id of another certificate, held before: that one is never touched', async () => {
    emulator = await startEmulator()
    const other = emulator.seed((await makeCa({ cn: 'someone else' })).pem, 'someone else')
    const files = await certs(1)
    emulator.faults.push({
      method: 'POST',
      path: LIST,
      rewrite: (answer: object) => ({ ...answer, id: other.id })
    })
    const run = await publish(await workspace(files), { activate: 'true' })
    expect(run.code).toBe(0)
    const mine = emulator.certificates.find((c) => c.id !== other.id)!
    expect(emulator.certificates).toHaveLength(2)
    expect(writes().filter((r) => r.method === 'DELETE')).toEqual([])
    expect([mine.active, other.active]).toEqual([true, false])
    expect(ids(run, 'uploaded-ids')).toEqual([mine.id])
    expect(ids(run, 'activated-ids')).toEqual([mine.id])
  })

  it('two uploads answered with the same id: neither is taken at its word, each is found by its content', async () => {
    emulator = await startEmulator({ latencyMs: 10 })
    emulator.addProject({ id: 'p1' })
    // Two new ones at once: both answered with the id of the one stored first.
    const more = await certs(2, 'new')
    emulator.faults.push({
      method: 'POST',
      path: LIST,
      times: 2,
      rewrite: (answer: object) => ({ ...answer, id: emulator.certificates[0].id })
    })
    const both = await publish(await workspace(more), { activate: 'true', 'project-ids': 'p1' })
    expect(both.code).toBe(0)
    expect(emulator.certificates).toHaveLength(2)
    const byContent = (pem: string) =>
      emulator.certificates.find((c) => c.content.replace(/\s/g, '') === pem.replace(/\s/g, ''))!
    for (const result of results(both)) {
      const stored = byContent(more[`certs/${result.name}.pem`])
      expect(result).toMatchObject({ status: 'uploaded', id: stored.id })
      expect([...stored.projects]).toEqual(['p1'])
    }
    expect(sorted(ids(both, 'activated-ids'))).toEqual(sorted(Object.values(more).map((pem) => byContent(pem).id)))
  })

  it('a listing that lags 2.5 s behind writes after an ambiguous upload: looks for long enough, never uploads twice', async () => {
    emulator = await startEmulator({ listLag: { ms: 2500 } })
    const files = await certs(1)
    emulator.faults.push({ method: 'POST', path: LIST, action: 'store-then-reset' })
    const run = await publish(await workspace(files), { 'timeout-seconds': '5' })
    expect(run.code).toBe(0)
    expect(posts()).toHaveLength(1)
    expect(emulator.certificates).toHaveLength(1)
    expect(ids(run, 'uploaded-ids')).toEqual([emulator.certificates[0].id])
    expect(run.outputs['slots-left']).toBe('49')
  })

  it("a listing that lags 3 s behind writes: the read-back counts the run's own uploads, read by id", async () => {
    emulator = await startEmulator({ listLag: { ms: 3000 } })
    const files = await certs(2)
    const run = await publish(await workspace(files))
    expect(run.code).toBe(0)
    expect(emulator.certificates).toHaveLength(2)
    expect(run.outputs['slots-left']).toBe('48')
    expect(run.summary).toMatch(/holds 2 of 50 certificates/)
  })

  it('a last allowed attempt that stored the certificate and then failed is reported uploaded', async () => {
    emulator = await startEmulator()
    const files = await certs(1)
    emulator.faults.push({ method: 'POST', path: LIST, status: 503 })
    emulator.faults.push({ method: 'POST', path: LIST, action: 'store-then-fail' })
    // A short look-for window: the 503 stored nothing, so the first look waits it out.
    const run = await publish(await workspace(files), { 'timeout-seconds': '4' })
    expect(run.code).toBe(0)
    expect(posts()).toHaveLength(2)
    const [stored] = emulator.certificates
    expect(emulator.certificates).toHaveLength(1)
    expect(results(run)[0]).toMatchObject({ status: 'uploaded', id: stored.id })
  })

  it('a listing that lags behind writes after an ambiguous upload: looks again, never uploads twice', async () => {
    emulator = await startEmulator({ listLag: { calls: 2 } })
    const files = await certs(1)
    emulator.faults.push({ method: 'POST', path: LIST, action: 'store-then-reset' })
    const run = await publish(await workspace(files))
    expect(run.code).toBe(0)
    expect(posts()).toHaveLength(1)
    expect(emulator.certificates).toHaveLength(1)
    expect(ids(run, 'uploaded-ids')).toEqual([emulator.certificates[0].id])
    expect(visibleLog(run)).toMatch(/'ca-0' is not listed yet; looking again in/)
  })

  it('when the cap refuses because another run took the last slot with the same certificate, counts it as existing', async () => {
    let other: { id: string } | undefined
    const files = await certs(1)
    // Another run stores the same certificate just before this run's upload arrives.
    emulator = await startEmulator({
      beforeAnswer: (r) => {
        if (r.method === 'POST' && r.path === LIST && !other) other = emulator.seed(Object.values(files)[0], 'ca-0')
      }
    })
    for (let i = 0; i < 49; i++) emulator.seed((await makeCa({ cn: `held ${i}` })).pem)
    const run = await publish(await workspace(files))
    expect(run.code).toBe(0)
    expect(emulator.certificates).toHaveLength(50)
    expect(posts()).toHaveLength(1)
    expect(results(run)[0]).toMatchObject({ status: 'existing', id: other!.id })
    expect(ids(run, 'uploaded-ids')).toEqual([])
  })
})

describe('runs at once whose upload answers are lost after the store committed', () => {
  /** The three ways an answer is lost once the copy is stored: a 500, a reset, an answer too late. */
  const losses = {
    '500 after the store': { action: 'store-then-fail' as const },
    'reset after the store': { action: 'store-then-reset' as const },
    'answer later than timeout-seconds': { action: 'trickle' as const, intervalMs: 1000 }
  }
  // `order`: whether the copies whose answers are lost are stored after the others (the kept copy
  // is then one whose run knows its id) or first (a lost answer's copy is the kept one).
  const cases = Object.keys(losses).flatMap((way) => [
    { way: way as keyof typeof losses, runs: 2, lost: 1, order: 'stored last' },
    { way: way as keyof typeof losses, runs: 2, lost: 1, order: 'stored first' },
    { way: way as keyof typeof losses, runs: 3, lost: 2, order: 'stored last' },
    { way: way as keyof typeof losses, runs: 3, lost: 3, order: 'all' }
  ])

  it.each(cases)(
    '$runs runs, $lost answers lost ($way, $order): one copy left, every id named exists, the counts are the store',
    async ({ way, runs, lost, order }) => {
      // All runs take their inventory, then upload, together; `lost` of the uploads lose their answer
      // (the emulator stores them in the order it takes their faults).
      const holdInventories = barrier(runs, inventories)
      const holdUploads = barrier(runs, uploads)
      emulator = await startEmulator({
        latencyMs: 10,
        beforeAnswer: async (r) => {
          await holdInventories(r)
          await holdUploads(r)
        }
      })
      for (let i = 0; i < 3; i++) emulator.seed((await makeCa({ cn: `held ${i}` })).pem, `held ${i}`)
      const skip = order === 'stored last' ? runs - lost : 0
      emulator.faults.push({ method: 'POST', path: LIST, times: lost, skip, ...losses[way] })
      const files = await certs(1)
      const inputs: Record<string, string> =
        way === 'answer later than timeout-seconds' ? { 'timeout-seconds': '2' } : {}
      const done = await Promise.all(Array.from({ length: runs }, async () => publish(await workspace(files), inputs)))
      // Every run uploaded (the race happened), and the round ends with one copy.
      expect(posts().length).toBeGreaterThanOrEqual(runs)
      expect(emulator.certificates).toHaveLength(4)
      const [kept] = storedIdsOf(files)
      const held = new Set(emulator.certificates.map((c) => c.id))
      for (const run of done) {
        expect(run.code).toBe(0)
        for (const output of ['certificate-ids', 'uploaded-ids', 'existing-ids', 'activated-ids'])
          for (const id of ids(run, output)) expect(held).toContain(id)
        expect(ids(run, 'certificate-ids')).toEqual([kept])
        expect(results(run)[0].id).toBe(kept)
        expect(run.outputs['slots-left']).toBe('46')
        expect(run.summary).toMatch(/holds 4 of 50 certificates/)
      }
    },
    RACE_TIMEOUT
  )

  it(
    'copies older than the lost upload, hidden from its inventory, are never deleted by it and are counted',
    async () => {
      const files = await certs(1)
      const pem = Object.values(files)[0]
      let older: { id: string; created_at: number }[] = []
      emulator = await startEmulator({
        beforeAnswer: (r) => {
          if (!uploads(r) || older.length > 0) return
          // Stored a minute before this upload, by runs the listing did not show in the inventory.
          older = [emulator.seed(pem, 'ca-0'), emulator.seed(pem, 'ca-0')]
          older.forEach((c, i) => (c.created_at = Math.floor(Date.now() / 1000) - 60 + i))
        }
      })
      emulator.faults.push({ method: 'POST', path: LIST, action: 'store-then-fail' })
      const run = await publish(await workspace(files))
      expect(run.code).toBe(0)
      // Its own copy is gone; the two older ones stay, and the first is the one named.
      expect(emulator.certificates.map((c) => c.id)).toEqual(older.map((c) => c.id))
      expect(ids(run, 'certificate-ids')).toEqual([older[0].id])
      expect(run.outputs['slots-left']).toBe('48')
      expect(run.summary).toMatch(/holds 2 of 50 certificates/)
    },
    RACE_TIMEOUT
  )

  it(
    'with activate: every run activates the one copy kept, and none is left active beside it',
    async () => {
      const holdInventories = barrier(2, inventories)
      const holdUploads = barrier(2, uploads)
      emulator = await startEmulator({
        latencyMs: 10,
        beforeAnswer: async (r) => {
          await holdInventories(r)
          await holdUploads(r)
        }
      })
      emulator.addProject({ id: 'p1' })
      // The second copy stored loses its answer: its run must not keep (nor activate) it.
      emulator.faults.push({ method: 'POST', path: LIST, action: 'store-then-fail', skip: 1 })
      const files = await certs(1)
      const inputs = { activate: 'true', 'project-ids': 'p1' }
      const done = await Promise.all([0, 1].map(async () => publish(await workspace(files), inputs)))
      expect(emulator.certificates).toHaveLength(1)
      const [stored] = emulator.certificates
      expect([...stored.projects]).toEqual(['p1'])
      for (const run of done) {
        expect(run.code).toBe(0)
        expect(ids(run, 'certificate-ids')).toEqual([stored.id])
        for (const id of ids(run, 'activated-ids')) expect(id).toBe(stored.id)
      }
    },
    RACE_TIMEOUT
  )
})
