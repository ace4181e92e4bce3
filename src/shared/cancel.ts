/**
 * Whether the runner asked the job to stop. `main.ts` sets it on SIGINT or SIGTERM (what GitHub
 * sends when a job is cancelled); `api.ts` then starts no new write. One per process.
 */
export const cancellation: { signal?: string } = {}
