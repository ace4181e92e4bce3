// Activation and deactivation, per scope, counted only when the answer or a fresh read of the
// scope shows them; `exclusive` deactivates only while the files' certificates are active there,
// and activates them again when another run deactivated them meanwhile.
import { ActionError } from '../shared/errors.js'
import { batches, type Change, type Plan, type Scope, scopeName } from './plan.js'
import { label, WRITE_CONCURRENCY } from './changes.js'
import type { Copies } from './read-back.js'
import type { CertificatesApi } from '../openai/api.js'
import { mapLimit } from '../shared/pool.js'

/** The activations and deactivations of a run, in its scopes. */
export class Activation {
  constructor(
    private readonly api: CertificatesApi,
    private readonly plan: Plan,
    private readonly changes: Change[],
    /** Fingerprint → id, for certificates created by this run. */
    private readonly uploaded: Map<string, string>,
    /** Told of a fresh listing of the organization, and of a write that may have been made. */
    private readonly copies: Copies,
    /** Marks a change done, as the Applier does. */
    private readonly done: (change: Change) => void
  ) {}

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
      this.copies.readBackDone = true
      this.copies.lastListing = listed
    }
    return new Map(listed.map((r) => [r.id, r.active === true]))
  }

  async activate(): Promise<void> {
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
      this.copies.wrote = true
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
  async deactivate(): Promise<void> {
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
}
