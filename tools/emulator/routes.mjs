// @ts-check
/**
 * What the emulator answers to each path of OpenAI's API (organization certificates, their
 * activation for the organization and for projects, the projects), as a successful answer's body
 * or an HttpError; carried out on the organization `createStore` made. Paging is OpenAI's: cursors
 * (`after`), `limit` 1..100, `order`, and a page-size ceiling.
 */
import { HttpError } from './store.mjs'

/** @typedef {import('./store.mjs').StoredCertificate} StoredCertificate */

/** @param {StoredCertificate} c @param {string} object @param {boolean | undefined} active */
function view(c, object, active) {
  return {
    object,
    id: c.id,
    name: c.name,
    created_at: c.created_at,
    ...(active === undefined ? {} : { active }),
    certificate_details: { valid_at: c.valid_at, expires_at: c.expires_at }
  }
}

/**
 * The API on one organization.
 * @param {import('./store.mjs').Store} org
 * @param {import('../emulator.mjs').EmulatorOptions} options
 */
export function createRoutes(org, options) {
  const maxPageSize = options.maxPageSize ?? 100

  /** @param {unknown} body */
  function idsOf(body) {
    const ids = /** @type {{certificate_ids?: unknown}} */ (body)?.certificate_ids
    if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === 'string')) {
      throw new HttpError(
        400,
        "'certificate_ids' must be a non-empty array of certificate ids.",
        null,
        'certificate_ids'
      )
    }
    if (ids.length > 10) throw new HttpError(400, "'certificate_ids' may hold at most 10 ids.", null, 'certificate_ids')
    return ids.map(org.find)
  }

  /**
   * The project a path names, or 404 as OpenAI answers for a project the organization does not
   * have (archived ones are still there): a run must not be told an activation happened there.
   * @param {string} encoded
   */
  function knownProject(encoded) {
    const id = decodeURIComponent(encoded)
    if (!org.projects.some((p) => p.id === id))
      throw new HttpError(404, `No project found with id '${id}'.`, null, 'project_id')
    return id
  }

  /**
   * @template {{ id: string, created_at: number }} T
   * @param {T[]} items
   * @param {URLSearchParams} query
   * @param {(c: T) => object} render
   * @param {number} [pageSize]
   */
  function page(items, query, render, pageSize = maxPageSize) {
    const limit = Number(query.get('limit') ?? 20)
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      throw new HttpError(400, "'limit' must be an integer from 1 to 100.", null, 'limit')
    const order = query.get('order') ?? 'desc'
    if (order !== 'asc' && order !== 'desc') throw new HttpError(400, "'order' must be 'asc' or 'desc'.", null, 'order')
    const sorted = [...items].sort((a, b) =>
      order === 'asc' ? a.created_at - b.created_at : b.created_at - a.created_at
    )
    const after = query.get('after')
    let start = 0
    if (after) {
      const at = sorted.findIndex((c) => c.id === after)
      if (at < 0) throw new HttpError(400, `'after' names no item of this list: '${after}'.`, null, 'after')
      start = at + 1
    }
    const data = sorted.slice(start, start + Math.min(limit, pageSize))
    return {
      object: 'list',
      data: data.map(render),
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
      has_more: start + data.length < sorted.length
    }
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {URLSearchParams} query
   * @param {unknown} body
   * @param {boolean} [apply]  false: answer an activation as if made, without making it
   * @returns {Promise<object>}
   */
  return async function route(method, path, query, body, apply = true) {
    /** @type {RegExpExecArray | null} */
    let m
    if (path === '/organization/certificates' && method === 'GET') {
      org.countList()
      return page(org.certificates.filter(org.listed), query, (c) => view(c, 'organization.certificate', c.active))
    }
    if (path === '/organization/certificates' && method === 'POST') {
      const { certificate, name } = /** @type {{certificate?: unknown, name?: unknown}} */ (body ?? {})
      if (typeof certificate !== 'string' || certificate.trim() === '') {
        throw new HttpError(
          400,
          "Missing required parameter: 'certificate'.",
          'missing_required_parameter',
          'certificate'
        )
      }
      if (name !== undefined && name !== null && typeof name !== 'string')
        throw new HttpError(400, "'name' must be a string.", null, 'name')
      return view(
        await org.store(certificate, /** @type {string | null} */ (name ?? null), true),
        'certificate',
        undefined
      )
    }
    if ((m = /^\/organization\/certificates\/(activate|deactivate)$/.exec(path)) && method === 'POST') {
      const targets = idsOf(body)
      if (apply) for (const c of targets) c.active = m[1] === 'activate'
      return {
        object: `organization.certificate.${m[1] === 'activate' ? 'activation' : 'deactivation'}`,
        data: targets.map((c) => view(c, 'organization.certificate', c.active))
      }
    }
    if ((m = /^\/organization\/certificates\/([^/]+)$/.exec(path))) {
      const cert = org.find(decodeURIComponent(m[1]))
      if (method === 'GET') {
        const answer = view(cert, 'certificate', undefined)
        // The SDKs send include[]=content; the OpenAPI spec's plain form is include=content.
        const include = [...query.getAll('include[]'), ...query.getAll('include')]
        const content = include.includes('content') ? { content: cert.content } : {}
        return { ...answer, certificate_details: { ...answer.certificate_details, ...content } }
      }
      if (method === 'POST') {
        const { name } = /** @type {{name?: unknown}} */ (body ?? {})
        if (typeof name !== 'string') throw new HttpError(400, "'name' must be a string.", null, 'name')
        cert.name = name
        return view(cert, 'certificate', undefined)
      }
      if (method === 'DELETE') {
        if (cert.active || cert.projects.size > 0) {
          throw new HttpError(
            400,
            'The certificate is active; deactivate it for the organization and every project before deleting it.',
            'certificate_in_use'
          )
        }
        org.certificates.splice(org.certificates.indexOf(cert), 1)
        return { id: cert.id, object: 'certificate.deleted' }
      }
    }
    if (path === '/organization/projects' && method === 'GET') {
      const archived = query.get('include_archived')
      if (archived !== null && archived !== 'true' && archived !== 'false')
        throw new HttpError(400, "'include_archived' must be true or false.", null, 'include_archived')
      const shown = org.projects.filter((p) => archived === 'true' || p.status === 'active')
      return page(shown, query, (p) => ({ ...p }), options.projectPageSize ?? maxPageSize)
    }
    if ((m = /^\/organization\/projects\/([^/]+)$/.exec(path)) && method === 'GET') {
      const id = knownProject(m[1])
      return { ...org.projects.find((p) => p.id === id) }
    }
    if ((m = /^\/organization\/projects\/([^/]+)\/certificates$/.exec(path)) && method === 'GET') {
      const project = knownProject(m[1])
      org.countList()
      return page(org.certificates.filter(org.listed), query, (c) =>
        view(c, 'organization.project.certificate', c.projects.has(project))
      )
    }
    if (
      (m = /^\/organization\/projects\/([^/]+)\/certificates\/(activate|deactivate)$/.exec(path)) &&
      method === 'POST'
    ) {
      const project = knownProject(m[1])
      const targets = idsOf(body)
      for (const c of apply ? targets : []) {
        if (m[2] === 'activate') c.projects.add(project)
        else c.projects.delete(project)
      }
      return {
        object: `organization.project.certificate.${m[2] === 'activate' ? 'activation' : 'deactivation'}`,
        data: targets.map((c) => view(c, 'organization.project.certificate', c.projects.has(project)))
      }
    }
    throw new HttpError(404, `Invalid URL (${method} /v1${path})`)
  }
}
