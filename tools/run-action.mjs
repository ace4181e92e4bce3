// @ts-check
/**
 * Runs the bundled action (dist/index.js) the way the GitHub runner does: inputs as INPUT_*
 * variables with action.yml's defaults filled in, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files,
 * the workspace as the working directory, and nothing else of this process's environment.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

/** @returns {Promise<Record<string, {default?: string}>>} */
export async function actionInputs() {
  const action = parse(await readFile(join(ROOT, 'action.yml'), 'utf8'))
  return action.inputs
}

/**
 * Reads a GITHUB_OUTPUT file (`name<<delimiter` … `delimiter` blocks, or `name=value` lines).
 * @param {string} text
 */
export function parseOutputs(text) {
  /** @type {Record<string, string>} */
  const outputs = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^=<]+)<<(.+)$/.exec(lines[i])
    if (heredoc) {
      const end = lines.indexOf(heredoc[2], i + 1)
      outputs[heredoc[1]] = lines.slice(i + 1, end).join('\n')
      i = end
    } else if (lines[i].includes('=')) {
      const at = lines[i].indexOf('=')
      outputs[lines[i].slice(0, at)] = lines[i].slice(at + 1)
    }
  }
  return outputs
}

/**
 * @typedef {object} ActionRun
 * @property {number | null} code
 * @property {string} stdout
 * @property {string} stderr
 * @property {Record<string, string>} outputs
 * @property {string} summary
 */

/**
 * @param {object} options
 * @param {string} options.workspace
 * @param {Record<string, string>} [options.inputs]  by their action.yml names
 * @param {Record<string, string>} [options.env]
 * @param {(child: import('node:child_process').ChildProcess) => void} [options.onSpawn]  to signal it, as a cancelled job is
 * @returns {Promise<ActionRun>}
 */
export async function runAction(options) {
  // The runner's temporary folder for this run (outputs, summary, RUNNER_TEMP), removed after.
  const temp = await mkdtemp(join(tmpdir(), 'action-run-'))
  try {
    return await runActionIn(temp, options)
  } finally {
    await rm(temp, { recursive: true, force: true })
  }
}

/**
 * @param {string} temp
 * @param {Parameters<typeof runAction>[0]} options
 * @returns {Promise<ActionRun>}
 */
async function runActionIn(temp, { workspace, inputs = {}, env = {}, onSpawn }) {
  const outputFile = join(temp, 'output')
  const summaryFile = join(temp, 'summary')
  await writeFile(outputFile, '')
  await writeFile(summaryFile, '')
  /** @type {Record<string, string>} */
  const variables = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? temp,
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: workspace,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    RUNNER_TEMP: temp,
    ...env
  }
  // The runner evaluates expressions in defaults; the only one action.yml uses is github.token.
  const expression = (/** @type {string} */ value) =>
    value.replace(/\$\{\{\s*github\.token\s*\}\}/g, env.GITHUB_TOKEN ?? '')
  for (const [name, spec] of Object.entries(await actionInputs())) {
    variables[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = inputs[name] ?? expression(spec.default ?? '')
  }
  for (const name of Object.keys(inputs)) {
    if (!(`INPUT_${name.toUpperCase()}` in variables)) throw new Error(`action.yml has no input '${name}'`)
  }
  // ACTION_NODE runs the action with another Node than the tests' own (the runner's is Node 24).
  const node = process.env.ACTION_NODE || process.execPath
  const child = spawn(node, [join(ROOT, 'dist', 'index.js')], { cwd: workspace, env: variables })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  onSpawn?.(child)
  const code = await new Promise((resolve) => child.on('close', resolve))
  return {
    code: /** @type {number | null} */ (code),
    stdout,
    stderr,
    outputs: parseOutputs(await readFile(outputFile, 'utf8')),
    summary: await readFile(summaryFile, 'utf8')
  }
}
