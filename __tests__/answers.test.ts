// The bundled action against an API whose answers are odd: other shapes, other formats, PEM with
// any whitespace, another certificate's content, listings that never end. Whatever it is told, the
// action never uploads a possible duplicate on a guess, never follows a listing forever, and ends
// with its outputs, its summary and one clear error line.
import { DAY, makeCa } from '../tools/certs.mjs'
import type { Emulator, LoggedRequest } from '../tools/emulator.mjs'
import type { ActionRun } from '../tools/run-action.mjs'
import { commands, emulators, ids, publishTo, results, visibleLog, workspace } from './helpers.js'

let emulator: Emulator
const startEmulator = emulators()

const LIST = '/organization/certificates'
// Counted back from one fixed instant, so that no two validity windows meet.
const BASE = Math.floor(Date.now() / 1000) * 1000 - DAY
let made = 0
const distinctCa = () => makeCa({ cn: `CA ${made}`, notBefore: new Date(BASE - made++ * 1000) })

/** An organization that holds a copy of `mine`, and a workspace with `mine` and `fresh` in it. */
async function setUp() {
  emulator = await startEmulator()
  emulator.addProject({ id: 'p1' })
  const [mine, fresh, other] = await Promise.all([distinctCa(), distinctCa(), distinctCa()])
  const stored = emulator.seed(mine.pem, 'mine')
  const root = await workspace({ 'certs/mine.pem': mine.pem, 'certs/fresh.pem': fresh.pem })
  return { mine, fresh, other, stored, root }
}

// An odd answer is never retried into a good one here, and no run waits long.
const publish = (root: string, inputs: Record<string, string> = {}) =>
  publishTo(emulator, root, { 'max-retries': '1', 'timeout-seconds': '5', ...inputs })

const posts = () => emulator.requests.filter((r) => r.method === 'POST')
const reads = (id: string) => emulator.requests.filter((r) => r.method === 'GET' && r.path === `${LIST}/${id}`)
const lists = () => emulator.requests.filter((r) => r.method === 'GET' && r.path === LIST)

type Answer = Record<string, unknown> & { certificate_details: Record<string, unknown> }
type ListAnswer = { data: Answer[] } & Record<string, unknown>

/** Every listing of the organization, rewritten. */
function rewriteLists(rewrite: (answer: ListAnswer) => unknown) {
  emulator.faults.push({ method: 'GET', path: LIST, times: Infinity, rewrite })
}

/** Every read of certificate `id` with its content, the content rewritten. */
function rewriteContent(id: string, content: (pem: string) => unknown) {
  emulator.faults.push({
    method: 'GET',
    path: `${LIST}/${id}`,
    times: Infinity,
    rewrite: (answer: Answer) => {
      const details = { ...answer.certificate_details }
      const value = content(details.content as string)
      if (value === undefined) delete details.content
      else details.content = value
      return { ...answer, certificate_details: details }
    }
  })
}

/** What a user must always get: the outputs, the summary and exactly one error line, saying `pattern`. */
function expectCleanFailure(run: ActionRun, pattern: RegExp) {
  expect(run.code).toBe(1)
  const errors = commands(run, 'error')
  expect(errors).toHaveLength(1)
  expect(errors[0].message).toMatch(pattern)
  expect(run.outputs.results).toBeDefined()
  expect(run.outputs['uploaded-ids']).toBe('[]')
  expect(run.summary).toContain(errors[0].message)
  expect(run.stdout + run.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/)
}

const base64Of = (pem: string) => pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, '')
const linesOf = (pem: string) => base64Of(pem).match(/.{1,64}/g)!

describe('remote PEM, read whatever its whitespace', () => {
  it.each([
    ['on one line', (pem: string) => `-----BEGIN CERTIFICATE-----${base64Of(pem)}-----END CERTIFICATE-----`],
    [
      'with spaces for line breaks',
      (pem: string) => `-----BEGIN CERTIFICATE----- ${linesOf(pem).join(' ')} -----END CERTIFICATE-----`
    ],
    ['with CRLF line ends', (pem: string) => pem.replace(/\n/g, '\r\n')],
    ['without a final newline', (pem: string) => pem.trimEnd()],
    ['indented, with trailing blanks and blank lines', (pem: string) => `\n  ${pem.split('\n').join('  \n\t')}\n\n`]
  ])('%s: the copy is recognised and nothing is uploaded twice', async (_, form) => {
    const { stored, root } = await setUp()
    rewriteContent(stored.id, form)
    const run = await publish(root)
    expect(run.code).toBe(0)
    expect(ids(run, 'existing-ids')).toEqual([stored.id])
    expect(posts()).toHaveLength(1)
    expect(emulator.certificates).toHaveLength(2)
    expect(new Set(emulator.certificates.map((c) => c.content)).size).toBe(2)
  })
})

