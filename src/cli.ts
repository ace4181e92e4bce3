// The command line (the `openai-certificates` bin, which asks dist/index.js for it: src/index.ts):
// the action's own pipeline, run() from main.ts, behind a Runner that prints for people instead of
// speaking the runner's protocol. Every input of action.yml is a `--<input-name>` flag, read from
// action.yml at run time, so an input added to the action is a flag here without a change to this
// file.
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { messageOf } from './shared/errors.js'
import { literalPattern } from './github/discover.js'
import { getSettings, MODES } from './github/inputs.js'
import { run } from './main.js'
import type { Runner } from './github/runner.js'

interface InputSpec {
  description?: string
  default?: string
  required?: boolean
}

/** Wrong use of the command line: exit code 2. */
class UsageError extends Error {}

const COMMAND = 'openai-certificates'
/** Inputs that are not flags: the mode is the command, and a secret does not belong in `ps`. */
const NOT_FLAGS: Record<string, string> = {
  mode: 'give the mode as the command: validate, plan or publish',
  'admin-api-key': 'set the OPENAI_ADMIN_KEY environment variable instead: a command line is visible to other users',
  'client-key': 'set the OPENAI_CLIENT_KEY environment variable instead: a command line is visible to other users',
  'github-token': 'set the GITHUB_TOKEN environment variable instead: a command line is visible to other users'
}
/** Secret inputs read from the environment instead of flags (the admin key: the action does it). */
const FROM_ENV: Record<string, string> = { 'client-key': 'OPENAI_CLIENT_KEY', 'github-token': 'GITHUB_TOKEN' }
/** Inputs that take one item per line: each use of the flag adds one. */
const LISTS = new Set(['files', 'skip-checks', 'project-ids', 'workload-certificates', 'managed-names'])

/** The action's inputs, from the action.yml shipped with the bundle (dist/ → the package's root). */
function actionInputs(): Record<string, InputSpec> {
  const here = dirname(fileURLToPath(import.meta.url))
  let text: string
  try {
    text = readFileSync(join(here, '..', 'action.yml'), 'utf8')
  } catch {
    throw new Error(`action.yml was not found next to ${here}: install the whole package.`)
  }
  return (parse(text) as { inputs: Record<string, InputSpec> }).inputs
}

export interface Invocation {
  mode: (typeof MODES)[number]
  inputs: Record<string, string>
  json: boolean
  summary?: string
  debug: boolean
  help: boolean
  /** `--literal`: the arguments are file names, not patterns (what the pre-commit hook passes). */
  literal: boolean
}

const isBoolean = (spec: InputSpec): boolean => spec.default === 'true' || spec.default === 'false'
/** Inputs whose default is `false` but which take other words than yes or no: they always need a value. */
const CHOICES = new Set(['prune-retired'])

/** What an option's value looks like, for --help; an input not named here takes text (` TEXT`). */
const VALUES: Record<string, string> = {
  files: ' PATTERN',
  name: ' TEMPLATE',
  'expiry-warning-days': ' DAYS',
  'skip-checks': ' CHECK',
  'ca-rules': ' standard|strict',
  'if-no-files-found': ' error|warn|ignore',
  'base-url': ' URL',
  'client-certificate': ' PEM',
  'client-key': ' PEM',
  'timeout-seconds': ' SECONDS',
  'fail-on': ' error|warning',
  'comment-on-pr': ' [true|always]',
  'github-token': ' TOKEN',
  'max-retries': ' N',
  'project-ids': ' ID',
  'reviewed-plan': ' FILE|HASH',
  'workload-certificates': ' PATTERN',
  'managed-names': ' PATTERN',
  'prune-retired': ' false|as-needed|all'
}

const YES_NO = ['activate', 'exclusive', 'sync-names', 'prune-expired']

/**
 * The pipeline's messages speak workflow YAML ('fail-on: error'); on the command line the same
 * advice is a flag, an environment variable or a command. One mapping here, not a second wording
 * of every message.
 */
