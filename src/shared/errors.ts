/**
 * An expected failure, said to a person: one line with what is wrong, where, and what to do.
 * The entry point prints its message without a stack trace.
 */
export class ActionError extends Error {
  override name = 'ActionError'
}

/** The API answered with an error, or could not be reached. */
export class ApiError extends ActionError {
  override name = 'ApiError'
  constructor(
    message: string,
    /** HTTP status, or undefined when no answer came (connection error, timeout). */
    readonly status?: number,
    /** The API's `error.code`, when it sent one. */
    readonly code?: string | null
  ) {
    super(message)
  }
  /** How long the server asked to wait before trying again (Retry-After, retry-after-ms), if it did. */
  retryAfterMs?: number
  /** A write whose outcome is unknown: it may have been carried out (no answer, a cut answer, 5xx…). */
  ambiguous = false
}

/** The runner asked the job to stop (SIGINT, SIGTERM): no new write is started after that. */
export class CancelledError extends ActionError {
  override name = 'CancelledError'
  constructor(
    readonly signal: string,
    what = 'no change was started after the signal'
  ) {
    super(`Cancelled (${signal}): ${what}; run the action again to finish the job.`)
  }
}

/** The message of anything thrown, including values that are not `Error`s. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message
  if (typeof error === 'string') return error
  try {
    return JSON.stringify(error) ?? String(error)
  } catch {
    return String(error)
  }
}
