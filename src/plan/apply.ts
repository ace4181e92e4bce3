import { type CertificatesApi } from '../openai/api.js'
import { retryDelayMs } from '../openai/http.js'
import type { RemoteCertificate } from '../openai/wire.js'
import { ActionError, ApiError, messageOf } from '../shared/errors.js'
import { candidates, FETCH_CONCURRENCY, fingerprintOfPem, type Inventory } from '../openai/inventory.js'
import { managedBy } from './retire.js'
import {
  batches,
  type Change,
  deletionChange,
  keptCopy,
  type NamedCertificate,
  overCap,
  type Plan,
  type Scope,
  scopeName
} from './plan.js'
import { mapLimit } from '../shared/pool.js'

/** How many uploads, renames or activation calls are under way at once. */
export const WRITE_CONCURRENCY = 4

/**
 * How far the API's clock may be behind the runner's: a copy created more than this before an
 * upload whose answer was lost was sent predates it, so it is not that upload's (see mayBeMine).
 */
export const CLOCK_SKEW_SECONDS = 5

export interface ApplyOptions {
  /** Further attempts after an upload whose answer was lost. */
  maxRetries: number
  /** What the organization held before this run: none of it is a copy of a new certificate. */
  inventory: Inventory
  log: (message: string) => void
  warn: (message: string) => void
  sleep?: (ms: number) => Promise<void>
  /**
   * How long, in all, to look again for what this run wrote while listings lag behind writes
   * (after an ambiguous upload, and in the read-back): `timeout-seconds`, at most LAG_WINDOW_MS.
   */
  lagWindowMs?: number
  /** `managed-names`: a retired certificate renamed out of it since the listing is kept. */
  managedNames?: readonly string[]
  /** Told of an upload OpenAI refused (see isUploadRefusal), before the run stops on it. */
  refused?: (named: NamedCertificate, error: ApiError) => void
}

/** The longest a run waits, in all, for a listing to show what it wrote. */
export const LAG_WINDOW_MS = 8_000

/** The waits between looks at a lagging listing: backoff from 0.5 s, within `windowMs` in all. */
function lagWaits(windowMs: number): number[] {
  const waits: number[] = []
  for (let look = 1, total = 0; total < windowMs; look++) {
    const wait = Math.min(retryDelayMs(look, {}), windowMs - total)
    waits.push(wait)
    total += wait
  }
  return waits
}
/** How often a run whose uploads the cap refused lists again, with backoff, for slots racing runs free. */
export const CAP_ROUNDS = 3

const seconds = (ms: number): string => (ms / 1000).toFixed(1)

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
function isCapRefusal(error: unknown): boolean {
  if (!(error instanceof ApiError) || error.status === undefined || isRateLimit(error)) return false
  if (error.status < 400 || error.status >= 500) return false
  if (error.code) return /^certificates?_(limit|cap)|^(max|maximum)_certificates/i.test(error.code)
  return /\b(maximum|cap)\b/i.test(error.message)
}

/** Too many requests (429, or a `rate_limit…` code): a refused write, nothing stored by it. */
function isRateLimit(error: unknown): boolean {
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
  const detail =
    c.action === 'rename'
      ? ` from '${c.from ?? ''}'`
      : c.scope
        ? ` for the ${c.scope}`
        : c.reason
          ? ` — ${c.reason}`
          : ''
  return `${verb} ${label(c)}${detail}.`
}

/**
 * Carries out a plan's changes, in their order, marking each one done as it is made, so that a run
 * that fails part way can still report exactly what it changed.
 */
export class Applier {
  /** Ids the upload answers named: copies this run may delete (and see mayBeMine). */
  private readonly created = new Set<string>()
  /**
   * Fingerprint → when (unix seconds, the runner's clock) the first upload of it whose answer was
   * lost was sent: that upload may have stored a copy whose id this run never learnt.
   */
  private readonly lostSince = new Map<string, number>()
  /** When this run began to write (unix seconds, the runner's clock). */
  private readonly startedAt: number
  /** Ids listed that were gone when read (another run deleted them): not held. */
  private readonly vanished = new Set<string>()
  /** Fingerprint → ids this run uploaded or adopted after a lost answer. */
  private readonly mine = new Map<string, Set<string>>()
  /** Id → fingerprint of content read during the run (null: gone or unreadable), never read twice. */
  private readonly fingerprints = new Map<string, string | null>()
  private readonly known: ReadonlySet<string>
  private readonly sleep: (ms: number) => Promise<void>
  /** How often each id was the answer to an upload of this run: an id answered twice is neither's. */
  private readonly answered = new Map<string, number>()
  private wrote = false
  private readBackDone = false
  /** The organization's latest listing, taken after the deletions (read-back, or a scope read). */
  private lastListing: RemoteCertificate[] | undefined
  /**
   * What may be a duplicate this run left: second copies it stored and could not delete, and new
   * certificates it could not read to tell whether they are copies of its uploads. Id → what it is.
   */
  private readonly doubts = new Map<string, string>()