export function forCommandLine(text: string): string {
  return text
    .replace(
      /set 'admin-api-key: \$\{\{ secrets\.OPENAI_ADMIN_KEY \}\}' \(or the OPENAI_ADMIN_KEY environment variable\)/g,
      'set the OPENAI_ADMIN_KEY environment variable'
    )
    .replace(/'mode: (validate|plan|publish)'/g, "the '$1' command")
    .replace(/'([a-z][a-z-]*): ([^'\s$]+)'/g, (whole, name: string, value: string) =>
      name in VALUES || YES_NO.includes(name) ? `'--${name} ${value}'` : whole
    )
    .replace(/\bin the '([a-z][a-z-]*)' input\b/g, "with '--$1'")
}

/** Reads `argv` into inputs by their action.yml names. Throws UsageError. */
export function parseArguments(
  argv: readonly string[],
  specs: Record<string, InputSpec>,
  env: Record<string, string | undefined> = process.env
): Invocation {
  const given: Record<string, string> = {}
  const positional: string[] = []
  const invocation = { json: false, debug: false, help: false, literal: false } as Invocation
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--') {
      positional.push(...argv.slice(i + 1))
      break
    }
    if (arg === '-h' || arg === '--help') {
      invocation.help = true
      continue
    }
    if (!arg.startsWith('--')) {
      if (arg.startsWith('-') && arg !== '-') throw new UsageError(`Unknown option '${arg}'.`)
      positional.push(arg)
      continue
    }
    const at = arg.indexOf('=')
    const name = arg.slice(2, at === -1 ? undefined : at)
    let value: string | undefined = at === -1 ? undefined : arg.slice(at + 1)
    if (name === 'json' || name === 'debug' || name === 'literal') {
      if (value !== undefined) throw new UsageError(`Option '--${name}' takes no value.`)
      invocation[name] = true
      continue
    }
    if (name === 'summary') {
      value ??= argv[++i]
      if (!value) throw new UsageError("Option '--summary' needs a file name.")
      invocation.summary = value
      continue
    }
    if (NOT_FLAGS[name]) throw new UsageError(`'--${name}' is not an option: ${NOT_FLAGS[name]}.`)
    const spec = specs[name]
    if (!spec) throw new UsageError(`Unknown option '--${name}'.`)
    if (value === undefined) {
      // A yes/no input alone means yes; `--activate=false` (or `--activate false`) says no.
      const next = argv[i + 1]
      if (isBoolean(spec) && !CHOICES.has(name) && !['true', 'false', 'always'].includes(next)) value = 'true'
      else if (next === undefined) throw new UsageError(`Option '--${name}' needs a value.`)
      else value = argv[++i]
    }
    given[name] = LISTS.has(name) && given[name] !== undefined ? `${given[name]}\n${value}` : value
  }
  if (invocation.help) return { ...invocation, mode: 'validate', inputs: {} }
  const [command, ...patterns] = positional
  if (command === undefined) throw new UsageError('Say what to do: validate, plan or publish.')
  if (!(MODES as readonly string[]).includes(command))
    throw new UsageError(`Unknown command '${command}': use validate, plan or publish.`)
  // A file name given as a pattern would match other files (`ca[1].pem` is `ca1.pem`) or none
  // (`[old].pem`), or be an exclude (`!x.pem`): with --literal each name matches itself only.
  const named = invocation.literal ? patterns.map((name) => literalPattern(name)) : patterns
  if (named.length > 0) given.files = [given.files, ...named].filter((p) => p !== undefined).join('\n')
  if (!given.files) throw new UsageError(`Give the certificate files, e.g. ${COMMAND} ${command} 'certs/**/*.pem'.`)
  const client = given['client-certificate']?.trim()
  if (client && !client.includes('-----BEGIN'))
    throw new UsageError(
      `'--client-certificate' takes the PEM text, not a file name: pass the file's content, e.g. --client-certificate "$(cat ${client.includes(' ') ? 'FILE' : client})".`
    )
  // The defaults the runner would fill in; an expression (${{ github.token }}) has no value here.
  const inputs: Record<string, string> = {}
  for (const [input, spec] of Object.entries(specs))
    inputs[input] = (spec.default ?? '').replace(/\$\{\{[^}]*\}\}/g, '')
  for (const [input, variable] of Object.entries(FROM_ENV)) if (input in specs) inputs[input] = env[variable] ?? ''
  return { ...invocation, mode: command as Invocation['mode'], inputs: { ...inputs, ...given, mode: command } }
}

