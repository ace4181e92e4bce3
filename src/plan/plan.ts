import type { RemoteCertificate } from '../openai/wire.js'
import { ACTIVATION_BATCH, CERTIFICATE_CAP } from '../openai/limits.js'
import { type Inventory, oldestFirst } from '../openai/inventory.js'
import type { Certificate } from '../certificates/x509.js'
import {
  chooseDeletions,
  type Deletion,
  deletionCandidates,
  describeCandidate,
  inUse,
  isManaged,
  type PruneRetired,
  reasonText,
  wouldQualify
} from './retire.js'

/** A local certificate with the name it would be uploaded under. */
export interface NamedCertificate {
  cert: Certificate
  name: string
}

/** Where a certificate is active: the organization, or one project. */
export type Scope = { kind: 'organization' } | { kind: 'project'; id: string }

export const scopeName = (scope: Scope): string =>
  scope.kind === 'organization' ? 'organization' : `project ${scope.id}`

/** What the action should do beyond uploading (the lifecycle inputs). */
export interface LifecycleOptions {
  activate: boolean
  /** With `activate`: these projects instead of the organization. */
  projectIds: string[]
  /** With `activate`: deactivate, in each scope, the active certificates the files no longer hold. */
  exclusive: boolean
  syncNames: boolean
  pruneExpired: boolean
  /** Delete retired certificates (see retire.ts): as the uploads need slots, or all of them. */
  pruneRetired: PruneRetired
  /** Glob patterns of the certificate names this repository manages; empty: every certificate. */
  managedNames: string[]
}

export const NO_LIFECYCLE: LifecycleOptions = {
  activate: false,
  projectIds: [],
  exclusive: false,
  syncNames: false,
  pruneExpired: false,
  pruneRetired: 'false',
  managedNames: []
}

/** Whether the run needs every project's certificate listing: the retired rule does. */
export const needsAllProjects = (options: LifecycleOptions): boolean => options.pruneRetired !== 'false'

/** Which certificates are active in a project: the project listing's `active` flags. */
export type ProjectStates = Map<string, Set<string>>

export interface ScopePlan {
  scope: Scope
  /** Certificates present now that must be activated (new uploads are always added). */
  activate: RemoteCertificate[]
  /** Whether the new uploads are activated here. */
  activateUploads: boolean
  /** Active certificates the files no longer hold (exclusive). */
  deactivate: RemoteCertificate[]
  /** Active certificates the files do not hold that `exclusive` leaves alone: `managed-names` misses their names. */
  spared: RemoteCertificate[]
}

export interface Plan {
  /** Fingerprint → the organization's copy, for local certificates already there. */
  existing: Map<string, RemoteCertificate>
  /** Distinct certificates to upload, first appearance first, each under its first name. */
  uploads: NamedCertificate[]
  /** Certificates present whose name differs from the template (sync-names). */
  renames: { remote: RemoteCertificate; name: string }[]
  scopes: ScopePlan[]
  /**
   * Certificates this run may delete, each with its reason, preferred first: expired
   * (prune-expired, or retired and expired), then retired ones created longest ago (prune-retired).
   */
  prunable: Deletion[]
  /** How many slots the uploads need freed from `prunable`. */
  deletions: number
  /** The deletions planned: those needed for the slots, and with `prune-retired: all` every retired one. */
  toDelete: Deletion[]
  /** Not deletable by this run's inputs but freeable by others: what the cap error lists. */
  qualifying: { remote: RemoteCertificate; managed: boolean }[]
  /** Whether `prune-expired` is on, for the cap error. */
  pruneExpired: boolean
  /** Certificates in the organization now. */
  total: number
  cap: number
  /** The organization's certificates that have expired: candidates to delete when slots run out. */
  expired: RemoteCertificate[]
  /** Certificates in the organization after this run's writes, as its read-back found them. */
  held?: number
  /** The scopes whose activity picks the kept copy of a certificate held more than once (see keptCopy). */
  keep: KeepScopes
}

