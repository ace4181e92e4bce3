import type { CertificatesApi } from './api.js'
import { ActionError, ApiError } from './errors.js'
import type { NamedCertificate } from './plan.js'
import { mapLimit } from './pool.js'

/** How many uploads are under way at once. */
export const UPLOAD_CONCURRENCY = 4

/**
 * Uploads each certificate as its own PEM under its name. `uploaded` (fingerprint → new id) is
 * filled as answers come, so that a run that fails part way can still report what it created.
 */
export async function applyUploads(
  api: CertificatesApi,
  uploads: readonly NamedCertificate[],
  uploaded: Map<string, string>,
  log: (message: string) => void
): Promise<void> {
  try {
    await mapLimit(uploads, UPLOAD_CONCURRENCY, async ({ cert, name }) => {
      const created = await api.upload(cert.pem, name)
      uploaded.set(cert.fingerprint, created.id)
      log(`Uploaded '${name}' (${cert.file}, certificate ${cert.index}) as ${created.id}.`)
    })
  } catch (error) {
    const done = `${uploaded.size} of ${uploads.length} new certificate${uploads.length === 1 ? ' was' : 's were'} uploaded before it`
    if (error instanceof ApiError && (error.status === undefined || error.status >= 500)) {
      throw new ActionError(
        `${error.message} ${done}; the failed upload may or may not have been stored. Run the action again: it skips certificates already in the organization, so nothing is uploaded twice.`
      )
    }
    if (error instanceof ActionError) throw new ActionError(`${error.message} ${done}.`)
    throw error
  }
}
