import { type CertificatesApi, type RemoteCertificate, retryDelayMs } from './api.js'
import { ActionError, ApiError } from './errors.js'
import { candidates, fingerprintOfPem } from './inventory.js'
import type { NamedCertificate } from './plan.js'
import { mapLimit } from './pool.js'

/** How many uploads are under way at once. */
export const UPLOAD_CONCURRENCY = 4

export interface ApplyOptions {
  /** Further attempts after an upload whose answer was lost. */
  maxRetries: number
  /** Ids the organization held before this run: none of them is a copy of a new certificate. */
  knownIds: ReadonlySet<string>
  log: (message: string) => void
  sleep?: (ms: number) => Promise<void>
}

/** A failure after which the certificate may or may not have been stored. */
export function isAmbiguous(error: unknown): boolean {
  return (
    error instanceof ApiError &&
    (error.status === undefined || error.status === 408 || error.status === 409 || error.status >= 500)
  )
}

/** A refusal because the organization is full, which another run may have caused since the plan. */
function isCapRefusal(error: unknown): boolean {
  return (
    error instanceof ApiError &&
    error.status !== undefined &&
    error.status >= 400 &&
    error.status < 500 &&
    /limit|maximum|cap\b/i.test(`${error.code ?? ''} ${error.message}`)
  )
}

/**
 * Looks in the organization for a copy of `named` stored by an upload whose answer was lost:
 * only certificates that are new since the inventory and have its validity dates are read.
 */
async function findStored(api: CertificatesApi, named: NamedCertificate, knownIds: ReadonlySet<string>): Promise<RemoteCertificate | undefined> {
  const fresh = candidates(await api.listAll(), [named.cert]).filter((r) => !knownIds.has(r.id))
  for (const remote of fresh.sort((a, b) => a.createdAt - b.createdAt)) {
    const pem = await api.getContent(remote.id)
    if (pem !== undefined && fingerprintOfPem(pem) === named.cert.fingerprint) return remote
  }
  return undefined
}

/**
 * Uploads one certificate. When the answer is lost (connection error, timeout, 5xx), it looks
 * before it tries again, and adopts the copy it finds: a retry never leaves a duplicate behind.
 */
async function uploadOne(api: CertificatesApi, named: NamedCertificate, options: ApplyOptions): Promise<string> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)))
  for (let attempt = 1; ; attempt++) {
    try {
      return (await api.upload(named.cert.pem, named.name)).id
    } catch (error) {
      if (!isAmbiguous(error) || attempt > options.maxRetries) throw error
      options.log(`Upload of '${named.name}' got no clear answer (${(error as ApiError).message}); looking whether it was stored.`)
      const stored = await findStored(api, named, options.knownIds)
      if (stored) {
        options.log(`'${named.name}' was stored as ${stored.id} before the answer was lost; using it.`)
        return stored.id
      }
      const wait = retryDelayMs(attempt, {})
      options.log(`'${named.name}' was not stored; upload retry ${attempt} of ${options.maxRetries} in ${(wait / 1000).toFixed(1)} s.`)
      await sleep(wait)
    }
  }
}

/**
 * Uploads each certificate as its own PEM under its name. `uploaded` (fingerprint → new id) is
 * filled as answers come, so that a run that fails part way can still report what it created.
 */
export async function applyUploads(
  api: CertificatesApi,
  uploads: readonly NamedCertificate[],
  uploaded: Map<string, string>,
  options: ApplyOptions
): Promise<void> {
  try {
    await mapLimit(uploads, UPLOAD_CONCURRENCY, async (named) => {
      const id = await uploadOne(api, named, options)
      uploaded.set(named.cert.fingerprint, id)
      options.log(`Uploaded '${named.name}' (${named.cert.file}, certificate ${named.cert.index}) as ${id}.`)
    })
  } catch (error) {
    const left = uploads.length - uploaded.size
    const done = `${uploaded.size} of ${uploads.length} new certificate${uploads.length === 1 ? ' was' : 's were'} uploaded; ${left} ${left === 1 ? 'was' : 'were'} not`
    if (isCapRefusal(error)) {
      throw new ActionError(
        `The organization reached its certificate cap during this run (another workflow or person may have uploaded at the same time): ${(error as ApiError).message} ${done}. Free slots, then run the action again.`
      )
    }
    if (isAmbiguous(error)) {
      throw new ActionError(
        `${(error as ApiError).message} ${done}. Run the action again when the API is back: it skips the certificates already in the organization, so nothing is uploaded twice.`
      )
    }
    if (error instanceof ActionError) throw new ActionError(`${error.message} ${done}.`)
    throw error
  }
}