/** Where a copy's being active counts when picking the kept one: the scopes a run activates in. */
export interface KeepScopes {
  /** The organization, or the projects of `project-ids`: those `activate` targets (else the organization). */
  scopes: Scope[]
  projects: ProjectStates
}

/** In how many of the scopes of `keep` a copy is active (the organization's flag as listed). */
export function activeIn(r: RemoteCertificate, keep: KeepScopes): number {
  return keep.scopes.filter((s) =>
    s.kind === 'organization' ? r.active === true : (keep.projects.get(s.id)?.has(r.id) ?? false)
  ).length
}

/**
 * The one copy every run keeps of a certificate stored more than once, and the only one it names,
 * activates or keeps active: the copy active in most of the run's scopes (so that a copy in use
 * is never swapped for another), then the oldest, then the smallest id. Racing uploads of a new
 * certificate are all inactive, so every run picks the oldest; once one run activates it, it is
 * also the active one. Activation, exclusive, the outputs and the read-back all ask this.
 */
export function keptCopy(
  copies: readonly RemoteCertificate[],
  keep: KeepScopes = ORGANIZATION
): RemoteCertificate | undefined {
  return [...copies].sort((a, b) => activeIn(b, keep) - activeIn(a, keep) || oldestFirst(a, b))[0]
}

const ORGANIZATION: KeepScopes = { scopes: [{ kind: 'organization' }], projects: new Map() }

/** The scopes whose activity picks the kept copy: those `activate` targets, else the organization. */
export function keepScopes(options: LifecycleOptions, projects: ProjectStates): KeepScopes {
  if (!options.activate || options.projectIds.length === 0) return { scopes: [{ kind: 'organization' }], projects }
  return { scopes: options.projectIds.map((id) => ({ kind: 'project', id })), projects }
}

/** The certificates past the cap, newest last: what an organization holding more than `cap` has too many. */
export function overCap(certificates: readonly RemoteCertificate[], cap = CERTIFICATE_CAP): string | undefined {
  if (certificates.length <= cap) return undefined
  const extra = [...certificates].sort(oldestFirst).slice(cap)
  return `The organization holds ${certificates.length} certificates, more than the ${cap} it may hold (two uploads may have passed the cap at once): the newest ${extra.length === 1 ? 'is' : 'are'} ${extra
    .map((r) => `${r.id}${r.name ? ` (${r.name})` : ''}`)
    .join(', ')}. Delete the ones you do not need, then run the action again.`
}

/**
 * Every change a run would make. Pure: a function of the local certificates, what the
 * organization (and each project) holds, the options and the time.
 */
