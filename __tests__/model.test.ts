// Model-based test (issue 19, "Beyond the list"). fast-check generates organization states (0–50
// certificates: copies of one certificate, active at the organization or in projects, expired
// ones, names that match the template or not), file sets (bundles, a certificate in two files),
// inputs (activate, exclusive, project-ids, prune-expired, sync-names, max-retries, a client
// certificate, managed-names, prune-retired; projects, one archived) and API faults (5xx, 429, resets, a store then a lost answer, half-applied and
// unapplied activations, lagging listings), and sometimes a second run at once. Each case runs
// the bundled action against the emulator: plan, publish with the faults, then publish with them
// cleared until nothing is left to do. After every run it checks (see model.ts): never over 50; no
// duplicate created; no scope left with no active CA that had one; the next run not locked out;
// outputs equal to the store (every id named exists and holds its certificate; uploaded, deleted,
// activated, deactivated and renamed ids are exactly what changed); plan then publish make the
// same changes; a second identical publish writes nothing; after the faults, one run converges.
//
// Bounded: MODEL_RUNS cases (default 150) from MODEL_SEED (default fixed), in MODEL_LANES lanes
// (default 2) that run at once, each with its own emulator reset between cases. A failure prints
// the seed, the path and the shrunk case; replay it with MODEL_SEED=… MODEL_PATH=… MODEL_LANES=1.
import fc from 'fast-check'
import { startEmulator } from '../tools/emulator.mjs'
import {
  beforeAnswer,
  type Case,
  type Lane,
  makeClients,
  makePools,
  type Pools,
  runCase,
  caseArb,
  Violation
} from './model.js'

const RUNS = Number(process.env.MODEL_RUNS ?? 150)
const SEED = Number(process.env.MODEL_SEED ?? 19_2026)
const LANES = Number(process.env.MODEL_LANES ?? 2)
const PATH = process.env.MODEL_PATH
/** How long shrinking a failure may take before the best case so far is reported. */
const SHRINK_MS = Number(process.env.MODEL_SHRINK_MS ?? 120_000)

let pools: Pools
let clients: Lane['clients']
const lanes: Lane[] = []

beforeAll(async () => {
  pools = await makePools()
  clients = await makeClients(pools)
  for (let i = 0; i < LANES; i++) {
    const lane = {} as Lane
    const emulator = await startEmulator({ beforeAnswer: beforeAnswer(() => lane) })
    Object.assign(lane, { emulator, pools, clients, watchers: new Set() })
    lanes.push(lane)
  }
}, 60_000)

afterAll(async () => {
  await Promise.all(lanes.map((lane) => lane.emulator.close()))
})

/** A case as a person reads it: one line per part. */
function describeCase(c: Case): string {
  const stored = c.stored.map(
    (s) =>
      `  ${s.cert}${s.name === 'template' ? '' : ` name=${s.name}`}${s.org ? ' active@org' : ''}${s.projects.map((p) => ` active@${p}`).join('')}`
  )
  const inputs = (i: Case['inputs']) => JSON.stringify({ ...i, files: i.files.map((f) => f.map((n) => `ca-${n}`)) })
  return [
    `organization (${c.stored.length}, oldest first):`,
    ...(stored.length ? stored : ['  (empty)']),
    `inputs: ${inputs(c.inputs)}`,
    `faults: ${JSON.stringify(c.faults)}${c.lag ? `, listings lag ${c.lag} calls` : ''}`,
    ...(c.racer ? [`another run at once: ${inputs(c.racer)}`] : [])
  ].join('\n')
}

it(
  `keeps every invariant over ${RUNS} generated cases (seed ${SEED}, ${LANES} lanes)`,
  async () => {
    const failures: string[] = []
    await Promise.all(
      lanes.map(async (lane, i) => {
        const seed = SEED + i
        let failedAt: number | undefined
        const details = await fc.check(
          fc.asyncProperty(caseArb, async (c) => {
            // Past the shrinking budget, every further candidate passes: the smallest so far is reported.
            if (failedAt !== undefined && Date.now() - failedAt > SHRINK_MS) return
            try {
              await runCase(lane, c)
            } catch (error) {
              failedAt ??= Date.now()
              throw error
            }
          }),
          { seed, numRuns: Math.ceil(RUNS / LANES), ...(PATH ? { path: PATH } : {}) }
        )
        if (!details.failed) return
        const [c] = details.counterexample ?? []
        const error = details.errorInstance
        const what = error instanceof Violation ? error.message : String(error instanceof Error ? error.stack : error)
        failures.push(
          [
            `Model case failed (lane ${i}): ${what}`,
            `replay: MODEL_SEED=${seed} MODEL_PATH=${details.counterexamplePath} MODEL_LANES=1 npm test -- __tests__/model.test.ts`,
            `shrunk ${details.numShrinks} times`,
            c ? describeCase(c) : '(no counterexample)'
          ].join('\n')
        )
      })
    )
    if (failures.length > 0) throw new Error(failures.join('\n\n'))
  },
  15 * 60_000 + SHRINK_MS
)
