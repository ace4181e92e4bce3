import type { CertificatesApi, RemoteCertificate } from './api.js'
import { type Certificate, parseFile } from './parse.js'
import { mapLimit } from './pool.js'

/** What the organization holds, and which of its certificates are the same as local ones. */
export interface Inventory {
  certificates: RemoteCertificate[]
  /** Fingerprint (SHA-256 of the DER) → the remote certificate with that content. */
  byFingerprint: Map<string, RemoteCertificate>
}

/** Which certificates are active in each of `projectIds`, from the project listings. */
export async function projectStates(
  api: CertificatesApi,
  projectIds: readonly string[]
): Promise<Map<string, Set<string>>> {
  const listings = await Promise.all(projectIds.map((id) => api.listProject(id)))
  return new Map(
    projectIds.map((id, i) => [id, new Set(listings[i].filter((r) => r.active === true).map((r) => r.id))])
  )
}

/** How many certificate contents are fetched at once. */
export const FETCH_CONCURRENCY = 8

const seconds = (date: Date): number => Math.floor(date.getTime() / 1000)

/**
 * The remote certificates that may be the same as a local one: those whose validity window equals
 * a local certificate's, to the second. Any other cannot be, so its content is never fetched.
 */
export function candidates(remote: readonly RemoteCertificate[], local: readonly Certificate[]): RemoteCertificate[] {
  const windows = new Set(local.map((c) => `${seconds(c.notBefore)}/${seconds(c.notAfter)}`))
  return remote.filter((r) => windows.has(`${r.validAt}/${r.expiresAt}`))
}

/** The fingerprint of a PEM the API sent, or undefined when it holds no readable certificate. */
export function fingerprintOfPem(pem: string): string | undefined {
  return parseFile('remote', Buffer.from(pem, 'utf8')).certificates[0]?.fingerprint
}

/**
 * Lists the organization and fingerprints the candidates. Where the API holds the same certificate
 * more than once, the oldest copy stands for it.
 */
export async function takeInventory(
  api: CertificatesApi,
  local: readonly Certificate[],
  log: (message: string) => void
): Promise<Inventory> {
  const certificates = await api.listAll()
  const toFetch = candidates(certificates, local)
  log(
    `The organization holds ${certificates.length} certificate${certificates.length === 1 ? '' : 's'}; ${toFetch.length} may match a local one by validity dates.`
  )
  let fetched = 0
  const contents = await mapLimit(toFetch, FETCH_CONCURRENCY, async (remote) => {
    const content = await api.getContent(remote.id)
    // A progress line per round of reads, for organizations with many look-alikes.
    if (++fetched % FETCH_CONCURRENCY === 0 || (fetched === toFetch.length && toFetch.length > FETCH_CONCURRENCY)) {
      log(`Fetched ${fetched}/${toFetch.length} certificates.`)
    }
    return content
  })
  const byFingerprint = new Map<string, RemoteCertificate>()
  const oldestFirst = toFetch
    .map((remote, i) => ({ remote, pem: contents[i] }))
    .sort((a, b) => a.remote.createdAt - b.remote.createdAt)
  for (const { remote, pem } of oldestFirst) {
    const fingerprint = pem === undefined ? undefined : fingerprintOfPem(pem)
    if (fingerprint === undefined) {
      log(`Certificate ${remote.id}: the API sent no readable content; it is not compared.`)
      continue
    }
    if (!byFingerprint.has(fingerprint)) byFingerprint.set(fingerprint, remote)
  }
  return { certificates, byFingerprint }
}
