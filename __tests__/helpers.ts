import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { ActionRun } from '../tools/run-action.mjs'

/** A fresh workspace holding `files` (path relative to it → content). */
export async function workspace(files: Record<string, string | Uint8Array>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'workspace-'))
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true })
    await writeFile(join(root, path), content)
  }
  return root
}

export interface ResultEntry {
  file: string
  index: number | null
  line: number
  name: string | null
  fingerprint: string | null
  id: string | null
  status: string
  not_before: string | null
  not_after: string | null
  subject: string | null
  problems: { check: string; severity: string; line: number; message: string }[]
  changes: { action: string; id: string | null; name: string | null; scope: string | null; done: boolean }[]
}

export const results = (run: ActionRun): ResultEntry[] => JSON.parse(run.outputs.results) as ResultEntry[]
export const ids = (run: ActionRun, output: string): string[] => JSON.parse(run.outputs[output]) as string[]

/** Workflow commands the action printed: `::error file=…,line=…::message` and the like. */
export function commands(run: ActionRun, command: string): { properties: string; message: string }[] {
  return [...run.stdout.matchAll(new RegExp(`^::${command}( [^:]*)?::(.*)$`, 'gm'))].map((m) => ({
    properties: (m[1] ?? '').trim(),
    message: m[2]
  }))
}

/** The log as a person reads it: without workflow commands and debug lines. */
export const visibleLog = (run: ActionRun): string =>
  run.stdout
    .split('\n')
    .filter(
      (line) => !line.startsWith('::debug::') && !line.startsWith('::set-output') && !line.startsWith('::add-mask::')
    )
    .join('\n')