describe('list items in other shapes', () => {
  it.each([
    ['without certificate_details', (item: Answer) => void delete (item as Partial<Answer>).certificate_details],
    [
      'with dates as ISO text',
      (item: Answer) => {
        const d = item.certificate_details
        d.valid_at = new Date((d.valid_at as number) * 1000).toISOString()
        d.expires_at = new Date((d.expires_at as number) * 1000).toISOString()
        item.created_at = new Date((item.created_at as number) * 1000).toISOString()
      }
    ],
    [
      'with dates in milliseconds',
      (item: Answer) => {
        item.certificate_details.valid_at = (item.certificate_details.valid_at as number) * 1000
        item.certificate_details.expires_at = (item.certificate_details.expires_at as number) * 1000
      }
    ],
    ['with null details and no name', (item: Answer) => Object.assign(item, { certificate_details: null, name: 7 })]
  ])('%s: its content is read, so the copy is recognised', async (_, change) => {
    const { stored, root } = await setUp()
    rewriteLists((answer) => {
      answer.data.forEach(change)
      return answer
    })
    const run = await publish(root)
    expect(run.code).toBe(0)
    expect(ids(run, 'existing-ids')).toEqual([stored.id])
    expect(reads(stored.id)).toHaveLength(1)
    expect(posts()).toHaveLength(1)
    expect(emulator.certificates).toHaveLength(2)
  })

  it('an item without an id is an error, never a free slot', async () => {
    const { root } = await setUp()
    rewriteLists((answer) => {
      delete answer.data[0].id
      return answer
    })
    const run = await publish(root)
    expectCleanFailure(
      run,
      /^The OpenAI API answered an unexpected body while trying to list the organization certificates \(status 200, a certificate without an id \(item 1 of the page\)\)\./
    )
    expect(posts()).toEqual([])
    // An unreadable answer is a failed attempt: retried, then given up.
    expect(lists()).toHaveLength(2)
  })

  it.each([
    ['the organization listing', LIST, {}],
    [
      "a project's listing",
      '/organization/projects/p1/certificates',
      { activate: 'true', exclusive: 'true', 'project-ids': 'p1' }
    ]
  ])("an 'active' that is a string in %s is a shape error, never 'not active'", async (_, path, inputs) => {
    const { root, stored } = await setUp()
    stored.projects.add('p1')
    emulator.faults.push({
      method: 'GET',
      path,
      times: Infinity,
      rewrite: (answer: ListAnswer) => {
        for (const item of answer.data) item.active = String(item.active)
        return answer
      }
    })
    const run = await publish(root, inputs)
    expectCleanFailure(run, /an 'active' that is not true or false \("(true|false)"\)/)
    expect(posts()).toEqual([])
    expect(emulator.certificates).toHaveLength(1)
    expect([...stored.projects]).toEqual(['p1'])
  })

  it("an activation answered with an 'active' that is a string is a shape error", async () => {
    const { root, other } = await setUp()
    const old = emulator.seed(other.pem, 'old')
    old.projects.add('p1')
    emulator.faults.push({
      method: 'POST',
      path: '/organization/projects/p1/certificates/activate',
      times: Infinity,
      rewrite: (answer: ListAnswer) => {
        for (const item of answer.data) item.active = String(item.active)
        return answer
      }
    })
    const run = await publish(root, { activate: 'true', exclusive: 'true', 'project-ids': 'p1' })
    expect(run.code).not.toBe(0)
    expect(
      commands(run, 'error')
        .map((e) => e.message)
        .join('\n')
    ).toMatch(/an 'active' that is not true or false/)
    // The old CA, still the scope's only active one, is never deactivated on the strength of a bad answer.
    expect([...old.projects]).toEqual(['p1'])
  })

  it('a list without has_more is an error', async () => {
    const { root } = await setUp()
    rewriteLists((answer) => ({ ...answer, has_more: undefined }))
    expectCleanFailure(await publish(root), /a list without a true or false 'has_more'/)
    expect(posts()).toEqual([])
  })
})

