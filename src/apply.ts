import { type CertificatesApi, type RemoteCertificate, retryDelayMs } from './api.js'
import { ActionError, ApiError, messageOf } from './errors.js'
import { candidates, fingerprintOfPem } from './inventory.js'
import { batches, type Change, type NamedCertificate, type Plan, scopeName } from './plan.js'
import { mapLimit } from './pool.js'

/** How many uploads, renames or activation calls are under way at once. */
export const WRITE_CONCURRENCY = 4

export interface ApplyOptions {
  /** Further attempts after an upload whose answer was lost. */
  maxRetries: number
  /** Ids the organization held before this run: none of them is a copy of a new certificate. */
  knownIds: ReadonlySet<string>
  log: (message: string) => void
  warn: (message: string) => void
  sleep?: (ms: number) => Promise<void>
}

/** A failure after which the certificate may or may not have been stored. */
export function isAmbiguous(error: unknown): boolean {
  return (
    error instanceof ApiError &&
    (error.status === undefined ||
      error.status < 300 || // a success whose body could not be read
      error.status === 408 ||
      error.status === 409 ||
      error.status >= 500)
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

const label = (c: Change): string => `${c.name ? `'${c.name}'` : 'certificate'}${c.id ? ` (${c.id})` : ''}`

const PAST: Record<Change['action'], string> = {
  delete: 'Deleted',
  upload: 'Uploaded',
  rename: 'Renamed',
  activate: 'Activated',
  deactivate: 'Deactivated'
}

/** One log line for a change: made, about to be made (publish), or that would be made (plan). */
export function describeChange(c: Change, tense: 'done' | 'will' | 'would' = 'done'): string {
  const verb = tense === 'done' ? PAST[c.action] : `${tense === 'will' ? 'Will' : 'Would'} ${c.action}`
  const detail = c.action === 'rename' ? ` from '${c.from ?? ''}'` : c.scope ? ` for the ${c.scope}` : ''
  return `${verb} ${label(c)}${detail}.`
}

/**
 * Carries out a plan's changes, in their order, marking each one done as it is made, so that a run
 * that fails part way can still report exactly what it changed.
 */
export class Applier {
  constructor(
    private readonly api: CertificatesApi,
    private readonly plan: Plan,
    private readonly changes: Change[],
    /** Fingerprint → id, for certificates created by this run. */
    private readonly uploaded: Map<string, string>,
    private readonly options: ApplyOptions
  ) {}

  async run(): Promise<void> {
    try {
      await this.prune()
      await this.uploads()
      await this.writeEach(
        this.changes.filter((c) => c.action === 'rename'),
        (c) => this.api.rename(c.id!, c.name!)
      )
      await this.activation('activate')
      await this.activation('deactivate')
    } catch (error) {
      throw this.explain(error)
    }
  }

  private done(change: Change): void {
    change.done = true
    this.options.log(describeChange(change))
  }

  /** Deletes expired, inactive certificates until the uploads fit; one refused is reported and passed over. */
  private async prune(): Promise<void> {
    const needed = this.plan.deletions
    if (needed === 0) return
    const planned = this.changes.filter((c) => c.action === 'delete')
    let freed = 0
    for (const remote of this.plan.prunable) {
      if (freed === needed) break
      let change = planned.find((c) => c.id === remote.id)
      if (!change) {
        change = { action: 'delete', id: remote.id, name: remote.name, scope: null, fingerprint: null, done: false }
        this.changes.splice(this.changes.indexOf(planned.at(-1)!) + 1, 0, change)
        planned.push(change)
      }
      try {
        await this.api.delete(remote.id)
        this.done(change)
        freed++
      } catch (error) {
        if (!(error instanceof ApiError) || error.status === undefined || error.status >= 500) throw error
        change.error = error.message
        this.options.warn(
          `Could not delete expired certificate ${label(change)}: ${error.message} It was left in place.`
        )
      }
    }
    for (const change of planned)
      if (!change.done && !change.error) this.changes.splice(this.changes.indexOf(change), 1)
    if (freed < needed) {
      throw new ActionError(
        `Only ${freed} of the ${needed} expired certificates needed to make room could be deleted, so nothing was uploaded: deactivate or delete certificates you no longer use, then run the action again.`
      )
    }
  }

  private async uploads(): Promise<void> {
    const byFingerprint = new Map(this.changes.filter((c) => c.action === 'upload').map((c) => [c.fingerprint, c]))
    const checked = new Set<string>()
    await mapLimit(this.plan.uploads, WRITE_CONCURRENCY, async (named) => {
      const id = await this.uploadOne(named, checked)
      this.uploaded.set(named.cert.fingerprint, id)
      const change = byFingerprint.get(named.cert.fingerprint)!
      change.id = id
      this.done(change)
    })
  }

  /**
   * Uploads one certificate. When the answer is lost (connection error, timeout, 5xx), it looks
   * before it tries again and adopts the copy it finds: a retry never leaves a duplicate behind.
   */
  private async uploadOne(named: NamedCertificate, checked: Set<string>): Promise<string> {
    const sleep = this.options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)))
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.api.upload(named.cert.pem, named.name)).id
      } catch (error) {
        if (!isAmbiguous(error) || attempt > this.options.maxRetries) throw error
        this.options.log(
          `Upload of '${named.name}' got no clear answer (${messageOf(error)}); looking whether it was stored.`
        )
        const stored = await this.findStored(named, checked)
        if (stored) {
          this.options.log(`'${named.name}' was stored as ${stored.id} before the answer was lost; using it.`)
          return stored.id
        }
        const wait = (error as ApiError).retryAfterMs ?? retryDelayMs(attempt, {})
        this.options.log(
          `'${named.name}' was not stored; upload retry ${attempt} of ${this.options.maxRetries} in ${(wait / 1000).toFixed(1)} s.`
        )
        await sleep(wait)
      }
    }
  }

  /**
   * A copy of `named` stored since the inventory: only certificates that are new since then, have
   * its validity dates and have not been read already are fetched.
   */
  private async findStored(named: NamedCertificate, checked: Set<string>): Promise<RemoteCertificate | undefined> {
    const fresh = candidates(await this.api.listAll(), [named.cert]).filter(
      (r) => !this.options.knownIds.has(r.id) && !checked.has(r.id)
    )
    for (const remote of fresh.sort((a, b) => a.createdAt - b.createdAt)) {
      const pem = await this.api.getContent(remote.id)
      const fingerprint = pem === undefined ? undefined : fingerprintOfPem(pem)
      if (fingerprint === named.cert.fingerprint) return remote
      // Another certificate of this run may be this one; only an unreadable one is never read again.
      if (fingerprint === undefined) checked.add(remote.id)
    }
    return undefined
  }

  private async writeEach(changes: readonly Change[], write: (c: Change) => Promise<void>): Promise<void> {
    await mapLimit(changes, WRITE_CONCURRENCY, async (change) => {
      await write(change)
      this.done(change)
    })
  }

  /** Activations (or deactivations), per scope, in calls of at most 10 ids. */
  private async activation(action: 'activate' | 'deactivate'): Promise<void> {
    const changes = this.changes.filter((c) => c.action === action)
    for (const change of changes)
      if (change.id === null && change.fingerprint) change.id = this.uploaded.get(change.fingerprint) ?? null
    const byScope = new Map<string, Change[]>()
    for (const change of changes) byScope.set(change.scope ?? '', [...(byScope.get(change.scope ?? '') ?? []), change])
    const calls = [...byScope.values()].flatMap((inScope) => batches(inScope))
    // Each change names its scope for people; the plan's scopes say which project that is.
    const scopes = new Map(this.plan.scopes.map((s) => [scopeName(s.scope), s.scope]))
    await mapLimit(calls, WRITE_CONCURRENCY, async (batch) => {
      const scope = scopes.get(batch[0].scope ?? '')
      const projectId = scope?.kind === 'project' ? scope.id : undefined
      await this.api.setActive(
        batch.map((c) => c.id!),
        action === 'activate',
        projectId
      )
      for (const change of batch) this.done(change)
    })
  }

  /** One message for a failure part way: what went wrong, what was changed before it, what to do. */
  private explain(error: unknown): unknown {
    const made = this.changes.filter((c) => c.done)
    const left = this.changes.filter((c) => !c.done && !c.error)
    const done = `${made.length} of ${made.length + left.length} change${made.length + left.length === 1 ? ' was' : 's were'} made before it stopped${left.length ? ` (${countByAction(left)} not made)` : ''}`
    const uploads = this.plan.uploads.length
    const uploadsDone = `${this.uploaded.size} of ${uploads} new certificate${uploads === 1 ? ' was' : 's were'} uploaded; ${uploads - this.uploaded.size} ${uploads - this.uploaded.size === 1 ? 'was' : 'were'} not`
    const what = uploads > 0 && this.changes.every((c) => c.action === 'upload') ? uploadsDone : done
    if (isCapRefusal(error)) {
      return new ActionError(
        `The organization reached its certificate cap during this run (another workflow or person may have uploaded at the same time): ${(error as ApiError).message} ${what}. Free slots, then run the action again.`
      )
    }
    if (isAmbiguous(error)) {
      return new ActionError(
        `${(error as ApiError).message} ${what}. Run the action again when the API is back: it skips the certificates already in the organization, so nothing is uploaded twice.`
      )
    }
    if (error instanceof ActionError) return new ActionError(`${error.message} ${what}.`)
    return error
  }
}

const NOUN: Record<Change['action'], string> = {
  delete: 'deletion',
  upload: 'upload',
  rename: 'rename',
  activate: 'activation',
  deactivate: 'deactivation'
}

/** `2 activations, 1 deactivation`. */
function countByAction(changes: readonly Change[]): string {
  const counts = new Map<Change['action'], number>()
  for (const c of changes) counts.set(c.action, (counts.get(c.action) ?? 0) + 1)
  return [...counts].map(([action, n]) => `${n} ${NOUN[action]}${n === 1 ? '' : 's'}`).join(', ')
}

/** Said in the plan, before any organization-wide activation. */
export const ORGANIZATION_ACTIVATION_WARNING =
  'Activating certificates for the organization makes every request to it, Admin API calls included, need a client certificate signed by an active CA (sent to https://mtls.api.openai.com). Give this action client-certificate and client-key for its later calls and runs, and make sure your other clients are ready.'