export function makePlan(
  local: readonly NamedCertificate[],
  inventory: Inventory,
  now: Date,
  options: LifecycleOptions = NO_LIFECYCLE,
  projects: ProjectStates = new Map(),
  cap = CERTIFICATE_CAP
): Plan {
  const existing = new Map<string, RemoteCertificate>()
  const uploads: NamedCertificate[] = []
  const renames: Plan['renames'] = []
  const seen = new Set<string>()
  const keep = keepScopes(options, projects)
  // Every copy of a local certificate is held by the files: never retired, never deactivated.
  const held = new Set<string>()
  for (const named of local) {
    const { fingerprint } = named.cert
    if (seen.has(fingerprint)) continue
    seen.add(fingerprint)
    const oldest = inventory.byFingerprint.get(fingerprint)
    const copies = inventory.duplicates?.get(fingerprint) ?? (oldest ? [oldest] : [])
    const remote = keptCopy(copies, keep)
    if (!remote) {
      uploads.push(named)
      continue
    }
    for (const copy of copies) held.add(copy.id)
    existing.set(fingerprint, remote)
    if (options.syncNames && remote.name !== named.name) renames.push({ remote, name: named.name })
  }

  const scopes: ScopePlan[] = []
  if (options.activate) {
    const targets: Scope[] = options.projectIds.length
      ? options.projectIds.map((id) => ({ kind: 'project', id }))
      : [{ kind: 'organization' }]
    for (const scope of targets) {
      const isActive = (r: RemoteCertificate): boolean =>
        scope.kind === 'organization' ? r.active === true : (projects.get(scope.id)?.has(r.id) ?? false)
      const others = options.exclusive ? inventory.certificates.filter((r) => isActive(r) && !held.has(r.id)) : []
      scopes.push({
        scope,
        activate: [...existing.values()].filter((r) => !isActive(r)),
        activateUploads: uploads.length > 0,
        deactivate: others.filter((r) => isManaged(r, options.managedNames)),
        spared: others.filter((r) => !isManaged(r, options.managedNames))
      })
    }
  }

  const nowSeconds = now.getTime() / 1000
  const expired = inventory.certificates.filter((r) => r.expiresAt !== undefined && r.expiresAt <= nowSeconds)
  const prunable = deletionCandidates(inventory.certificates, held, projects, options, nowSeconds)
  const over = inventory.certificates.length + uploads.length - cap
  const deletions = Math.min(Math.max(over, 0), prunable.length)
  const toDelete = chooseDeletions(prunable, deletions, options)
  const candidates = new Set(prunable.map((d) => d.remote.id))
  const qualifying = wouldQualify(
    inventory.certificates.filter((r) => !candidates.has(r.id)),
    held,
    projects,
    options
  )
  return {
    existing,
    uploads,
    renames,
    scopes,
    prunable,
    deletions,
    toDelete,
    qualifying,
    pruneExpired: options.pruneExpired,
    total: inventory.certificates.length,
    cap,
    expired,
    keep
  }
}

/**
 * Refuses, before anything is written, a deletion of a certificate the plan keeps in use: active
 * anywhere the run looked, held by the files, or activated by this plan. Deletion candidates are
 * chosen to be none of these (retire.ts); this is the check that they are.
 */
export function deletionLockOut(plan: Plan, projects: ProjectStates): string | undefined {
  const kept = new Set([...plan.existing.values()].map((r) => r.id))
  for (const s of plan.scopes) for (const r of s.activate) kept.add(r.id)
  const bad = plan.toDelete.filter((d) => kept.has(d.remote.id) || inUse(d.remote, projects))
  if (bad.length === 0) return undefined
  return `Nothing was changed: the plan would delete ${bad.map((d) => describeCandidate(d.remote)).join(', ')}, which ${bad.length === 1 ? 'is' : 'are'} in use or held by the files. This is a bug of the action; please report it.`
}

/** Slots left once the plan's deletions and uploads are done; negative when the cap would be passed. */
export function slotsAfter(plan: Plan): number {
  return plan.cap - plan.total + plan.deletions - plan.uploads.length
}

/** Why the plan cannot be carried out, or undefined when it fits under the cap. */
export function capProblem(plan: Plan, certificates: readonly RemoteCertificate[] = []): string | undefined {
  const over = overCap(certificates, plan.cap)
  if (over) return over
  if (slotsAfter(plan) >= 0) return undefined
  const free = Math.max(plan.cap - plan.total, 0)
  const needed = plan.uploads.length
  const expired =
    plan.expired.length === 0
      ? 'none of its certificates has expired, so delete ones you no longer use'
      : `expired ones you could delete: ${plan.expired
          .slice(0, 10)
          .map((r) => `${r.id}${r.name ? ` (${r.name})` : ''}`)
          .join(
            ', '
          )}${plan.expired.length > 10 ? `, and ${plan.expired.length - 10} more` : ''}${plan.pruneExpired ? '' : "; 'prune-expired: true' deletes the inactive ones the files do not hold"}`
  const allExpired = plan.prunable.every((d) => d.reason.kind === 'expired')
  const pruning =
    plan.prunable.length > 0
      ? `, even after deleting ${plan.prunable.length} ${allExpired ? 'expired inactive' : 'retired or expired'} certificate${plan.prunable.length === 1 ? '' : 's'}`
      : ''
  const unexpired = plan.qualifying.filter((q) => !plan.expired.includes(q.remote))
  const list = (items: typeof unexpired): string =>
    `${items
      .slice(0, 10)
      .map((q) => describeCandidate(q.remote))
      .join(', ')}${items.length > 10 ? `, and ${items.length - 10} more` : ''}`
  const retire = [
    { items: unexpired.filter((q) => q.managed), inputs: "'prune-retired: as-needed' would retire" },
    {
      items: unexpired.filter((q) => !q.managed),
      inputs: "'managed-names' matching their names, with 'prune-retired: as-needed', would retire"
    }
  ]
    .filter((group) => group.items.length > 0)
    .map(
      (group) =>
        ` Not in the files and inactive for the organization, so ${group.inputs} them once inactive in every project too: ${list(group.items)}.`
    )
    .join('')
  return `The organization holds ${plan.total} of at most ${plan.cap} certificates: ${needed} new certificate${needed === 1 ? '' : 's'} need${needed === 1 ? 's' : ''} ${needed} slot${needed === 1 ? '' : 's'}, but ${free} ${free === 1 ? 'is' : 'are'} free${pruning}, so nothing was changed. Free slots first (${expired}).${retire}`
}

