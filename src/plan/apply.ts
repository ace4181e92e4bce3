import { ActionError, ApiError, messageOf } from '../shared/errors.js'
import { retryDelayMs } from '../openai/http.js'
import type { CertificatesApi } from '../openai/api.js'
import { isAmbiguous, isCapRefusal, isRateLimit, isUploadRefusal } from '../openai/failures.js'
import { managedBy } from './retire.js'
import { type Change, deletionChange, type NamedCertificate, type Plan } from './plan.js'
import { countByAction, describeChange, label, seconds, WRITE_CONCURRENCY } from './changes.js'
import { Copies, type ReadBackOptions } from './read-back.js'
import { Activation } from './activation.js'
import { mapLimit } from '../shared/pool.js'

export interface ApplyOptions extends ReadBackOptions {
  /** Further attempts after an upload whose answer was lost. */
  maxRetries: number
  sleep?: (ms: number) => Promise<void>
  /** `managed-names`: a retired certificate renamed out of it since the listing is kept. */
  managedNames?: readonly string[]
  /** Told of an upload OpenAI refused (see isUploadRefusal), before the run stops on it. */
  refused?: (named: NamedCertificate, error: ApiError) => void
}

/** How often a run whose uploads the cap refused lists again, with backoff, for slots racing runs free. */
export const CAP_ROUNDS = 3

/**
 * Carries out a plan's changes, in their order, marking each one done as it is made, so that a run
 * that fails part way can still report exactly what it changed.
 */
export class Applier {
  private readonly sleep: (ms: number) => Promise<void>
  /** The copies of this run's uploads, and the read-back. */
  private readonly copies: Copies
  private readonly activation: Activation

