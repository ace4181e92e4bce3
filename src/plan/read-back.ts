// What a run knows of the copies it stored, and the read-back that reconciles them after writing:
// the kept copy, second copies deleted, copies an upload whose answer was lost may have stored,
// the duplicates it could not rule out (doubts), and the deletions confirmed.
import type { CertificatesApi } from '../openai/api.js'
import { retryDelayMs } from '../openai/http.js'
import type { RemoteCertificate } from '../openai/wire.js'
import { isAmbiguous } from '../openai/failures.js'
import { ActionError, ApiError, messageOf } from '../shared/errors.js'
import { candidates, FETCH_CONCURRENCY, fingerprintOfPem, type Inventory } from '../openai/inventory.js'
import { type Change, keptCopy, type NamedCertificate, overCap, type Plan } from './plan.js'
import { label, seconds } from './changes.js'
import { mapLimit } from '../shared/pool.js'

/**
 * How far the API's clock may be behind the runner's: a copy created more than this before an
 * upload whose answer was lost was sent predates it, so it is not that upload's (see mayBeMine).
 */
export const CLOCK_SKEW_SECONDS = 5

export interface ReadBackOptions {
  /** What the organization held before this run: none of it is a copy of a new certificate. */
  inventory: Inventory
  log: (message: string) => void
  warn: (message: string) => void
  /**
   * How long, in all, to look again for what this run wrote while listings lag behind writes
   * (after an ambiguous upload, and in the read-back): `timeout-seconds`, at most LAG_WINDOW_MS.
   */
  lagWindowMs?: number
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

/**
 * The copies of a run's uploads: what the upload answers named, what was stored when an answer
 * was lost, and the read-back after writing, which keeps one copy of each certificate.
 */
export class Copies {
  /** Ids the upload answers named: copies this run may delete (and see mayBeMine). */
  readonly created = new Set<string>()
  /**
   * Fingerprint → when (unix seconds, the runner's clock) the first upload of it whose answer was
   * lost was sent: that upload may have stored a copy whose id this run never learnt.
   */
  readonly lostSince = new Map<string, number>()
  /** When this run began to write (unix seconds, the runner's clock). */
  private readonly startedAt: number
  /** Ids listed that were gone when read (another run deleted them): not held. */
  private readonly vanished = new Set<string>()
  /** Fingerprint → ids this run uploaded or adopted after a lost answer. */
  readonly mine = new Map<string, Set<string>>()
  /** Id → fingerprint of content read during the run (null: gone or unreadable), never read twice. */
  private readonly fingerprints = new Map<string, string | null>()
  readonly known: ReadonlySet<string>
  /** How often each id was the answer to an upload of this run: an id answered twice is neither's. */
  readonly answered = new Map<string, number>()
  /** A write was made, or may have been: a read-back is due. */
  wrote = false
  readBackDone = false
  /** The organization's latest listing, taken after the deletions (read-back, or a scope read). */
  lastListing: RemoteCertificate[] | undefined
  /**
   * What may be a duplicate this run left: second copies it stored and could not delete, and new
   * certificates it could not read to tell whether they are copies of its uploads. Id → what it is.
   */
  readonly doubts = new Map<string, string>()

  constructor(
    private readonly api: CertificatesApi,
    private readonly plan: Plan,
    private readonly changes: Change[],
    /** Fingerprint → id, for certificates created by this run. */
    private readonly uploaded: Map<string, string>,
    private readonly options: ReadBackOptions,
    private readonly sleep: (ms: number) => Promise<void>
  ) {
    this.known = new Set(options.inventory.certificates.map((r) => r.id))
    this.startedAt = Date.now() / 1000
  }

  /**
   * The read-back confirms every reported deletion: one the organization's last listing still
   * shows is read by id, and reported as not deleted unless that read finds it gone.
   */
  async confirmDeletions(): Promise<void> {
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

  uploadChange(fingerprint: string): Change {
    return this.changes.find((c) => c.action === 'upload' && c.fingerprint === fingerprint)!
  }

  private get lagWindowMs(): number {
    return Math.min(this.options.lagWindowMs ?? LAG_WINDOW_MS, LAG_WINDOW_MS)
  }

  /**
   * Looks for a stored copy of `named`, again with backoff while the listing may lag behind the
   * write, for up to the lag window (`timeout-seconds`, at most 8 s) in all.
   */
  async lookFor(named: NamedCertificate): Promise<RemoteCertificate | undefined> {
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
  async readBack(): Promise<number> {
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
    const whose = this.created.has(copy.id)
      ? "this run's second copy"
      : 'a second copy, which an upload of this run whose answer was lost may have stored,'
    if (fingerprint === undefined) {
      // Unread (the read failed): it may be this run's duplicate, so it is never passed over quietly.
      this.doubts.set(copy.id, `${copy.id}, maybe ${whose} of '${name}' (${kept} is kept), could not be read to tell`)
      return false
    }
    if (fingerprint !== named.cert.fingerprint) return false
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

  /** What may be a duplicate this run left, and what to do about it. */
  mayHaveLeft(): string {
    const ids = [...this.doubts.keys()]
    return `This run may have left a duplicate: ${[...this.doubts.values()].join('; ')}. Look at ${ids.join(', ')} in the organization's settings and delete any second copy (a later run warns about the copies it finds but cannot tell whose they are, so it deletes none)`
  }
}