function helpText(specs: Record<string, InputSpec>): string {
  const valueOf = (name: string, spec: InputSpec): string => VALUES[name] ?? (isBoolean(spec) ? '' : ' TEXT')
  const width = Math.max(...Object.entries(specs).map(([n, spec]) => `${n}${valueOf(n, spec)}`.length)) + 2
  const flags = Object.entries(specs)
    .filter(([name]) => !NOT_FLAGS[name])
    .map(([name, spec]) => {
      const value = valueOf(name, spec)
      const fallback = spec.default && !spec.default.includes('${{') ? ` (default: ${spec.default})` : ''
      return `  --${`${name}${value}`.padEnd(width)} ${(spec.description ?? '').split('\n')[0]}${fallback}`
    })
  return `Usage: ${COMMAND} <validate|plan|publish> [options] <pattern>...

Checks X.509 CA certificates and publishes them to an OpenAI organization, as the GitHub Action
does. Patterns are globs relative to the current directory (quote them: '**' is the action's).

Commands:
  validate   offline checks only: no key, no network
  plan       say what publish would change; change nothing (needs OPENAI_ADMIN_KEY)
  publish    upload, and with --activate activate, what the files hold (needs OPENAI_ADMIN_KEY)

Options:
  --json            print every output as one JSON object on stdout (the log goes to stderr)
  --summary FILE    write the job summary (Markdown) to FILE
  --debug           show debug lines (the API calls)
  --literal         the arguments are file names, not patterns (pre-commit); --files takes patterns
  -h, --help        show this help

Every input of the action is an option (booleans need no value: --activate, --activate=false):
${flags.join('\n')}

Environment: OPENAI_ADMIN_KEY (the admin key), OPENAI_CLIENT_KEY (the PEM private key of
--client-certificate), GITHUB_TOKEN (for --comment-on-pr), OPENAI_BASE_URL, NO_COLOR (no colours).
Secrets are never options: a command line is visible to every user of the machine.
Exit codes: 0 nothing wrong, 1 errors found or a failed change, 2 bad usage.
`
}

const COLOURS = { red: 31, yellow: 33, bold: 1, dim: 2, cyan: 36 } as const

/** A Runner for a terminal: the log on stdout (stderr with --json), problems on stderr. */
function terminalRunner(invocation: Invocation) {
  const out = invocation.json ? process.stderr : process.stdout
  const colour = (stream: NodeJS.WriteStream, name: keyof typeof COLOURS, text: string): string =>
    stream.isTTY && !process.env.NO_COLOR ? `\u001b[${COLOURS[name]}m${text}\u001b[0m` : text
  const secrets: string[] = []
  const redact = (text: string): string => secrets.reduce((t, s) => t.split(s).join('***'), text)
  const print = (stream: NodeJS.WriteStream, text: string): void =>
    void stream.write(`${redact(forCommandLine(text))}\n`)
  const state = { outputs: {} as Record<string, string>, summary: '', failure: undefined as string | undefined }
  const debugging = invocation.debug || process.env.RUNNER_DEBUG === '1' || process.env.ACTIONS_STEP_DEBUG === 'true'
  const runner: Runner = {
    getInput: (name) => invocation.inputs[name] ?? '',
    env: (name) => {
      // Outside Actions the workspace is the current directory; GitLab's names stand in for GitHub's.
      if (name === 'GITHUB_WORKSPACE') return process.cwd()
      if (name === 'GITHUB_REF_NAME') return process.env.GITHUB_REF_NAME ?? process.env.CI_COMMIT_REF_NAME
      if (name === 'GITHUB_SHA') return process.env.GITHUB_SHA ?? process.env.CI_COMMIT_SHA
      return process.env[name]
    },
    setSecret: (value) => void secrets.push(value),
    info: (message) => print(out, message),
    debug: (message) => (debugging ? print(process.stderr, colour(process.stderr, 'dim', message)) : undefined),
    notice: (message) => print(process.stderr, `notice: ${message}`),
    warning: (message) => print(process.stderr, colour(process.stderr, 'yellow', `warning: ${message}`)),
    error: (message) => print(process.stderr, colour(process.stderr, 'red', `error: ${message}`)),
    setOutput: (name, value) => void (state.outputs[name] = value),
    appendSummary: async (markdown) => void (state.summary += markdown),
    setFailed: (message) => {
      state.failure = message
      print(process.stderr, colour(process.stderr, 'red', `error: ${message}`))
    },
    group: async (name, task) => {
      print(out, colour(out, 'bold', `▸ ${name}`))
      return task()
    }
  }
  return { runner, state, redact }
}

