import { ApiError } from '../shared/errors.js'
import { CERTIFICATE_CAP } from './limits.js'
import { type ApiOptions, Transport } from './http.js'
import {
  hasContent,
  isActivation,
  isCertificate,
  isObject,
  isPageOf,
  type RemoteCertificate,
  type RemoteProject,
  toProject,
  toRemote
} from './wire.js'

/**
 * The most certificates, and the most pages, a listing may hold before it is taken for broken:
 * twice the 50 an organization can hold, which leaves room to name the extras of an organization
 * found over the cap, even at one certificate a page.
 */
export const LIST_BOUND = 2 * CERTIFICATE_CAP

/**
 * The most projects a listing may hold before it is taken for broken (no documented limit; far
 * above any organization's), and so the most pages, at one a page.
 */
export const PROJECT_BOUND = 10_000

/**
 * The organization certificates and projects endpoints: each answer's shape is checked (wire.ts),
 * listings are followed page by page within bounds, and every call goes through the transport
 * (http.ts), which decides what is retried.
 */
export class CertificatesApi {
  private readonly transport: Transport
  /** Every request made, as `METHOD path`, in order: what a run costs. */
  readonly calls: string[]

  constructor(options: ApiOptions) {
    this.transport = new Transport(options)
    this.calls = this.transport.calls
  }

  dispose(): void {
    this.transport.dispose()
  }

  /** Every certificate in the organization, following `has_more` / `after`. */
  listAll(): Promise<RemoteCertificate[]> {
    return this.listPages('/organization/certificates', 'list the organization certificates', toRemote)
  }

  /**
   * Every project of the organization, archived ones included (`include_archived=true`): a
   * certificate can stay active in an archived project.
   */
  listProjects(): Promise<RemoteProject[]> {
    return this.listPages('/organization/projects', 'list the projects of the organization', toProject, {
      query: '&include_archived=true',
      noun: 'projects',
      bound: PROJECT_BOUND,
      why: 'far more than any organization holds'
    })
  }

  /** Every certificate as one project sees it (`active` at project scope). */
  listProject(projectId: string): Promise<RemoteCertificate[]> {
    return this.listPages(
      `/organization/projects/${encodeURIComponent(projectId)}/certificates`,
      `list the certificates of project ${projectId}`,
      toRemote
    )
  }

  /**
   * Follows the cursor while `has_more`, bounded: a cursor seen before (A→B→A), a certificate
   * listed twice, or more pages or certificates than an organization can hold stop it with an
   * error rather than loop forever.
   */
  private async listPages<T extends { id: string }>(
    path: string,
    what: string,
    parse: (value: unknown) => T,
    {
      query: extra = '',
      noun = 'certificates',
      bound = LIST_BOUND,
      why = `though an organization holds at most ${CERTIFICATE_CAP} certificates`
    } = {}
  ): Promise<T[]> {
    const all: T[] = []
    const ids = new Set<string>()
    const cursors = new Set<string>()
    let after: string | null = null
    for (let pages = 1; ; pages++) {
      const query: string = `?limit=100${extra}${after ? `&after=${encodeURIComponent(after)}` : ''}`
      const page = await this.transport.send('GET', `${path}${query}`, undefined, what, isPageOf(parse))
      const items = page.data.map(parse)
      let next: string | null = null
      if (page.has_more) {
        next = typeof page.last_id === 'string' && page.last_id !== '' ? page.last_id : (items.at(-1)?.id ?? null)
        if (!next) {
          throw new ApiError(
            `The OpenAI API said more ${noun} follow but gave no cursor to ask for them, while trying to ${what}: try again later.`
          )
        }
        if (next === after || cursors.has(next)) {
          throw new ApiError(
            `The OpenAI API's listing went round in a circle (cursor ${next} came back after ${pages} pages) while trying to ${what}: stopped rather than follow it forever; try again later.`
          )
        }
        cursors.add(next)
      }
      for (const item of items) {
        if (ids.has(item.id)) {
          throw new ApiError(
            `The OpenAI API listed ${noun === 'projects' ? 'project' : 'certificate'} ${item.id} twice while trying to ${what}: a listing that repeats itself cannot be trusted; try again later.`
          )
        }
        ids.add(item.id)
        all.push(item)
      }
      if (all.length > bound || (next && pages >= bound)) {
        throw new ApiError(
          `The OpenAI API listed more than ${bound} ${all.length > bound ? noun : 'pages'} while trying to ${what}, ${why}: stopped rather than trust an endless listing; try again later.`
        )
      }
      if (!next) return all
      after = next
    }
  }

