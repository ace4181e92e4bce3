// What counts as in use, what this repository manages and what is retired: the one place that
// decides which certificates of the organization may be deleted, and why.
import { Minimatch } from 'minimatch'
import type { RemoteCertificate } from '../openai/wire.js'
import { ActionError } from '../shared/errors.js'
import { oldestFirst } from '../openai/inventory.js'

export const PRUNE_RETIRED = ['false', 'as-needed', 'all'] as const
export type PruneRetired = (typeof PRUNE_RETIRED)[number]

/** Project id → ids of the certificates active there (a project's certificate listing). */
export type ActiveInProjects = ReadonlyMap<string, ReadonlySet<string>>

const MATCH_OPTIONS = { dot: true, nocomment: true, nonegate: true, noext: false } as const
const ALLOWED =
  "one glob pattern of certificate names per line, e.g. 'payments-*' (* and ? match within a name, [abc] one of a set, {a,b} either)"

/** Why a `managed-names` line is not a glob this action reads, or undefined. */
function patternProblem(pattern: string): string | undefined {
  if (pattern.length > 256) return 'it is longer than 256 characters'
  if (/\p{Cc}/u.test(pattern)) return 'it holds a control character'
  if (pattern.startsWith('!')) return "'!' (exclusion) is not supported: list only the names to manage"
  let brackets = 0
  let braces = 0
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]
    if (ch === '\\') {
      i++
      continue
    }
    if (brackets > 0) {
      if (ch === ']') brackets--
      continue
    }
    if (ch === '[') brackets++
    else if (ch === ']') return "it has a ']' with no '[' before it"
    else if (ch === '{') braces++
    else if (ch === '}' && --braces < 0) return "it has a '}' with no '{' before it"
  }
  if (brackets > 0) return "it has a '[' that is never closed"
  if (braces > 0) return "it has a '{' that is never closed"
  if (new Minimatch(pattern, MATCH_OPTIONS).makeRe() === false) return 'it is not a valid glob'
  return undefined
}

/** The `managed-names` lines, checked: an invalid one is an input error, before any request. */
export function parseManagedNames(lines: readonly string[]): string[] {
  for (const pattern of lines) {
    const problem = patternProblem(pattern)
    if (problem) throw new ActionError(`Input 'managed-names' has '${pattern}', which ${problem}: give ${ALLOWED}.`)
  }
  return [...new Set(lines)]
}

/** The first of `patterns` that a certificate name matches; undefined for none (or no name). */
export function managedBy(name: string | null, patterns: readonly string[]): string | undefined {
  if (name === null || name === '') return undefined
  return patterns.find((p) => new Minimatch(p, MATCH_OPTIONS).match(name))
}

/** Names unlike each other (cases, digits, dots, spaces, punctuation): a pattern matching all of them claims every name. */
const ANY_NAMES = ['a', 'Z', '7', 'payments-2025', 'Billing Root CA', '.hidden', '#1', 'x.y_z', '-', 'é']

/**
 * The first pattern that matches every certificate name ('*', '**', '?*'…), or undefined: with it,
 * `exclusive` and `prune-retired` treat every team's certificates as this repository's.
 */
export function claimsEveryName(patterns: readonly string[]): string | undefined {
  return patterns.find((p) => ANY_NAMES.every((name) => managedBy(name, [p]) === p))
}

/**
 * Whether `exclusive` (and retiring) may change this certificate: every certificate when
 * `managed-names` is empty, else only those whose name matches one of its patterns.
 */
export const isManaged = (r: RemoteCertificate, patterns: readonly string[]): boolean =>
  patterns.length === 0 || managedBy(r.name, patterns) !== undefined

/** The scopes where a certificate is active: the organization, and each project that shows it active. */
export function usedIn(r: RemoteCertificate, projects: ActiveInProjects): string[] {
  const where = r.active === true ? ['organization'] : []
  for (const [id, active] of projects) if (active.has(r.id)) where.push(`project ${id}`)
  return where
}

/** In use: active for the organization or in any project the run listed. The server refuses to delete one. */
export const inUse = (r: RemoteCertificate, projects: ActiveInProjects): boolean => usedIn(r, projects).length > 0

export type DeletionReason =
  { kind: 'expired'; expiredAt: number } | { kind: 'retired'; pattern: string; expiredAt?: number }