  constructor(
    private readonly api: CertificatesApi,
    private readonly plan: Plan,
    private readonly changes: Change[],
    /** Fingerprint → id, for certificates created by this run. */
    private readonly uploaded: Map<string, string>,
    private readonly options: ApplyOptions
  ) {
    this.known = new Set(options.inventory.certificates.map((r) => r.id))
    this.startedAt = Date.now() / 1000
    this.sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)))
  }

  async run(): Promise<void> {
    try {
      await this.prune()
      if (this.plan.uploads.length > 0) {
        try {
          await this.uploads()
        } catch (error) {
          // What was stored before the failure is reported as the organization shows it, if it answers.
          if ((this.mine.size > 0 || this.lostSince.size > 0) && !this.readBackDone)
            await this.readBack().catch(() => undefined)
          throw error
        }
        // Read back what was written, whatever other runs did meanwhile, before acting on any id.
        await this.readBack().catch((error: unknown) => {
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
      await this.activation()
      await this.deactivation()
      if (this.wrote && !this.readBackDone) await this.readBack()
      await this.confirmDeletions()
      if (this.doubts.size > 0) {
        // Everything else is done; a duplicate this run may have left must not pass unnoticed.
        const ids = [...this.doubts.keys()]
        throw new ActionError(
          `This run may have left a duplicate: ${[...this.doubts.values()].join('; ')}. Look at ${ids.join(', ')} in the organization's settings and delete any second copy (a later run warns about the copies it finds but cannot tell whose they are, so it deletes none)`
        )
      }
    } catch (error) {
      throw this.explain(error)
    }
  }

  private done(change: Change): void {
    change.done = true
    this.wrote = true
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
        if (!(error instanceof ApiError) || error.status === undefined || error.status >= 500) throw error
        // A retired certificate was inactive everywhere when the run listed every project: in use now means since.
        const again = error.code === 'certificate_in_use' && deletion?.reason.kind === 'retired'
        change.error = again ? `Not deleted: it is in use again (${error.message})` : error.message
        this.options.warn(
          again
            ? `Did not delete retired certificate ${label(change)}: it is in use again (activated in a project or for the organization since this run listed them: ${error.message}); it was kept.`
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
   * The read-back confirms every reported deletion: one the organization's last listing still
   * shows is read by id, and reported as not deleted unless that read finds it gone.
   */
  private async confirmDeletions(): Promise<void> {
    const deleted = this.changes.filter((c) => c.action === 'delete' && c.done)
    if (deleted.length === 0) return
    const listed = this.lastListing ?? (await this.api.listAll())
    const shown = deleted.filter((c) => listed.some((r) => r.id === c.id))
    await mapLimit(shown, FETCH_CONCURRENCY, async (change) => {
      if ((await this.api.get(change.id!)) === undefined) return
      change.done = false
      change.error = 'The API answered the delete, but the organization still holds it.'
      this.options.warn(
        `${label(change)} is still in the organization after its delete was answered: not counted as deleted.`
      )
    })
  }

  private uploadChange(fingerprint: string): Change {
    return this.changes.find((c) => c.action === 'upload' && c.fingerprint === fingerprint)!
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
          this.mine.set(fingerprint, new Set([...(this.mine.get(fingerprint) ?? []), id]))
          this.uploaded.set(fingerprint, id)
          const change = this.uploadChange(fingerprint)
          change.id = id
          this.done(change)
        } catch (error) {
          if (isUploadRefusal(error)) {
            this.uploadChange(fingerprint).error = error.message
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
        const held = await this.readBack()
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
    const change = this.uploadChange(named.cert.fingerprint)
    for (let attempt = 1; ; attempt++) {
      const sentAt = Date.now() / 1000
      try {
        change.unsure = true
        const { id } = await this.api.upload(named.cert.pem, named.name)
        change.unsure = false
        // An id the organization held before this run, or one another upload of this run was also
        // answered with, cannot be this upload's: the read-back finds it by content (see doubtful).
        this.answered.set(id, (this.answered.get(id) ?? 0) + 1)
        if (!this.known.has(id)) this.created.add(id)
        return id
      } catch (error) {
        if (!isAmbiguous(error)) {
          change.unsure = false
          throw error
        }
        const { fingerprint } = named.cert
        this.lostSince.set(fingerprint, Math.min(this.lostSince.get(fingerprint) ?? Infinity, sentAt))
        this.options.log(
          `Upload of '${named.name}' got no clear answer (${messageOf(error)}); looking whether it was stored.`
        )
        const stored = await this.lookFor(named)
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

  private get lagWindowMs(): number {
    return Math.min(this.options.lagWindowMs ?? LAG_WINDOW_MS, LAG_WINDOW_MS)
  }

  /**
   * Looks for a stored copy of `named`, again with backoff while the listing may lag behind the
   * write, for up to the lag window (`timeout-seconds`, at most 8 s) in all.
   */
  private async lookFor(named: NamedCertificate): Promise<RemoteCertificate | undefined> {
    const found = await this.findStored(named)
    if (found) return found
    for (const wait of lagWaits(this.lagWindowMs)) {
      this.options.log(`'${named.name}' is not listed yet; looking again in ${seconds(wait)} s.`)
      await this.sleep(wait)
      const found = await this.findStored(named)
      if (found) return found
    }
    return undefined
  }

  /** Ids that cannot be taken as one upload's: answered to two uploads, or held before the run. */
  private doubtful(id: string): boolean {
    return this.known.has(id) || (this.answered.get(id) ?? 0) > 1
  }

  /**
   * The organization's listing, with this run's own uploads in it even when the listing lags:
   * own ids it lacks are read by id (only then); while they exist but are not listed yet, it lists
   * again with backoff, within the lag window, so that other runs' copies show too; any still
   * unlisted after that are added as read.
   */
  private async listWithOwn(own: readonly string[]): Promise<RemoteCertificate[]> {
    let listed = await this.api.listAll()
    const lacking = (list: readonly RemoteCertificate[]) => own.filter((id) => !list.some((r) => r.id === id))
    if (lacking(listed).length === 0) return listed
    const read = (await mapLimit(lacking(listed), FETCH_CONCURRENCY, (id) => this.api.get(id))).filter(
      (r): r is RemoteCertificate => r !== undefined
    )
    const waits = lagWaits(this.lagWindowMs)
    while (read.some((r) => lacking(listed).includes(r.id)) && waits.length > 0) {
      const wait = waits.shift()!
      this.options.log(
        `The listing does not show ${lacking(listed).join(', ')}, stored by this run, yet (listings can lag behind writes); listing again in ${seconds(wait)} s.`
      )
      await this.sleep(wait)
      listed = await this.api.listAll()
    }
    const unlisted = read.filter((r) => lacking(listed).includes(r.id))
    if (unlisted.length > 0)
      this.options.warn(
        `The organization's listing still does not show ${unlisted.map((r) => r.id).join(', ')}, stored by this run: copies another run stored at the same time may not show either. A later run warns about any duplicate it finds.`
      )
    return [...listed, ...unlisted]
  }

  /**
   * A copy of `named` stored since the inventory: only certificates that are new since then, have
   * its validity dates and are not already known are read.
   */
  private async findStored(named: NamedCertificate): Promise<RemoteCertificate | undefined> {
    const listed = await this.api.listAll()
    const fresh = candidates(listed, [named.cert]).filter((r) => !this.known.has(r.id) && !this.isMine(r.id))
    for (const remote of fresh.sort((a, b) => a.createdAt - b.createdAt)) {
      if ((await this.fingerprintOf(remote.id)) === named.cert.fingerprint) return remote
    }
    return undefined
  }

  private isMine(id: string): boolean {
    return [...this.mine.values()].some((ids) => ids.has(id))
  }

  /** The fingerprint of a certificate's content, read once; null when it is gone or unreadable. */
  private async fingerprintOf(id: string): Promise<string | null | undefined> {
    if (this.fingerprints.has(id)) return this.fingerprints.get(id)
    try {
      const pem = await this.api.getContent(id)
      if (pem === undefined) this.vanished.add(id)
      const fingerprint = (pem === undefined ? undefined : fingerprintOfPem(pem)) ?? null
      this.fingerprints.set(id, fingerprint)
      return fingerprint
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        this.vanished.add(id)
        this.fingerprints.set(id, null)
        return null
      }
      this.options.warn(`Could not read certificate ${id} to compare it: ${messageOf(error)}`)
      return undefined
    }
  }

  /**
   * Lists the organization again after writing (one list call) and makes the end state right
   * whatever other runs did meanwhile: for each certificate uploaded, the copy with the smallest
   * (created_at, id) is kept, as every racing run picks; the copies this run created that are
   * not kept and not active are deleted; the kept id is the one reported and activated. New items
   * are read only when they are not this run's own known uploads. Returns how many are held.
   */
  private async readBack(): Promise<number> {
    const mineById = new Map<string, string>()
    for (const [fingerprint, ids] of this.mine)
      for (const id of ids) if (!this.doubtful(id)) mineById.set(id, fingerprint)
    for (const id of this.created) if (this.doubtful(id)) this.created.delete(id)
    const listed = await this.listWithOwn([...mineById.keys()])
    this.readBackDone = true
    this.lastListing = listed
    const local = this.plan.uploads.map((n) => n.cert)
    const unknown = candidates(
      listed.filter((r) => !this.known.has(r.id) && !mineById.has(r.id)),
      local
    )
    await mapLimit(unknown, FETCH_CONCURRENCY, (r) => this.fingerprintOf(r.id))
    for (const r of unknown) {
      if (this.fingerprints.has(r.id)) this.doubts.delete(r.id)
      else
        this.doubts.set(
          r.id,
          `${r.id}, stored by someone else meanwhile, could not be read to tell whether it is a copy of a certificate this run uploaded`
        )
    }
    const copies = new Map<string, RemoteCertificate[]>()
    for (const r of listed) {
      const fingerprint = mineById.get(r.id) ?? this.fingerprints.get(r.id)
      if (fingerprint) copies.set(fingerprint, [...(copies.get(fingerprint) ?? []), r])
    }
    const gone = new Set<string>()
    /** Other runs' inactive copies, stored since the inventory, that are not kept: their runs delete them. */
    const leaving = new Set<string>()
    const missing: string[] = []
    for (const named of this.plan.uploads) {
      const { fingerprint } = named.cert
      const found = copies.get(fingerprint) ?? []
      const kept = keptCopy(found, this.plan.keep)
      const change = this.uploadChange(fingerprint)
      if (!kept) {
        // Whatever id the upload was answered with, the organization holds no such certificate.
        if (change.done) missing.push(`'${named.name}' (answered as ${change.id})`)
        this.uploaded.delete(fingerprint)
        change.done = false
        change.id = null
        continue
      }
      if (change.done) this.uploaded.set(fingerprint, kept.id)
      else {
        this.plan.existing.set(fingerprint, kept)
        change.error ??= `It is in the organization as ${kept.id}, stored by another run or by an attempt whose answer was lost.`
      }
      if (change.id !== null && change.id !== kept.id) {
        this.options.log(
          this.doubtful(change.id)
            ? `The upload of '${named.name}' was answered with id ${change.id}, which ${this.known.has(change.id) ? 'the organization held before this run' : 'another upload of this run was also answered with'}; by its content, the organization holds it as ${kept.id}.`
            : listed.some((r) => r.id === change.id)
              ? `'${named.name}' is stored more than once; ${kept.id}, stored first, is the one kept.`
              : `The upload of '${named.name}' was answered with id ${change.id}, which the organization does not hold; it holds the certificate as ${kept.id}.`
        )
      }
      change.id = kept.id
      for (const copy of found) {
        if (copy === kept) continue
        if (copy.active === true) {
          if (this.created.has(copy.id))
            this.options.warn(
              `${copy.id}, a second copy of '${named.name}' (${kept.id} is kept), is active, so it was left in place.`
            )
          continue
        }
        if (this.created.has(copy.id) || this.mayBeMine(fingerprint, copy)) {
          if (await this.deleteCopy(copy, named, kept.id)) gone.add(copy.id)
        } else if (this.storedDuringRun(copy)) leaving.add(copy.id)
      }
    }
    // What the organization holds once every run has deleted its own extra copies.
    const held = listed.filter((r) => !gone.has(r.id) && !leaving.has(r.id) && !this.vanished.has(r.id))
    this.plan.held = held.length
    const over = overCap(held, this.plan.cap)
    if (over) throw new ActionError(over)
    if (missing.length > 0) {
      throw new ActionError(
        `The API answered ${missing.join(', ')}, but the organization holds no certificate with that content: it is reported as not uploaded. Run the action again: it uploads only what is still missing.`
      )
    }
    return held.length
  }

  /**
   * Whether an inactive copy that is not kept may be the one an upload of this run stored before
   * its answer was lost: stored since the inventory, and not before that upload was sent. Every
   * racing run agrees on the kept copy (keptCopy), and no run names or activates any other, so
   * deleting it takes nothing from anyone: a run that knows its copy's id deletes it too, and the
   * second delete finds it gone. A copy older than the lost upload (one left before, a listing
   * lagging) is never this run's, and stays.
   */
  private mayBeMine(fingerprint: string, copy: RemoteCertificate): boolean {
    const since = this.lostSince.get(fingerprint)
    return since !== undefined && !this.known.has(copy.id) && copy.createdAt >= Math.floor(since) - CLOCK_SKEW_SECONDS
  }

  /**
   * A copy stored while this run was writing: a racing run's, which that run deletes if it is not
   * kept. An unknown copy older than that (hidden from the inventory by a lagging listing) is
   * nobody's to delete now, and is counted as held.
   */
  private storedDuringRun(copy: RemoteCertificate): boolean {
    return !this.known.has(copy.id) && copy.createdAt >= Math.floor(this.startedAt) - CLOCK_SKEW_SECONDS
  }

  /** Deletes a duplicate this run created (or may have), once its content shows it is one; true when it is gone. */
  private async deleteCopy(copy: RemoteCertificate, named: NamedCertificate, kept: string): Promise<boolean> {
    const { name } = named
    const fingerprint = await this.fingerprintOf(copy.id)
    if (this.vanished.has(copy.id)) return true
    if (fingerprint !== named.cert.fingerprint) return false
    const whose = this.created.has(copy.id)
      ? "this run's second copy"
      : 'a second copy, which an upload of this run whose answer was lost may have stored,'
    try {
      await this.api.delete(copy.id)
      this.options.log(`Deleted ${copy.id}, ${whose} of '${name}': ${kept} is the copy kept.`)
      this.doubts.delete(copy.id)
      return true
    } catch (error) {
      // Another racing run deleted it first, or a delete whose answer was lost was made: the
      // organization says; either way it is gone.
      const gone =
        (error instanceof ApiError && error.status === 404) ||
        (isAmbiguous(error) && (await this.api.get(copy.id).catch(() => copy)) === undefined)
      if (gone) {
        this.options.log(`${copy.id}, ${whose} of '${name}', is deleted (by this run or another); ${kept} is kept.`)
        this.doubts.delete(copy.id)
        return true
      }
      this.options.warn(
        `Could not delete ${copy.id}, a second copy of '${name}' (${kept} is kept): ${messageOf(error)}`
      )
      this.doubts.set(copy.id, `${copy.id}, ${whose} of '${name}' (${kept} is kept), could not be deleted`)
      return false
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

  /** The id the organization keeps for a local certificate, uploaded by this run or not. */
  private keptId(fingerprint: string): string | null {
    return this.uploaded.get(fingerprint) ?? this.plan.existing.get(fingerprint)?.id ?? null
  }

  private scopeOf(name: string | null): Scope {
    return this.plan.scopes.find((s) => scopeName(s.scope) === name)?.scope ?? { kind: 'organization' }
  }

  /** Which certificates are active in a scope, read afresh. */
  private async readScope(scope: Scope): Promise<Map<string, boolean>> {
    const listed = scope.kind === 'project' ? await this.api.listProject(scope.id) : await this.api.listAll()
    if (scope.kind === 'organization') {
      this.readBackDone = true
      this.lastListing = listed
    }
    return new Map(listed.map((r) => [r.id, r.active === true]))
  }

  private async activation(): Promise<void> {
    const changes = this.changes.filter((c) => c.action === 'activate')
    for (const change of changes) if (change.fingerprint) change.id = this.keptId(change.fingerprint) ?? change.id
    await this.setStates(
      changes.filter((c) => c.id !== null),
      true
    )
  }

  /**
   * Activates or deactivates, per scope, in calls of at most 10 ids, and counts a change as made
   * only when the answer's `active` flag, or a fresh read of the scope, shows it.
   */
  private async setStates(changes: readonly Change[], active: boolean): Promise<void> {
    const verb = active ? 'activate' : 'deactivate'
    const byScope = new Map<string, Change[]>()
    for (const change of changes) byScope.set(change.scope ?? '', [...(byScope.get(change.scope ?? '') ?? []), change])
    const calls = [...byScope.values()].flatMap((inScope) => batches(inScope))
    const unsure: Change[] = []
    let failure: unknown
    await mapLimit(calls, WRITE_CONCURRENCY, async (batch) => {
      if (failure !== undefined) return
      const scope = this.scopeOf(batch[0].scope)
      for (const change of batch) change.unsure = true
      try {
        const states = await this.api.setActive(
          batch.map((c) => c.id!),
          active,
          scope.kind === 'project' ? scope.id : undefined
        )
        for (const change of batch) {
          change.unsure = false
          if (states.get(change.id!) === active) this.done(change)
          else unsure.push(change)
        }
      } catch (error) {
        failure ??= error
        unsure.push(...batch)
      }
    })
    if (unsure.length > 0) {
      this.wrote = true
      // The answer did not show these changed, or the call failed part way: the scope says.
      for (const name of new Set(unsure.map((c) => c.scope))) {
        let states: Map<string, boolean>
        try {
          states = await this.readScope(this.scopeOf(name))
        } catch (error) {
          if (failure === undefined) throw error
          continue
        }
        for (const change of unsure.filter((c) => c.scope === name)) {
          change.unsure = false
          if (states.get(change.id!) === active) this.done(change)
          else if (failure === undefined) change.error = `The API answered the ${verb} call, but it was not applied.`
        }
      }
    }
    if (failure !== undefined) throw failure
    const notApplied = unsure.filter((c) => !c.done)
    if (notApplied.length > 0) {
      throw new ActionError(
        `The OpenAI API answered that it would ${verb} ${notApplied.map(label).join(', ')}, but a fresh read shows ${notApplied.length === 1 ? 'it' : 'them'} still ${active ? 'inactive' : 'active'}: not counted as ${verb}d${active && this.changes.some((c) => c.action === 'deactivate') ? ', and nothing was deactivated' : ''}. Run the action again.`
      )
    }
  }

  /**
   * `exclusive`: deactivates only once a fresh read shows the files' certificates active in the
   * scope, and reads again after: if another run deactivated them meanwhile, they are activated
   * again, so that a scope that held an active certificate from the files never holds none.
   */
  private async deactivation(): Promise<void> {
    const changes = this.changes.filter((c) => c.action === 'deactivate')
    if (changes.length === 0) return
    const files = [...new Set([...this.plan.existing.values()].map((r) => r.id).concat([...this.uploaded.values()]))]
    for (const name of new Set(changes.map((c) => c.scope))) {
      const scope = this.scopeOf(name)
      const before = await this.readScope(scope)
      const inactive = files.filter((id) => before.get(id) !== true)
      if (inactive.length > 0) {
        // The outputs say what the organization shows: an activation undone since is not counted.
        for (const change of this.changes)
          if (change.action === 'activate' && change.scope === name && change.done && inactive.includes(change.id!)) {
            change.done = false
            change.error = 'It was deactivated again, by someone else, after this run activated it.'
          }
        throw new ActionError(
          `Nothing was deactivated in the ${name}: a fresh read shows ${inactive.join(', ')}, from the files, not active there (another run or a person may have changed it). The certificates active before stay active, so nothing is locked out; run the action again.`
        )
      }
      const targets: Change[] = []
      for (const change of changes.filter((c) => c.scope === name)) {
        if (before.get(change.id!) === true) targets.push(change)
        else change.error = 'It was no longer active when this run came to deactivate it.'
      }
      await this.setStates(targets, false)
      const after = await this.readScope(scope)
      const lost = files.filter((id) => after.get(id) !== true)
      if (lost.length === 0) continue
      const again = lost.map((id): Change => {
        const known = this.changes.find((c) => c.id === id)
        return {
          action: 'activate',
          id,
          name: known?.name ?? null,
          scope: name,
          fingerprint: known?.fingerprint ?? null,
          done: false
        }
      })
      this.changes.push(
        ...again.filter(
          (c) => !this.changes.some((d) => d.action === 'activate' && d.id === c.id && d.scope === name && d.done)
        )
      )
      await this.setStates(again, true)
      throw new ActionError(
        `Another run deactivated ${lost.join(', ')} in the ${name} while this run was rotating certificates (two runs at once): this run activated ${lost.length === 1 ? 'it' : 'them'} again, so the scope keeps an active certificate from the files. Let one run at a time publish to an organization (a concurrency group with cancel-in-progress: false), then run the action again.`
      )
    }
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