/** Splits ids into calls the API accepts. */
export function batches<T>(items: readonly T[], size = ACTIVATION_BATCH): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

export type ChangeAction = 'delete' | 'upload' | 'rename' | 'activate' | 'deactivate'

/** One change to the organization, planned or made: an entry of the `changes` output. */
export interface Change {
  action: ChangeAction
  /** The certificate's id; null for an upload not made yet. */
  id: string | null
  name: string | null
  /** 'organization' or 'project <id>' for activations; null otherwise. */
  scope: string | null
  /** The fingerprint of the local certificate it concerns, if any. */
  fingerprint: string | null
  /** For a rename: the name it had. */
  from?: string | null
  done: boolean
  /**
   * Sent, and not known to have been made or not (under way when the run was cancelled, or its
   * answer lost and not looked up since): reported as `unknown`, never as not made.
   */
  unsure?: boolean
  /** Why it was not made, when it was tried and refused. */
  error?: string
  /** For a deletion: why the certificate may go (expired, or retired and which pattern). */
  reason?: string
}

/** The `delete` change of a deletion, with its reason. */
export function deletionChange(d: Deletion): Change {
  const { id, name } = d.remote
  return { action: 'delete', id, name, scope: null, fingerprint: null, reason: reasonText(d.reason), done: false }
}

/**
 * Every change of a plan in the order it is safe to make them for mTLS traffic: free slots,
 * upload, rename, activate, and only then deactivate, so that no moment is left without a valid CA.
 */
export function planChanges(plan: Plan): Change[] {
  const change = (c: Omit<Change, 'done'>): Change => ({ ...c, done: false })
  const changes: Change[] = []
  for (const d of plan.toDelete) changes.push(deletionChange(d))
  for (const u of plan.uploads)
    changes.push(change({ action: 'upload', id: null, name: u.name, scope: null, fingerprint: u.cert.fingerprint }))
  const fingerprintOf = new Map([...plan.existing].map(([fingerprint, r]) => [r.id, fingerprint]))
  for (const { remote, name } of plan.renames) {
    changes.push(
      change({
        action: 'rename',
        id: remote.id,
        name,
        from: remote.name,
        scope: null,
        fingerprint: fingerprintOf.get(remote.id) ?? null
      })
    )
  }
  for (const s of plan.scopes) {
    const scope = scopeName(s.scope)
    for (const r of s.activate)
      changes.push(
        change({ action: 'activate', id: r.id, name: r.name, scope, fingerprint: fingerprintOf.get(r.id) ?? null })
      )
    if (s.activateUploads) {
      for (const u of plan.uploads)
        changes.push(change({ action: 'activate', id: null, name: u.name, scope, fingerprint: u.cert.fingerprint }))
    }
  }
  for (const s of plan.scopes) {
    for (const r of s.deactivate)
      changes.push(
        change({ action: 'deactivate', id: r.id, name: r.name, scope: scopeName(s.scope), fingerprint: null })
      )
  }
  return changes
}
