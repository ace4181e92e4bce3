// The emulator must speak the real protocol: the official SDK drives it here, as it would the API.
import OpenAI from 'openai'
import { makeCa } from '../tools/certs.mjs'
import { type Emulator, startEmulator } from '../tools/emulator.mjs'

let emulator: Emulator
let client: OpenAI

beforeEach(async () => {
  emulator = await startEmulator({ maxPageSize: 3 })
  client = new OpenAI({ adminAPIKey: emulator.adminKey, apiKey: null, baseURL: emulator.baseUrl, maxRetries: 0 })
})
afterEach(() => emulator.close())

const certificates = () => client.admin.organization.certificates

describe('emulator, driven by the official openai SDK', () => {
  it('uploads, lists across pages, reads content only when asked, renames and deletes', async () => {
    const made = await Promise.all([1, 2, 3, 4, 5].map((i) => makeCa({ cn: `CA ${i}` })))
    const uploaded = []
    for (const [i, ca] of made.entries())
      uploaded.push(await certificates().create({ certificate: ca.pem, name: `ca-${i}` }))
    expect(uploaded[0]).toMatchObject({
      object: 'certificate',
      name: 'ca-0',
      certificate_details: {
        valid_at: Math.floor(made[0].notBefore.getTime() / 1000),
        expires_at: Math.floor(made[0].notAfter.getTime() / 1000)
      }
    })
    expect(uploaded[0].certificate_details.content).toBeUndefined()

    const listed = []
    for await (const item of certificates().list({ limit: 100 })) listed.push(item)
    expect(listed.map((c) => c.name)).toEqual(['ca-4', 'ca-3', 'ca-2', 'ca-1', 'ca-0'])
    expect(listed.every((c) => c.object === 'organization.certificate' && c.active === false)).toBe(true)
    expect(emulator.requests.filter((r) => r.method === 'GET').map((r) => r.query.after ?? null)).toEqual([
      null,
      listed[2].id
    ])

    const plain = await certificates().retrieve(uploaded[1].id)
    expect(plain.certificate_details.content).toBeUndefined()
    const full = await certificates().retrieve(uploaded[1].id, { include: ['content'] })
    expect(full.certificate_details.content?.replace(/\s/g, '')).toBe(made[1].pem.replace(/\s/g, ''))

    expect((await certificates().update(uploaded[1].id, { name: 'renamed' })).name).toBe('renamed')
    expect(await certificates().delete(uploaded[1].id)).toEqual({ id: uploaded[1].id, object: 'certificate.deleted' })
    await expect(certificates().retrieve(uploaded[1].id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
  })

  it('refuses a wrong key with the error envelope', async () => {
    const wrong = new OpenAI({ adminAPIKey: 'sk-admin-wrong', apiKey: null, baseURL: emulator.baseUrl, maxRetries: 0 })
    const error = await wrong.admin.organization.certificates.list().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError)
    expect((error as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key')
  })

  it('holds at most 50 certificates', async () => {
    const small = await startEmulator({ cap: 2 })
    const capped = new OpenAI({ adminAPIKey: small.adminKey, apiKey: null, baseURL: small.baseUrl, maxRetries: 0 })
    try {
      for (const i of [1, 2])
        await capped.admin.organization.certificates.create({ certificate: (await makeCa({ cn: `c${i}` })).pem })
      const third = await capped.admin.organization.certificates
        .create({ certificate: (await makeCa()).pem })
        .catch((e: unknown) => e)
      expect(third).toBeInstanceOf(OpenAI.BadRequestError)
      expect(small.certificates).toHaveLength(2)
    } finally {
      await small.close()
    }
    const full = await startEmulator()
    try {
      for (let i = 0; i < 50; i++) full.seed((await makeCa({ cn: `c${i}` })).pem)
      const refused = await new OpenAI({
        adminAPIKey: full.adminKey,
        apiKey: null,
        baseURL: full.baseUrl,
        maxRetries: 0
      }).admin.organization.certificates
        .create({ certificate: (await makeCa()).pem })
        .catch((e: unknown) => e)
      expect(refused).toBeInstanceOf(OpenAI.BadRequestError)
    } finally {
      await full.close()
    }
  })

  it('refuses what OpenAI refuses: not a CA, expired, not a certificate', async () => {
    for (const pem of [
      (await makeCa({ ca: false })).pem,
      (await makeCa({ notBefore: new Date(Date.now() - 9e9), notAfter: new Date(Date.now() - 1e6) })).pem,
      'hello'
    ]) {
      await expect(certificates().create({ certificate: pem })).rejects.toBeInstanceOf(OpenAI.BadRequestError)
    }
    expect(emulator.certificates).toHaveLength(0)
  })

  it('activates and deactivates at most 10 at a time, per organization and per project', async () => {
    const ids = []
    for (let i = 0; i < 11; i++)
      ids.push((await certificates().create({ certificate: (await makeCa({ cn: `c${i}` })).pem })).id)
    await expect(certificates().activate({ certificate_ids: ids })).rejects.toBeInstanceOf(OpenAI.BadRequestError)
    const activated = await certificates().activate({ certificate_ids: ids.slice(0, 2) })
    expect(activated.data.map((c) => [c.id, c.active])).toEqual([
      [ids[0], true],
      [ids[1], true]
    ])
    await expect(certificates().delete(ids[0])).rejects.toMatchObject({ code: 'certificate_in_use' })
    await certificates().deactivate({ certificate_ids: [ids[0]] })

    const projects = client.admin.organization.projects.certificates
    // A project the organization does not have is not found, as OpenAI answers.
    await expect(projects.activate('proj_1', { certificate_ids: [ids[0]] })).rejects.toBeInstanceOf(
      OpenAI.NotFoundError
    )
    await expect(Promise.resolve(projects.list('proj_1', { limit: 100 }))).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    emulator.addProject({ id: 'proj_1' })
    await projects.activate('proj_1', { certificate_ids: [ids[0]] })
    const inProject = []
    for await (const c of projects.list('proj_1', { limit: 100 })) inProject.push(c)
    expect(inProject.filter((c) => c.active).map((c) => c.id)).toEqual([ids[0]])
    expect(inProject[0].object).toBe('organization.project.certificate')
    const org = []
    for await (const c of certificates().list({ limit: 100 })) org.push(c)
    expect(org.filter((c) => c.active).map((c) => c.id)).toEqual([ids[1]])
    await expect(certificates().delete(ids[0])).rejects.toMatchObject({ code: 'certificate_in_use' })
  })

  it("accepts the OpenAPI spec's include=content as well as the SDKs' include[]=content", async () => {
    const ca = await makeCa()
    const { id } = await certificates().create({ certificate: ca.pem })
    const read = async (query: string) => {
      const response = await fetch(`${emulator.baseUrl}/organization/certificates/${id}?${query}`, {
        headers: { authorization: `Bearer ${emulator.adminKey}` }
      })
      return ((await response.json()) as { certificate_details: { content?: string } }).certificate_details.content
    }
    expect((await read('include=content'))?.replace(/\s/g, '')).toBe(ca.pem.replace(/\s/g, ''))
    expect(await read('include%5B%5D=content')).toBe(await read('include=content'))
    expect(await read('')).toBeUndefined()
  })

  it('lists projects, paged, archived ones only with include_archived, in the documented shape', async () => {
    const live = emulator.addProject({ id: 'proj_live', name: 'Live' })
    emulator.addProject({ id: 'proj_old', name: 'Old', archived: true })
    emulator.addProject({ id: 'proj_new', name: 'New' })
    const projects = client.admin.organization.projects
    const all = []
    for await (const p of projects.list({ limit: 100, include_archived: true })) all.push(p)
    expect(all.map((p) => p.id).sort()).toEqual(['proj_live', 'proj_new', 'proj_old'])
    expect(all.find((p) => p.id === 'proj_old')).toEqual({
      object: 'organization.project',
      id: 'proj_old',
      name: 'Old',
      created_at: expect.any(Number),
      archived_at: expect.any(Number),
      status: 'archived'
    })
    expect(all.find((p) => p.id === 'proj_live')).toMatchObject({ archived_at: null, status: 'active' })
    // One project a page: the SDK follows the cursor through three pages.
    const small = await startEmulator({ projectPageSize: 1 })
    try {
      for (const id of ['proj_a', 'proj_b', 'proj_c']) small.addProject({ id, archived: id === 'proj_b' })
      const sdk = new OpenAI({ adminAPIKey: small.adminKey, apiKey: null, baseURL: small.baseUrl, maxRetries: 0 })
      const paged = []
      for await (const p of sdk.admin.organization.projects.list({ limit: 100, include_archived: true }))
        paged.push(p.id)
      expect(paged.sort()).toEqual(['proj_a', 'proj_b', 'proj_c'])
      expect(small.requests.filter((r) => r.path === '/organization/projects')).toHaveLength(3)
      const active = []
      for await (const p of sdk.admin.organization.projects.list({ limit: 100 })) active.push(p.id)
      expect(active.sort()).toEqual(['proj_a', 'proj_c'])
    } finally {
      await small.close()
    }
    expect(await projects.retrieve(live.id)).toMatchObject({ id: 'proj_live', status: 'active' })
    await expect(projects.retrieve('proj_none')).rejects.toBeInstanceOf(OpenAI.NotFoundError)
  })

  it('refuses to delete a certificate active in an archived project, with certificate_in_use', async () => {
    emulator.addProject({ id: 'proj_old', archived: true })
    const { id } = await certificates().create({ certificate: (await makeCa()).pem })
    await client.admin.organization.projects.certificates.activate('proj_old', { certificate_ids: [id] })
    const listed = []
    for await (const c of client.admin.organization.projects.certificates.list('proj_old', { limit: 100 }))
      listed.push(c)
    expect(listed).toEqual([expect.objectContaining({ id, active: true })])
    await expect(certificates().delete(id)).rejects.toMatchObject({ status: 400, code: 'certificate_in_use' })
    await client.admin.organization.projects.certificates.deactivate('proj_old', { certificate_ids: [id] })
    expect(await certificates().delete(id)).toEqual({ id, object: 'certificate.deleted' })
  })
})
