import * as core from '@actions/core'

/** Where a problem is, for an annotation. `file` is relative to the workspace. */
export interface Place {
  file: string
  startLine?: number
}

/**
 * What the pipeline needs from the GitHub runner. The real one is `actionsRunner`; tests pass
 * their own, so no module mocks are needed.
 */
export interface Runner {
  getInput(name: string): string
  env(name: string): string | undefined
  setSecret(value: string): void
  info(message: string): void
  debug(message: string): void
  /** A notice: worth seeing, not a warning (not counted, never fails the run). */
  notice(message: string): void
  warning(message: string, place?: Place): void
  error(message: string, place?: Place): void
  setOutput(name: string, value: string): void
  appendSummary(markdown: string): Promise<void>
  setFailed(message: string): void
  /** Runs `task` with its log lines folded under `name`. */
  group<T>(name: string, task: () => Promise<T>): Promise<T>
}

function annotation(place?: Place): core.AnnotationProperties | undefined {
  if (!place) return undefined
  return { file: place.file, startLine: place.startLine }
}

export const actionsRunner: Runner = {
  getInput: (name) => core.getInput(name),
  env: (name) => process.env[name],
  setSecret: (value) => core.setSecret(value),
  info: (message) => core.info(message),
  debug: (message) => core.debug(message),
  notice: (message) => core.notice(message),
  warning: (message, place) => core.warning(message, annotation(place)),
  error: (message, place) => core.error(message, annotation(place)),
  setOutput: (name, value) => core.setOutput(name, value),
  appendSummary: async (markdown) => {
    // Without a summary file (a local run) there is nowhere to write; the log has it all.
    if (!process.env.GITHUB_STEP_SUMMARY) return
    await core.summary.addRaw(markdown, true).write()
  },
  setFailed: (message) => core.setFailed(message),
  group: (name, task) => core.group(name, task)
}
