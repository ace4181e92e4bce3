// A change as a run carries it out and tells of it: its label, its log line, the changes counted
// by action, and how many writes are under way at once.
import type { Change } from './plan.js'

/** How many uploads, renames or activation calls are under way at once. */
export const WRITE_CONCURRENCY = 4

export const seconds = (ms: number): string => (ms / 1000).toFixed(1)

export const label = (c: Change): string => `${c.name ? `'${c.name}'` : 'certificate'}${c.id ? ` (${c.id})` : ''}`

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

const NOUN: Record<Change['action'], string> = {
  delete: 'deletion',
  upload: 'upload',
  rename: 'rename',
  activate: 'activation',
  deactivate: 'deactivation'
}

/** `2 activations, 1 deactivation`. */
export function countByAction(changes: readonly Change[]): string {
  const counts = new Map<Change['action'], number>()
  for (const c of changes) counts.set(c.action, (counts.get(c.action) ?? 0) + 1)
  return [...counts].map(([action, n]) => `${n} ${NOUN[action]}${n === 1 ? '' : 's'}`).join(', ')
}
