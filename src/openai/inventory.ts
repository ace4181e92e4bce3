import type { CertificatesApi } from './api.js'
import type { RemoteCertificate } from './wire.js'
import { ActionError, ApiError, messageOf } from '../shared/errors.js'
import { parseFile } from '../certificates/files.js'
import type { Problem } from '../certificates/problem.js'
import { type Certificate, toPem } from '../certificates/x509.js'
import { mapLimit } from '../shared/pool.js'

/** What the organization holds, and which of its certificates are the same as local ones. */
export interface Inventory {
  certificates: RemoteCertificate[]
  /** Fingerprint (SHA-256 of the DER) → the remote certificate with that content. */
  byFingerprint: Map<string, RemoteCertificate>
  /** Fingerprint → every copy, oldest (the one kept) first, where the organization holds more than one. */
  duplicates?: Map<string, RemoteCertificate[]>
}

/**
 * Which certificates are active in each of `projectIds` and, with `everyProject`, in every
 * project of the organization, archived ones included (one listing of the projects, 100 a page):
 * the project listings, 16 at a time.
 */
export async function projectStates(
  api: CertificatesApi,
  projectIds: readonly string[],
  everyProject = false,
  log: (message: string) => void = () => undefined
): Promise<Map<string, Set<string>>> {
  const ids = [...projectIds]
  if (everyProject) {
    const projects = await api.listProjects()
    const archived = projects.filter((p) => p.status === 'archived').length
    log(
      `The organization has ${projects.length} project${projects.length === 1 ? '' : 's'}${archived ? ` (${archived} archived)` : ''}; reading which certificates each one has active.`
    )
    const unknown = ids.filter((id) => !projects.some((p) => p.id === id))
    if (unknown.length > 0) throw unknownProjects(unknown, 'is not among the projects the organization lists')
    for (const p of projects) if (!ids.includes(p.id)) ids.push(p.id)
  }
  const listings = await mapLimit(ids, FETCH_CONCURRENCY, (id) =>
    api.listProject(id).catch((error: unknown) => {
      // 404 on a project's route: the organization has no such project (a typo, another organization's).
      if (error instanceof ApiError && error.status === 404 && projectIds.includes(id))
        throw unknownProjects([id], 'is not a project of this organization (the OpenAI API answered 404)')
      throw error
    })
  )
  return new Map(ids.map((id, i) => [id, new Set(listings[i].filter((r) => r.active === true).map((r) => r.id))]))
}

/** A `project-ids` entry the organization does not have: refused before anything is written. */
function unknownProjects(ids: readonly string[], why: string): ActionError {
  return new ActionError(
    `Input 'project-ids' has ${ids.map((id) => `'${id}'`).join(', ')}, which ${why}, so nothing was changed: check the id${ids.length > 1 ? 's' : ''} (the dashboard's project settings) and that the admin key is this organization's.`
  )
}

/** How many certificate contents are read at once: a no-op rerun of up to 16 is 2 round trips. */
export const FETCH_CONCURRENCY = 16

const seconds = (date: Date): number => Math.floor(date.getTime() / 1000)
const windowKnown = (r: RemoteCertificate): boolean => r.validAt !== undefined && r.expiresAt !== undefined

/**
 * The remote certificates that may be the same as a local one: those whose validity window equals
 * a local certificate's, to the second, and those whose window the listing does not say. Any other
 * cannot be, so its content is never read.
 */
export function candidates(remote: readonly RemoteCertificate[], local: readonly Certificate[]): RemoteCertificate[] {
  const windows = new Set(local.map((c) => `${seconds(c.notBefore)}/${seconds(c.notAfter)}`))
  return remote.filter((r) => !windowKnown(r) || windows.has(`${r.validAt}/${r.expiresAt}`))
}

const REMOTE_PEM = /^-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----$/

/**
 * The certificate in a PEM text the API sent, whatever its whitespace (one line, spaces for line
 * breaks, CRLF, no final newline): rewrapped as canonical PEM and read by the files' own parser.
 * Undefined unless it is exactly one readable certificate.
 */
export function readRemotePem(text: string): Certificate | undefined {
  const match = REMOTE_PEM.exec(text.trim())
  const base64 = match?.[1].replace(/\s+/g, '') ?? ''
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64) || base64.length % 4 !== 0) return undefined
  const parsed = parseFile('remote', Buffer.from(toPem(Buffer.from(base64, 'base64')), 'utf8'))
  return parsed.certificates.length === 1 ? parsed.certificates[0] : undefined
}

/** The fingerprint of a PEM the API sent, or undefined when it holds no readable certificate. */
export function fingerprintOfPem(pem: string): string | undefined {
  return readRemotePem(pem)?.fingerprint
}

const NO_GUESS =
  'It may be a copy of a certificate in the files, so the run stops rather than upload one on a guess: run the action again later, and if this persists, look at that certificate in the OpenAI dashboard.'

const day = (unix: number): string => new Date(unix * 1000).toISOString().replace('.000Z', 'Z')

/**
 * The fingerprint of a remote certificate, from its content; undefined when it is gone (deleted
 * since it was listed). Content that cannot be read after the retries, is not one PEM certificate,
 * or is valid for another window than the one listed (another certificate's PEM) stops the run
 * with an error that names the certificate.
 */
