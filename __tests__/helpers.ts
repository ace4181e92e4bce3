import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { Result } from '../src/github/results.js'
import { madeCa, makeLeaf } from '../tools/certs.mjs'
import { type Emulator, type EmulatorOptions, startEmulator } from '../tools/emulator.mjs'
import { type ActionRun, runAction } from '../tools/run-action.mjs'

const workspaces: string[] = []

/**
 * A fresh workspace holding `files` (path relative to it → content), or any other folder a test
 * needs in the temporary directory (named by `prefix`). It is removed after the
 * test file's last test (`removeWorkspaces`, registered for every test file in __tests__/setup.ts).
 */
export async function workspace(files: Record<string, string | Uint8Array>, prefix = 'workspace-'): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), prefix))
  workspaces.push(root)
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true })
    await writeFile(join(root, path), content)
  }
  return root
}

/** Removes every workspace this test file made. */
export async function removeWorkspaces(): Promise<void> {
  await Promise.all(workspaces.splice(0).map((root) => rm(root, { recursive: true, force: true })))
}

/**
 * The emulator fixture of a test file: `const startEmulator = emulators()` at its top, then
 * `emulator = await startEmulator(options)` where a test needs one. Every emulator it started is
 * closed after the test that started it (`'test'`) or after the file's last test (`'file'`, for
 * one started in a `beforeAll`).
 */
export function emulators(scope: 'test' | 'file' = 'test'): (options?: EmulatorOptions) => Promise<Emulator> {
  const started: Emulator[] = []
  const close = async () => void (await Promise.all(started.splice(0).map((e) => e.close())))
  if (scope === 'test') afterEach(close)
  else afterAll(close)
  return async (options) => {
    const emulator = await startEmulator(options)
    started.push(emulator)
    return emulator
  }
}

/**
 * Runs the bundle in `root` as the runner does, against `emulator`: its admin key and base URL,
 * files `certs/*.pem`, action.yml's defaults for the rest; `inputs` add to these or replace them.
 * With `organizationClient`, a run that activates for the organization gets the client
 * certificate it needs (see `organizationClient`).
 */
export async function publishTo(
  emulator: Emulator,
  root: string,
  inputs: Record<string, string> = {},
  options: { env?: Record<string, string>; organizationClient?: boolean } = {}
): Promise<ActionRun> {
  return runAction({
    workspace: root,
    inputs: {
      files: 'certs/*.pem',
      'admin-api-key': emulator.adminKey,
      'base-url': emulator.baseUrl,
      ...(options.organizationClient ? await organizationClient(root, inputs) : {}),
      ...inputs
    },
    env: options.env
  })
}

/** Runs the bundle in `root` in validate mode (no API), on `certs/*.pem` unless `inputs` say. */
export const validate = (
  root: string,
  inputs: Record<string, string> = {},
  env: Record<string, string> = {}
): Promise<ActionRun> =>
  runAction({ workspace: root, inputs: { files: 'certs/*.pem', mode: 'validate', ...inputs }, env })

/** An entry of the `results` output, as the action writes it. */
export type ResultEntry = Result

export const results = (run: ActionRun): ResultEntry[] => JSON.parse(run.outputs.results) as ResultEntry[]
export const ids = (run: ActionRun, output: string): string[] => JSON.parse(run.outputs[output]) as string[]
/** The `counts` output: found, distinct, valid, uploaded and the others, by name. */
export const counts = (run: ActionRun): Record<string, number> =>
  JSON.parse(run.outputs.counts) as Record<string, number>

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

/**
 * Inputs for a run that activates for the organization: a client certificate issued from the
 * first CA in the workspace's certs/ (made by makeCa), since the action refuses such a run
 * without one that verifies after it. Nothing for other runs, or when the inputs give one.
 */
export async function organizationClient(
  root: string,
  inputs: Record<string, string>
): Promise<Record<string, string>> {
  if (inputs.activate !== 'true' || inputs['project-ids'] || inputs['client-certificate'] !== undefined) return {}
  const names = (await readdir(join(root, 'certs'), { recursive: true }).catch(() => [] as string[])).sort()
  for (const name of names) {
    const ca = madeCa(await readFile(join(root, 'certs', name), 'utf8').catch(() => ''))
    if (!ca) continue
    const client = await makeLeaf(ca, { cn: 'release workflow' })
    return { 'client-certificate': client.pem, 'client-key': client.key }
  }
  return {}
}