/** A certificate this run may delete, and why. */
export interface Deletion {
  remote: RemoteCertificate
  reason: DeletionReason
}

const day = (unix: number): string => new Date(unix * 1000).toISOString().slice(0, 10)

/** The reason as people read it, in the plan, the log, `changes` and the summary. */
export function reasonText(reason: DeletionReason): string {
  if (reason.kind === 'expired') return `expired ${day(reason.expiredAt)}, inactive, not in the files (prune-expired)`
  return `retired: not in the files, inactive for the organization and every project since before this run, name matches '${reason.pattern}'${reason.expiredAt !== undefined ? `, expired ${day(reason.expiredAt)}` : ''} (prune-retired)`
}

export interface DeletionRules {
  pruneExpired: boolean
  pruneRetired: PruneRetired
  managedNames: readonly string[]
}

/**
 * Every certificate this run may delete, preferred first: expired ones (the earliest expiry
 * first), then retired ones created longest ago. `held` are the ids the files hold (every copy
 * of a local certificate); `projects` must cover every project of the organization whenever
 * `prune-retired` is on (it is the listing the retired rule needs).
 */
export function deletionCandidates(
  certificates: readonly RemoteCertificate[],
  held: ReadonlySet<string>,
  projects: ActiveInProjects,
  rules: DeletionRules,
  nowSeconds: number
): Deletion[] {
  const out: Deletion[] = []
  for (const r of certificates) {
    if (held.has(r.id) || inUse(r, projects)) continue
    const expiredAt = r.expiresAt !== undefined && r.expiresAt <= nowSeconds ? r.expiresAt : undefined
    const pattern = rules.pruneRetired !== 'false' ? managedBy(r.name, rules.managedNames) : undefined
    if (pattern !== undefined) out.push({ remote: r, reason: { kind: 'retired', pattern, expiredAt } })
    else if (rules.pruneExpired && expiredAt !== undefined)
      out.push({ remote: r, reason: { kind: 'expired', expiredAt } })
  }
  const expiry = (d: Deletion): number | undefined => d.reason.expiredAt
  return out.sort((a, b) => {
    const [ea, eb] = [expiry(a), expiry(b)]
    if (ea !== undefined && eb !== undefined) return ea - eb || oldestFirst(a.remote, b.remote)
    if (ea !== undefined) return -1
    if (eb !== undefined) return 1
    return oldestFirst(a.remote, b.remote)
  })
}

/**
 * The deletions a plan makes: with `prune-retired: all` every retired candidate, and then (or
 * otherwise) candidates in order of preference until `needed` slots are free.
 */
export function chooseDeletions(candidates: readonly Deletion[], needed: number, rules: DeletionRules): Deletion[] {
  const chosen = new Set(rules.pruneRetired === 'all' ? candidates.filter((d) => d.reason.kind === 'retired') : [])
  for (const d of candidates) {
    if (chosen.size >= needed) break
    chosen.add(d)
  }
  return candidates.filter((d) => chosen.has(d))
}

/**
 * Certificates the inputs could free but this run may not delete, for the cap error: named, not
 * held by the files and inactive as far as the run knows; `managed` when `managed-names` already
 * matches the name (so `prune-retired` alone would retire it). Oldest first.
 */
export function wouldQualify(
  certificates: readonly RemoteCertificate[],
  held: ReadonlySet<string>,
  projects: ActiveInProjects,
  rules: DeletionRules
): { remote: RemoteCertificate; managed: boolean }[] {
  return certificates
    .filter((r) => r.name !== null && r.name !== '' && !held.has(r.id) && !inUse(r, projects))
    .map((remote) => ({ remote, managed: managedBy(remote.name, rules.managedNames) !== undefined }))
    .sort((a, b) => oldestFirst(a.remote, b.remote))
}

/** One line per certificate of the cap error: name, id, created, expires. */
export function describeCandidate(r: RemoteCertificate): string {
  const created = r.createdAt < Number.MAX_SAFE_INTEGER ? day(r.createdAt) : 'unknown'
  return `'${r.name ?? ''}' ${r.id} (created ${created}, expires ${r.expiresAt !== undefined ? day(r.expiresAt) : 'unknown'})`
}