describe('content that cannot be trusted stops the run before any upload', () => {
  it.each([
    ['null', () => null, /no PEM content \(certificate_details\.content is null\)/],
    ['missing', () => undefined, /no PEM content \(certificate_details\.content is missing\)/],
    ['a number', () => 42, /no PEM content \(certificate_details\.content is a number\)/],
    ['not PEM', () => 'hello', /sent content for it that is not one PEM certificate/],
    [
      'a PEM block that holds no certificate',
      () => '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----',
      /not one PEM certificate/
    ],
    ['two certificates', (pem: string) => pem + pem, /not one PEM certificate/]
  ])('content %s', async (_, content, message) => {
    const { stored, root } = await setUp()
    rewriteContent(stored.id, content)
    const run = await publish(root)
    expectCleanFailure(run, message)
    expect(commands(run, 'error')[0].message).toContain(stored.id)
    expect(commands(run, 'error')[0].message).toMatch(/the run stops rather than upload one on a guess/)
    expect(posts()).toEqual([])
    expect(emulator.certificates).toHaveLength(1)
  })

  it("another certificate's PEM: the window differs from the listed one", async () => {
    const { stored, other, root } = await setUp()
    rewriteContent(stored.id, () => other.pem)
    const run = await publish(root)
    expectCleanFailure(
      run,
      new RegExp(
        `^Certificate ${stored.id} in the organization could not be compared with the files: the OpenAI API listed it as valid from \\S+ to \\S+, but sent the PEM of a certificate valid from \\S+ to \\S+\\.`
      )
    )
    expect(posts()).toEqual([])
  })

  it('a read that keeps failing, after its retries', async () => {
    const { stored, root } = await setUp()
    emulator.faults.push({ method: 'GET', path: `${LIST}/${stored.id}`, status: 500, times: Infinity })
    const run = await publish(root)
    expectCleanFailure(run, new RegExp(`^The OpenAI API failed to read certificate ${stored.id} \\(500: `))
    expect(reads(stored.id)).toHaveLength(2)
    expect(posts()).toEqual([])
  })

  it('a 404 on a read means the certificate is gone: it is skipped, and the local one uploaded', async () => {
    const { stored, root } = await setUp()
    // Deleted by someone else right after this run listed it.
    rewriteLists((answer) => {
      // Once: the run lists again to read back its upload, and splice(-1) would take that.
      const at = emulator.certificates.findIndex((c) => c.id === stored.id)
      if (at >= 0) emulator.certificates.splice(at, 1)
      return answer
    })
    const run = await publish(root)
    expect(run.code).toBe(0)
    expect(visibleLog(run)).toContain(`Certificate ${stored.id} was deleted while this run read it; it is left out.`)
    expect(emulator.certificates).toHaveLength(2)
    expect(new Set(emulator.certificates.map((c) => c.content)).size).toBe(2)
    expect(ids(run, 'uploaded-ids').sort()).toEqual(emulator.certificates.map((c) => c.id).sort())
    expect(results(run).every((r) => r.status === 'uploaded')).toBe(true)
  })
})

describe('listings are bounded', () => {
  /** A list item whose window matches nothing local, so that it is never read. */
  const item = (n: number) => ({
    object: 'organization.certificate',
    id: `cert_${n}`,
    name: null,
    created_at: 1_700_000_000 + n,
    active: false,
    certificate_details: { valid_at: 1_700_000_000 + n, expires_at: 1_900_000_000 + n }
  })
  const page = (n: number, hasMore = true) => ({
    object: 'list',
    data: [item(n)],
    first_id: `cert_${n}`,
    last_id: `cert_${n}`,
    has_more: hasMore
  })
  const respond = (answer: (request: LoggedRequest) => unknown) =>
    emulator.faults.push({ method: 'GET', path: LIST, times: Infinity, respond: answer })

  it('a cursor that comes back (A → B → A) stops the run', async () => {
    const { root } = await setUp()
    respond((r) => page(r.query.after === 'cert_1' ? 2 : 1))
    const run = await publish(root)
    expectCleanFailure(
      run,
      /^The OpenAI API's listing went round in a circle \(cursor cert_1 came back after 3 pages\) while trying to list the organization certificates: stopped rather than follow it forever/
    )
    expect(lists().map((r) => r.query.after ?? null)).toEqual([null, 'cert_1', 'cert_2'])
    expect(posts()).toEqual([])
  })

  it('pages that never end stop at twice what an organization can hold', async () => {
    const { root } = await setUp()
    respond((r) => page(r.query.after ? Number(r.query.after.slice(5)) + 1 : 1))
    const run = await publish(root)
    expectCleanFailure(
      run,
      /^The OpenAI API listed more than 100 (pages|certificates) while trying to list the organization certificates, though an organization holds at most 50 certificates: stopped/
    )
    expect(lists().length).toBeLessThanOrEqual(101)
    expect(posts()).toEqual([])
  })

  it('pages that repeat a certificate under new cursors stop the run', async () => {
    const { root } = await setUp()
    respond((r) => ({ ...page(1), last_id: `cursor_${r.query.after ?? 0}` }))
    const run = await publish(root)
    expectCleanFailure(run, /^The OpenAI API listed certificate cert_1 twice while trying to list/)
    expect(lists()).toHaveLength(2)
  })

  it('a listing that ends is read whole, however small its pages', async () => {
    emulator = await startEmulator({ maxPageSize: 1 })
    const cas = await Promise.all(Array.from({ length: 12 }, () => distinctCa()))
    for (const ca of cas) emulator.seed(ca.pem)
    const root = await workspace({ 'certs/last.pem': cas[0].pem })
    const run = await publish(root)
    expect(run.code).toBe(0)
    expect(lists()).toHaveLength(12)
    expect(ids(run, 'existing-ids')).toEqual([emulator.certificates[0].id])
  })
})