  constructor(
    private readonly api: CertificatesApi,
    private readonly plan: Plan,
    private readonly changes: Change[],
    /** Fingerprint → id, for certificates created by this run. */
    private readonly uploaded: Map<string, string>,
    private readonly options: ApplyOptions
  ) {
    this.sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)))
    this.copies = new Copies(api, plan, changes, uploaded, options, this.sleep)
    this.activation = new Activation(api, plan, changes, uploaded, this.copies, (change) => this.done(change))
  }

  async run(): Promise<void> {
    try {
      await this.prune()
      if (this.plan.uploads.length > 0) {
        try {
          await this.uploads()
        } catch (error) {
          // What was stored before the failure is reported as the organization shows it, if it answers.
          if ((this.copies.mine.size > 0 || this.copies.lostSince.size > 0) && !this.copies.readBackDone)
            await this.copies.readBack().catch(() => undefined)
          throw error
        }
        // Read back what was written, whatever other runs did meanwhile, before acting on any id.
        await this.copies.readBack().catch((error: unknown) => {
          if (!(error instanceof ApiError) || this.uploaded.size === 0) throw error
          const ids = [...this.uploaded.values()]
          throw new ActionError(
            `${messageOf(error)} It came after this run's uploads, so it could not check for a copy another run stored at the same time: look at ${ids.join(', ')} in the organization's settings for a second copy of ${ids.length === 1 ? 'it' : 'them'}, or run the action again, which warns about any copy it finds`
          )
        })
      }
      await this.writeEach(
        this.changes.filter((c) => c.action === 'rename'),
        (c) => this.api.rename(c.id!, c.name!)
      )
      await this.activation.activate()
      await this.activation.deactivate()
      if (this.copies.wrote && !this.copies.readBackDone) await this.copies.readBack()
      await this.copies.confirmDeletions()
      // Everything else is done; a duplicate this run may have left must not pass unnoticed.
      if (this.copies.doubts.size > 0) throw new ActionError(this.copies.mayHaveLeft())
    } catch (error) {
      const explained = this.explain(error)
      // A run that stops for another reason still names what may be a duplicate it left.
      if (
        this.copies.doubts.size > 0 &&
        explained instanceof ActionError &&
        !explained.message.startsWith('This run may')
      )
        throw new ActionError(`${explained.message} ${this.copies.mayHaveLeft()}.`)
      throw explained
    }
  }

  private done(change: Change): void {
    change.done = true
    this.copies.wrote = true
    this.options.log(describeChange(change))
  }

  /**
   * Makes the planned deletions, then frees any slot still needed with the plan's spares, in
   * order. At the last moment, one fresh listing of the organization (with retiring) shows each
   * candidate still there, inactive for the organization and, for a retired one, still under a
   * managed name; the server itself refuses a delete of a certificate active in any project
   * (`certificate_in_use`): either is a warning naming it, it is kept and the run goes on.
   */
  private async prune(): Promise<void> {
    const planned = this.changes.filter((c) => c.action === 'delete')
    const needed = this.plan.deletions
    if (planned.length === 0 && needed === 0) return
    const retiring = this.plan.prunable.some((d) => d.reason.kind === 'retired')
    const fresh = retiring ? new Map((await this.api.listAll()).map((r) => [r.id, r])) : undefined
    const byId = new Map(this.plan.prunable.map((d) => [d.remote.id, d]))
    let freed = 0
    const attempt = async (change: Change): Promise<void> => {
      const deletion = byId.get(change.id!)
      const now = fresh?.get(change.id!)
      const stale = !fresh
        ? undefined
        : !now
          ? 'it is no longer in the organization (deleted by someone else since this run listed it)'
          : now.active === true
            ? 'it was activated for the organization since this run listed it'
            : deletion?.reason.kind === 'retired' && managedBy(now.name, this.options.managedNames ?? []) === undefined
              ? `it was renamed to '${now.name ?? ''}', which 'managed-names' does not match`
              : undefined
      if (stale) {
        change.error = `Not deleted: ${stale}.`
        this.options.warn(`Did not delete ${label(change)}: ${stale}${now ? '; it was kept' : ''}.`)
        // One deleted by someone else has freed its slot all the same.
        if (!now) freed++
        return
      }
      try {
        change.unsure = true
        await this.api.delete(change.id!)
        change.unsure = false
        this.done(change)
        freed++
      } catch (error) {
        change.unsure = isAmbiguous(error)
        // An answer lost (a reset, a 5xx): the certificate read back says whether the delete was made
        // (still there: not made, and the run stops on the error saying so); unreadable: unsure.
        if (change.unsure) {
          const there = await this.api.get(change.id!).then(
            (r) => r !== undefined,
            () => undefined
          )
          if (there !== undefined) change.unsure = false
          if (there === false) {
            this.options.log(`The answer to deleting ${label(change)} was lost; reading it back shows it deleted.`)
            this.done(change)
            freed++
            return
          }
        }
        if (!(error instanceof ApiError) || error.status === undefined || error.status >= 500) throw error
        // A retired certificate was inactive in every listing this run read; OpenAI says otherwise. It may
        // have been activated since, or have been active all along where a listing did not show it.
        const inUse = error.code === 'certificate_in_use' && deletion?.reason.kind === 'retired'
        change.error = inUse ? `Not deleted: OpenAI says it is in use (${error.message})` : error.message
        this.options.warn(
          inUse
            ? `Did not delete retired certificate ${label(change)}: OpenAI says it is in use (${error.message}), though every listing this run read showed it inactive (activated since, or active where a listing left it out); it was kept: deactivate it everywhere first if it should go.`
            : `Could not delete expired certificate ${label(change)}: ${error.message} It was left in place.`
        )
      }
    }
    for (const change of planned) await attempt(change)
    // A slot the uploads still need comes from the next spare, only if it still qualifies.
    const spares = this.plan.prunable.filter((d) => !planned.some((c) => c.id === d.remote.id))
    for (const spare of spares) {
      if (freed >= needed) break
      const change = deletionChange(spare)
      const last = this.changes.filter((c) => c.action === 'delete').at(-1)
      this.changes.splice(last ? this.changes.indexOf(last) + 1 : 0, 0, change)
      this.options.log(`Deleting spare ${label(change)} instead (${change.reason}).`)
      await attempt(change)
    }
    if (freed < needed) {
      throw new ActionError(
        `Only ${freed} of the ${needed} certificates needed to make room could be deleted, so nothing was uploaded: deactivate or delete certificates you no longer use, then run the action again.`
      )
    }
  }

  /**
   * Uploads the new certificates. When the cap refuses some, another run may have uploaded them,
   * or be about to delete its copies: re-list and re-plan (a few times, with backoff) before failing.
   */
  private async uploads(): Promise<void> {
    let pending = this.plan.uploads
    let looks = 0
    for (;;) {
      const refused: NamedCertificate[] = []
      let refusal: unknown
      await mapLimit(pending, WRITE_CONCURRENCY, async (named) => {
        const { fingerprint } = named.cert
        try {
          const id = await this.uploadOne(named)
          this.copies.mine.set(fingerprint, new Set([...(this.copies.mine.get(fingerprint) ?? []), id]))
          this.uploaded.set(fingerprint, id)
          const change = this.copies.uploadChange(fingerprint)
          change.id = id
          this.done(change)
        } catch (error) {
          if (isUploadRefusal(error)) {
            this.copies.uploadChange(fingerprint).error = error.message
            this.options.refused?.(named, error)
          }
          if (!isCapRefusal(error)) throw error
          refused.push(named)
          refusal = error
        }
      })
      if (refused.length === 0) return
      // Wait, then list again, until the refused ones are there (another run uploaded them) or fit.
      for (;;) {
        if (++looks > CAP_ROUNDS) throw refusal
        const wait = retryDelayMs(looks, {})
        this.options.log(
          `The organization is full: ${refused.length} upload${refused.length === 1 ? ' was' : 's were'} refused; listing it again in ${seconds(wait)} s, as another run may have uploaded the same certificates or be freeing slots.`
        )
        await this.sleep(wait)
        const held = await this.copies.readBack()
        pending = refused.filter((n) => !this.plan.existing.has(n.cert.fingerprint))
        if (pending.length === 0) return
        if (pending.length <= this.plan.cap - held) break
      }
    }
  }

  /**
   * Uploads one certificate. When the answer is lost (connection error, timeout, 5xx), it looks
   * (again, with backoff: listings can lag behind writes) before it tries again, and adopts the
   * copy it finds, also after the last attempt: a retry never leaves a duplicate behind.
   */
  private async uploadOne(named: NamedCertificate): Promise<string> {
    const change = this.copies.uploadChange(named.cert.fingerprint)
    for (let attempt = 1; ; attempt++) {
      const sentAt = Date.now() / 1000
      try {
        change.unsure = true
        const { id } = await this.api.upload(named.cert.pem, named.name)
        change.unsure = false
        // An id the organization held before this run, or one another upload of this run was also
        // answered with, cannot be this upload's: the read-back finds it by content (see doubtful).
        this.copies.answered.set(id, (this.copies.answered.get(id) ?? 0) + 1)
        if (!this.copies.known.has(id)) this.copies.created.add(id)
        return id
      } catch (error) {
        if (!isAmbiguous(error)) {
          change.unsure = false
          throw error
        }
        const { fingerprint } = named.cert
        this.copies.lostSince.set(fingerprint, Math.min(this.copies.lostSince.get(fingerprint) ?? Infinity, sentAt))
        this.options.log(
          `Upload of '${named.name}' got no clear answer (${messageOf(error)}); looking whether it was stored.`
        )
        const stored = await this.copies.lookFor(named)
        change.unsure = false
        if (stored) {
          this.options.log(
            `'${named.name}' is in the organization as ${stored.id}, stored by this upload before its answer was lost or by another run at the same time; using it (the read-back keeps one copy).`
          )
          return stored.id
        }
        if (attempt > this.options.maxRetries) throw error
        const wait = (error as ApiError).retryAfterMs ?? retryDelayMs(attempt, {})
        this.options.log(
          `'${named.name}' was not stored; upload retry ${attempt} of ${this.options.maxRetries} in ${seconds(wait)} s.`
        )
        await this.sleep(wait)
      }
    }
  }

  private async writeEach(changes: readonly Change[], write: (c: Change) => Promise<void>): Promise<void> {
    await mapLimit(changes, WRITE_CONCURRENCY, async (change) => {
      change.unsure = true
      try {
        await write(change)
      } catch (error) {
        // Only a write whose answer was lost may have been made.
        change.unsure = isAmbiguous(error)
        throw error
      }
      change.unsure = false
      this.done(change)
    })
  }

  /** One message for a failure part way: what went wrong, what was changed before it, what to do. */
  private explain(error: unknown): unknown {
    const made = this.changes.filter((c) => c.done)
    const left = this.changes.filter((c) => !c.done && !c.error && !c.unsure)
    const unsure = this.changes.filter((c) => !c.done && c.unsure)
    const total = made.length + left.length + unsure.length
    const done = `${made.length} of ${total} change${total === 1 ? ' was' : 's were'} made before it stopped${left.length ? ` (${countByAction(left)} not made)` : ''}${unsure.length ? `; ${countByAction(unsure)} may or may not have been made (status unknown)` : ''}`
    const uploads = this.plan.uploads.length
    const uploadsDone = `${this.uploaded.size} of ${uploads} new certificate${uploads === 1 ? ' was' : 's were'} uploaded; ${uploads - this.uploaded.size} ${uploads - this.uploaded.size === 1 ? 'was' : 'were'} not`
    const what =
      uploads > 0 && unsure.length === 0 && this.changes.every((c) => c.action === 'upload') ? uploadsDone : done
    if (isCapRefusal(error)) {
      return new ActionError(
        `The organization reached its certificate cap during this run (another workflow or person may have uploaded at the same time): ${(error as ApiError).message} ${what}. Free slots, then run the action again.`
      )
    }
    if (isRateLimit(error)) {
      return new ActionError(
        `${(error as ApiError).message} That is a rate limit, not the certificate cap, and it outlasted ${this.options.maxRetries} ${this.options.maxRetries === 1 ? 'retry' : 'retries'}: ${what}. Run the action again in a few minutes, or set a larger 'max-retries' so that it waits longer.`
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