export async function readFingerprint(api: CertificatesApi, remote: RemoteCertificate): Promise<string | undefined> {
  let content: string | undefined
  try {
    content = await api.getContent(remote.id)
  } catch (error) {
    throw new ActionError(`${messageOf(error)} ${NO_GUESS}`)
  }
  if (content === undefined) return undefined
  const cert = readRemotePem(content)
  if (!cert) {
    throw new ActionError(
      `Certificate ${remote.id} in the organization could not be compared with the files: the OpenAI API sent content for it that is not one PEM certificate. ${NO_GUESS}`
    )
  }
  const [from, to] = [seconds(cert.notBefore), seconds(cert.notAfter)]
  if (windowKnown(remote) && (from !== remote.validAt || to !== remote.expiresAt)) {
    throw new ActionError(
      `Certificate ${remote.id} in the organization could not be compared with the files: the OpenAI API listed it as valid from ${day(remote.validAt!)} to ${day(remote.expiresAt!)}, but sent the PEM of a certificate valid from ${day(from)} to ${day(to)}. ${NO_GUESS}`
    )
  }
  return cert.fingerprint
}

/** Oldest first, by (`createdAt`, `id`): every run that sees the same copies picks the same one. */
export const oldestFirst = (a: RemoteCertificate, b: RemoteCertificate): number =>
  a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/**
 * Lists the organization and fingerprints the candidates, reading their contents 16 at a time.
 * Where the API holds the same certificate more than once, the oldest copy stands for it; one
 * deleted since it was listed is left out.
 */
export async function takeInventory(
  api: CertificatesApi,
  local: readonly Certificate[],
  log: (message: string) => void
): Promise<Inventory> {
  const listed = await api.listAll()
  const toFetch = candidates(listed, local)
  const undated = toFetch.filter((r) => !windowKnown(r)).length
  log(
    `The organization holds ${listed.length} certificate${listed.length === 1 ? '' : 's'}; ${toFetch.length} may match a local one by validity dates${undated ? ` (${undated} listed without them)` : ''}.`
  )
  let fetched = 0
  const fingerprints = await mapLimit(toFetch, FETCH_CONCURRENCY, async (remote) => {
    const fingerprint = await readFingerprint(api, remote)
    // A progress line per round of reads, for organizations with many look-alikes.
    if (++fetched % FETCH_CONCURRENCY === 0 || (fetched === toFetch.length && toFetch.length > FETCH_CONCURRENCY)) {
      log(`Fetched ${fetched}/${toFetch.length} certificates.`)
    }
    return fingerprint
  })
  const gone = new Set(toFetch.filter((_, i) => fingerprints[i] === undefined).map((r) => r.id))
  for (const id of gone) log(`Certificate ${id} was deleted while this run read it; it is left out.`)
  const byFingerprint = new Map<string, RemoteCertificate>()
  const duplicates = new Map<string, RemoteCertificate[]>()
  const read = toFetch.map((remote, i) => ({ remote, fingerprint: fingerprints[i] }))
  for (const { remote, fingerprint } of read.sort((a, b) => oldestFirst(a.remote, b.remote))) {
    if (fingerprint === undefined) continue
    if (!byFingerprint.has(fingerprint)) byFingerprint.set(fingerprint, remote)
    else duplicates.set(fingerprint, [...(duplicates.get(fingerprint) ?? [byFingerprint.get(fingerprint)!]), remote])
  }
  return { certificates: listed.filter((r) => !gone.has(r.id)), byFingerprint, duplicates }
}

/**
 * A warning at each local certificate the organization holds more than once (left by runs that
 * raced, or one cancelled, while listings lagged): it names the copies and the one kept (the
 * plan's: see keptCopy in plan.ts). The
 * extra copies are not deleted: this run did not create them, and nothing proves which run did.
 */
export function duplicateProblems(
  inventory: Inventory,
  local: readonly Certificate[],
  kept: ReadonlyMap<string, RemoteCertificate>
): Problem[] {
  const problems: Problem[] = []
  const seen = new Set<string>()
  for (const cert of local) {
    const copies = inventory.duplicates?.get(cert.fingerprint)
    const keptOne = kept.get(cert.fingerprint) ?? copies?.[0]
    if (!copies || !keptOne || seen.has(cert.fingerprint)) continue
    seen.add(cert.fingerprint)
    const extra = copies.filter((r) => r !== keptOne)
    const why = keptOne === copies[0] ? 'stored first' : 'the copy already active'
    const active = extra.filter((r) => r.active === true)
    problems.push({
      check: 'duplicate-in-organization',
      severity: 'warning',
      file: cert.file,
      line: cert.line,
      index: cert.index,
      message: `The organization holds this certificate ${copies.length} times: ${copies.map((r) => r.id).join(', ')} (two runs at once, or one cancelled, while listings lagged). ${keptOne.id}, ${why}, is the one this action uses; delete ${extra.map((r) => r.id).join(', ')}${active.length ? ` once deactivated (${active.map((r) => r.id).join(', ')} active)` : ''} in the organization's settings to free ${extra.length === 1 ? 'its slot' : 'their slots'}, and let one run at a time publish (a concurrency group).`
    })
  }
  return problems
}
