// The answers' shapes: what the API sends, checked item by item before anything trusts it. An
// answer that breaks the contract throws UnexpectedAnswer, whose message says how; the transport
// (http.ts) turns that into a failed attempt.
import { messageOf } from '../shared/errors.js'

/** A certificate as the organization listing describes it (the listing never carries the PEM). */
export interface RemoteCertificate {
  id: string
  name: string | null
  /** Unix seconds; `UNKNOWN_TIME` (sorts last) when the API sent no readable date. */
  createdAt: number
  active?: boolean
  /** notBefore and notAfter, unix seconds; undefined when the API sent none, or not in unix seconds. */
  validAt?: number
  expiresAt?: number
}

interface WireCertificate {
  id: string
  name?: unknown
  created_at?: unknown
  active?: unknown
  certificate_details?: { valid_at?: unknown; expires_at?: unknown; content?: unknown }
}

interface WireList {
  data: unknown[]
  has_more: boolean
  last_id?: unknown
}

/** A `createdAt` the API did not give: later than any real one, so such a copy is never the oldest. */
export const UNKNOWN_TIME = Number.MAX_SAFE_INTEGER

/** An answer of the expected kind that breaks the contract; its message says how. */
export class UnexpectedAnswer extends Error {}

/** The latest instant X.509 can express (9999-12-31T23:59:59Z): anything larger is not unix seconds. */
const LAST_SECOND = 253_402_300_799

/** A date the API sent: unix seconds, or undefined when it sent none or another form (ISO text, ms). */
function unixSeconds(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && Math.abs(value) <= LAST_SECOND ? value : undefined
}

/** One certificate of an answer, checked: an item without an id is an error, never a free slot. */
export function toRemote(value: unknown): RemoteCertificate {
  if (!isObject(value)) throw new UnexpectedAnswer('a certificate that is not a JSON object')
  const wire = value as Partial<WireCertificate>
  if (typeof wire.id !== 'string' || wire.id.trim() === '') throw new UnexpectedAnswer('a certificate without an id')
  if (wire.active !== undefined && typeof wire.active !== 'boolean')
    throw new UnexpectedAnswer(
      `certificate ${wire.id} with an 'active' that is not true or false (${JSON.stringify(wire.active)})`
    )
  const details = isObject(wire.certificate_details) ? wire.certificate_details : {}
  return {
    id: wire.id,
    name: typeof wire.name === 'string' ? wire.name : null,
    createdAt: unixSeconds(wire.created_at) ?? UNKNOWN_TIME,
    active: typeof wire.active === 'boolean' ? wire.active : undefined,
    validAt: unixSeconds(details.valid_at),
    expiresAt: unixSeconds(details.expires_at)
  }
}

/** A certificate answer (upload, rename, an activation's item); one without an id throws, saying so. */
export function isCertificate(value: unknown): value is WireCertificate {
  return isObject(value) && toRemote(value) !== undefined
}

export function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null
}

/** An activate or deactivate answer: each item's id and its `active` flag as it now stands. */
export function isActivation(value: unknown): value is { data: { id: string; active: boolean }[] } {
  return (
    isList(value) &&
    value.data.every((item) => isCertificate(item) && typeof (item as { active?: unknown }).active === 'boolean')
  )
}

function isList(value: unknown): value is WireList {
  return typeof value === 'object' && value !== null && Array.isArray((value as WireList).data)
}

/** A page of a listing: the envelope, and every item one `parse` accepts. */
export function isPageOf(parse: (value: unknown) => unknown) {
  return (value: unknown): value is WireList => {
    if (!isList(value)) return false
    if (typeof value.has_more !== 'boolean') throw new UnexpectedAnswer("a list without a true or false 'has_more'")
    value.data.forEach((item, i) => {
      try {
        parse(item)
      } catch (error) {
        throw new UnexpectedAnswer(`${messageOf(error)} (item ${i + 1} of the page)`)
      }
    })
    return true
  }
}

/** A project of the organization, as `GET /organization/projects` describes it. */
export interface RemoteProject {
  id: string
  name: string | null
  status: 'active' | 'archived'
}

/** One project of a listing, checked: an id, and a status of `active` or `archived`. */
export function toProject(value: unknown): RemoteProject {
  if (!isObject(value)) throw new UnexpectedAnswer('a project that is not a JSON object')
  const wire = value as { id?: unknown; name?: unknown; status?: unknown; archived_at?: unknown }
  if (typeof wire.id !== 'string' || wire.id.trim() === '') throw new UnexpectedAnswer('a project without an id')
  const archived = wire.status === 'archived' || (wire.status == null && typeof wire.archived_at === 'number')
  if (wire.status !== undefined && wire.status !== null && wire.status !== 'active' && wire.status !== 'archived')
    throw new UnexpectedAnswer(
      `project ${wire.id} with a status that is not active or archived (${JSON.stringify(wire.status)})`
    )
  return {
    id: wire.id,
    name: typeof wire.name === 'string' ? wire.name : null,
    status: archived ? 'archived' : 'active'
  }
}

/** A certificate read with its content: the PEM must be there, as text. */
export function hasContent(id: string) {
  return (value: unknown): value is WireCertificate & { certificate_details: { content: string } } => {
    const answered = toRemote(value).id
    if (answered !== id) throw new UnexpectedAnswer(`the answer is about certificate ${answered}`)
    const content = (value as WireCertificate).certificate_details?.content
    if (typeof content === 'string') return true
    throw new UnexpectedAnswer(
      `no PEM content (certificate_details.content is ${content === undefined ? 'missing' : content === null ? 'null' : `a ${typeof content}`})`
    )
  }
}
