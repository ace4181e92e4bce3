import type { RemoteCertificate } from './api.js'
import type { Inventory } from './inventory.js'
import type { Certificate } from './parse.js'

/** OpenAI holds at most this many uploaded certificates per organization, active or not. */
export const CERTIFICATE_CAP = 50

/** A local certificate with the name it would be uploaded under. */
export interface NamedCertificate {
  cert: Certificate
  name: string
}

export interface Plan {
  /** Fingerprint → the organization's copy, for local certificates already there. */
  existing: Map<string, RemoteCertificate>
  /** Distinct certificates to upload, first appearance first, each under its first name. */
  uploads: NamedCertificate[]
  /** Certificates in the organization now. */
  total: number
  cap: number
  /** The organization's certificates that have expired: candidates to delete when slots run out. */
  expired: RemoteCertificate[]
}

/** What to upload and what is already there. Pure: a function of the local and remote lists. */
export function makePlan(local: readonly NamedCertificate[], inventory: Inventory, now: Date, cap = CERTIFICATE_CAP): Plan {
  const existing = new Map<string, RemoteCertificate>()
  const uploads: NamedCertificate[] = []
  const seen = new Set<string>()
  for (const named of local) {
    const { fingerprint } = named.cert
    if (seen.has(fingerprint)) continue
    seen.add(fingerprint)
    const remote = inventory.byFingerprint.get(fingerprint)
    if (remote) existing.set(fingerprint, remote)
    else uploads.push(named)
  }
  const nowSeconds = now.getTime() / 1000
  const expired = inventory.certificates.filter((r) => r.expiresAt !== undefined && r.expiresAt <= nowSeconds)
  return { existing, uploads, total: inventory.certificates.length, cap, expired }
}

/** Slots left once the plan's uploads are done; negative when the cap would be passed. */
export function slotsAfter(plan: Plan): number {
  return plan.cap - plan.total - plan.uploads.length
}

/** Why the plan cannot be carried out, or undefined when it fits under the cap. */
export function capProblem(plan: Plan): string | undefined {
  if (slotsAfter(plan) >= 0) return undefined
  const free = Math.max(plan.cap - plan.total, 0)
  const needed = plan.uploads.length
  const expired =
    plan.expired.length === 0
      ? 'none of its certificates has expired, so delete ones you no longer use'
      : `expired ones you could delete: ${plan.expired
          .slice(0, 10)
          .map((r) => `${r.id}${r.name ? ` (${r.name})` : ''}`)
          .join(', ')}${plan.expired.length > 10 ? `, and ${plan.expired.length - 10} more` : ''}`
  return `The organization holds ${plan.total} of at most ${plan.cap} certificates: ${needed} new certificate${needed === 1 ? '' : 's'} need${needed === 1 ? 's' : ''} ${needed} slot${needed === 1 ? '' : 's'}, but ${free} ${free === 1 ? 'is' : 'are'} free, so nothing was uploaded. Free slots first (${expired}).`
}
