// What a failed write means: whether it may have been carried out, whether the organization was
// full, rate limited, or refused the certificate itself. Told from the status and the API's code.
import { ApiError } from '../shared/errors.js'

/** A failure after which the certificate may or may not have been stored. */
export function isAmbiguous(error: unknown): boolean {
  return (
    error instanceof ApiError &&
    (error.ambiguous ||
      error.status === undefined ||
      error.status < 300 || // a success whose body could not be read
      error.status === 408 ||
      error.status === 409 ||
      error.status >= 500)
  )
}

/**
 * A refusal because the organization is full, which another run may have caused since the plan:
 * told by status and code (`certificate_limit_exceeded`, as the emulator answers). A rate limit
 * (429, or a `rate_limit…` code) never is, whatever its words ("Rate limit reached…"); only an
 * answer with no code at all is told by its message.
 */
export function isCapRefusal(error: unknown): boolean {
  if (!(error instanceof ApiError) || error.status === undefined || isRateLimit(error)) return false
  if (error.status < 400 || error.status >= 500) return false
  if (error.code) return /^certificates?_(limit|cap)|^(max|maximum)_certificates/i.test(error.code)
  return /\b(maximum|cap)\b/i.test(error.message)
}

/** Too many requests (429, or a `rate_limit…` code): a refused write, nothing stored by it. */
export function isRateLimit(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 429 || /^rate_limit/i.test(error.code ?? ''))
}

/** OpenAI refused the certificate itself (invalid, expired, any other 400), not the organization's cap. */
export function isUploadRefusal(error: unknown): error is ApiError {
  return (
    error instanceof ApiError &&
    !isCapRefusal(error) &&
    (error.code === 'mtls_certificate_invalid' || error.code === 'expired_certificate' || error.status === 400)
  )
}