  /**
   * The PEM of one certificate, as the API sent it (any whitespace), or undefined when the
   * certificate is gone (404: deleted since it was listed). An answer without content is a failed
   * attempt, retried; after the retries it is an error that names the certificate.
   */
  async getContent(id: string): Promise<string | undefined> {
    try {
      const cert = await this.transport.send(
        'GET',
        `/organization/certificates/${encodeURIComponent(id)}?include%5B%5D=content`,
        undefined,
        `read certificate ${id}`,
        hasContent(id)
      )
      return cert.certificate_details.content
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return undefined
      throw error
    }
  }

  /**
   * One certificate by id, without its content (not subject to a listing's lag); undefined when
   * the organization holds no such certificate (404).
   */
  async get(id: string): Promise<RemoteCertificate | undefined> {
    try {
      const cert = await this.transport.send(
        'GET',
        `/organization/certificates/${encodeURIComponent(id)}`,
        undefined,
        `read certificate ${id}`,
        isCertificate
      )
      return toRemote(cert)
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return undefined
      throw error
    }
  }

  /** Uploads one certificate. Not retried on an ambiguous failure: it may have been stored. */
  async upload(pem: string, name: string): Promise<RemoteCertificate> {
    const cert = await this.transport.send(
      'POST',
      '/organization/certificates',
      { certificate: pem, name },
      `upload certificate '${name}'`,
      isCertificate
    )
    return toRemote(cert)
  }

  /** Renames a certificate: the same name however often it is sent, so it is retried. */
  async rename(id: string, name: string): Promise<void> {
    await this.transport.send(
      'POST',
      `/organization/certificates/${encodeURIComponent(id)}`,
      { name },
      `rename certificate ${id}`,
      isCertificate,
      true
    )
  }

  /** Deletes a certificate; one already gone (a retried delete that had worked) counts as deleted. */
  async delete(id: string): Promise<void> {
    try {
      await this.transport.send(
        'DELETE',
        `/organization/certificates/${encodeURIComponent(id)}`,
        undefined,
        `delete certificate ${id}`,
        isObject,
        true
      )
    } catch (error) {
      if (
        error instanceof ApiError &&
        error.status === 404 &&
        this.calls.filter((c) => c === `DELETE /organization/certificates/${encodeURIComponent(id)}`).length > 1
      )
        return
      throw error
    }
  }

  /**
   * Activates or deactivates at most 10 certificates, for the organization or for one project.
   * The API makes these calls atomic and idempotent, so they are retried.
   */
  async setActive(ids: readonly string[], active: boolean, projectId?: string): Promise<Map<string, boolean>> {
    const scope = projectId
      ? `/organization/projects/${encodeURIComponent(projectId)}/certificates`
      : '/organization/certificates'
    const verb = active ? 'activate' : 'deactivate'
    const where = projectId ? `in project ${projectId}` : 'for the organization'
    const answer = await this.transport.send(
      'POST',
      `${scope}/${verb}`,
      { certificate_ids: ids },
      `${verb} ${ids.join(', ')} ${where}`,
      isActivation,
      true
    )
    return new Map(answer.data.map((item) => [item.id, item.active]))
  }
}