/**
 * The @actions/* libraries print workflow commands (`::debug::…`) on stdout themselves: outside
 * Actions they are noise, so they become debug lines.
 */
function quietWorkflowCommands(runner: Runner): void {
  const write = process.stdout.write.bind(process.stdout) as (chunk: string | Uint8Array) => boolean
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
    if (!text.startsWith('::')) return (write as (...args: unknown[]) => boolean)(chunk, ...rest)
    runner.debug(text.replace(/^::debug::/, '').trimEnd())
    return true
  }) as typeof process.stdout.write
}

/** An output as JSON: its JSON value when it holds one, else the text; empty is null. */
function jsonValue(text: string): unknown {
  if (text === '') return null
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  let specs: Record<string, InputSpec>
  try {
    specs = actionInputs()
  } catch (error) {
    process.stderr.write(`${COMMAND}: ${messageOf(error)}\n`)
    return 1
  }
  let invocation: Invocation
  try {
    invocation = parseArguments(argv, specs)
    if (invocation.help) {
      process.stdout.write(helpText(specs))
      return 0
    }
    // Inputs that make no sense are bad usage too; run() would only report them as a failure.
    getSettings(terminalRunner(invocation).runner)
  } catch (error) {
    process.stderr.write(`${COMMAND}: ${forCommandLine(messageOf(error))}\nTry '${COMMAND} --help'.\n`)
    return 2
  }
  // A pull-request comment needs the event GitHub Actions describes; here there is none.
  if (invocation.inputs['comment-on-pr'] !== 'false' && process.env.GITHUB_ACTIONS !== 'true') {
    process.stderr.write(
      `${COMMAND}: --comment-on-pr: pull-request comments are written only inside GitHub Actions; none is written here (--summary FILE writes the report).\n`
    )
    invocation.inputs['comment-on-pr'] = 'false'
  }
  const { runner, state, redact } = terminalRunner(invocation)
  quietWorkflowCommands(runner)
  await run(runner)
  if (invocation.summary) {
    try {
      await writeFile(invocation.summary, redact(state.summary))
    } catch (error) {
      process.stderr.write(`${COMMAND}: could not write the summary to ${invocation.summary}: ${messageOf(error)}\n`)
      return 1
    }
  }
  if (invocation.json) {
    const outputs = Object.fromEntries(Object.entries(state.outputs).map(([k, v]) => [k, jsonValue(v)]))
    process.stdout.write(`${redact(JSON.stringify({ ...outputs, error: state.failure ?? null }, null, 2))}\n`)
  }
  return state.failure === undefined ? 0 : 1
}

/** The command line's exit code; an unexpected error is one line (its stack only with --debug). */
export async function commandLine(argv: readonly string[]): Promise<number> {
  return main(argv).catch((error: unknown) => {
    const stack = argv.includes('--debug') && error instanceof Error && error.stack ? `${error.stack}\n` : ''
    process.stderr.write(
      `${stack}${COMMAND}: unexpected error: ${messageOf(error)}. Please report it with the output of --debug.\n`
    )
    return 1
  })
}
