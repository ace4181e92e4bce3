import { X509Certificate, createPrivateKey } from 'node:crypto'
import { CA_RULES, type CaRules, CHECK_IDS } from '../certificates/check.js'
import { ActionError } from '../shared/errors.js'
import { type NameTemplate, parseNameTemplate } from '../plan/name-template.js'
import type { LifecycleOptions } from '../plan/plan.js'
import type { ReviewedPlan } from '../plan/plan-hash.js'
import { parseManagedNames, PRUNE_RETIRED } from '../plan/retire.js'
import type { Runner } from './runner.js'

export const MODES = ['publish', 'plan', 'validate'] as const
export type Mode = (typeof MODES)[number]
export const IF_NO_FILES_FOUND = ['error', 'warn', 'ignore'] as const
export type IfNoFilesFound = (typeof IF_NO_FILES_FOUND)[number]

export const FAIL_ON = ['error', 'warning'] as const
export type FailOn = (typeof FAIL_ON)[number]
export const COMMENT_ON_PR = ['false', 'true', 'always'] as const
export type CommentOnPr = (typeof COMMENT_ON_PR)[number]

export const DEFAULT_BASE_URL = 'https://api.openai.com/v1'
/** Where API calls go once the organization requires mutual TLS. */
export const MTLS_BASE_URL = 'https://mtls.api.openai.com/v1'

/** A client certificate and its key, for an organization that requires mutual TLS. */
export interface ClientTls {
  cert: string
  key: string
}

/** Everything the action was asked to do, validated in one place. */
export interface Settings {
  mode: Mode
  /** Glob patterns, `!` for excludes, as the user wrote them. */
  patterns: string[]
  /** Absolute path that patterns and reported file names are relative to. */
  workspace: string
  /** Empty in validate mode, where no request is made. */
  adminKey: string
  /** Empty in validate mode, which reads no base URL. */
  baseUrl: string
  /** Where `baseUrl` came from, for the log. */
  baseUrlSource?: BaseUrlSource
  clientTls?: ClientTls
  /** Glob patterns of the client certificates workloads present (chain files, client first). */
  workloadPatterns: string[]
  /** The PEM of `client-certificate`, in every mode: validate verifies it too, without its key. */
  clientCertificate: string
  name: NameTemplate
  expiryWarningDays: number
  skipChecks: Set<string>
  /** Which of OpenAI's rule sets the certificate checks follow. */
  caRules: CaRules
  ifNoFilesFound: IfNoFilesFound
  timeoutSeconds: number
  /** Further attempts after a failure that is safe to retry. */
  maxRetries: number
  lifecycle: LifecycleOptions
  /** `warning`: warnings fail the run too, and stop it before anything is written. */
  failOn: FailOn
  commentOnPr: CommentOnPr
  githubToken: string
  /** `GITHUB_REF_NAME` and the short commit, for name templates. */
  ref: string
  sha: string
  /** Names the run (one organization of several) in the summary, the log and the PR comment. */
  label: string
  /** publish: refuse unless the plan is the reviewed one (`reviewed-plan`: its file, or its hash). */
  reviewedPlan?: ReviewedPlan
}

function lines(value: string): string[] {
  return value
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
}

function oneOf<T extends string>(input: string, value: string, allowed: readonly T[]): T {
  const normalised = value.trim().toLowerCase()
  if ((allowed as readonly string[]).includes(normalised)) return normalised as T
  throw new ActionError(`Input '${input}' is '${value}': use one of ${allowed.join(', ')}.`)
}

function boolean(input: string, value: string): boolean {
  const normalised = value.trim().toLowerCase()
  if (normalised === '' || normalised === 'false') return false
  if (normalised === 'true') return true
  throw new ActionError(`Input '${input}' is '${value}': use true or false.`)
}

function wholeNumber(input: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const trimmed = value.trim()
  const number = Number(trimmed)
  if (trimmed === '' || !Number.isInteger(number) || number < min || number > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`
    throw new ActionError(`Input '${input}' is '${value}': use a whole number ${range}.`)
  }
  return number
}

/** The longest `timeout-seconds`: ten minutes per attempt, far inside what Node's timers can hold (2^31 - 1 ms). */
export const MAX_TIMEOUT_SECONDS = 600

/** The most `max-retries`: with backoff, ten further attempts already span minutes per call. */
export const MAX_RETRIES = 10

/**
 * Loopback, where plain http is allowed (an emulator): an IPv4 literal in 127.0.0.0/8, `[::1]` or
 * `localhost`. The WHATWG URL parser has already turned any IPv4 form (`127.1`, `0x7f.1`) into
 * dotted decimal, so a host name that merely starts with `127.` is not one.
 */
export function isLoopbackHost(hostname: string): boolean {
  return (
    hostname === 'localhost' || hostname === '[::1]' || /^127(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(hostname)
  )
}

/** OpenAI's API hosts, mutual-TLS ones included, as a parsed URL's (lower-case) host name. */
const OPENAI_HOSTS = new Set([
  'api.openai.com',
  'mtls.api.openai.com',
  'mtls-us.api.openai.com',
  'mtls-eu.api.openai.com'
])

/** An OpenAI API host: one of OPENAI_HOSTS, or a regional one (one more label: `eu.api.openai.com`). */
export function isOpenAiHost(hostname: string): boolean {
  return OPENAI_HOSTS.has(hostname) || /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.api\.openai\.com$/.test(hostname)
}

export function parseBaseUrl(value: string, from = 'Base URL'): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ActionError(`${from} '${value}' is not a URL: use e.g. ${DEFAULT_BASE_URL}.`)
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw new ActionError(
      `${from} '${url.origin}' must use https:// (plain http is allowed only on loopback: 127.0.0.0/8, [::1] or localhost, for an emulator), so that the admin key is never sent in clear.`
    )
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new ActionError(`${from} '${url.origin}' must not carry credentials, a query or a fragment.`)
  }
  return url.href.replace(/\/+$/, '')
}

export type BaseUrlSource = 'input' | 'environment' | 'default'

/**
 * Where the admin key goes: the `base-url` input, else OPENAI_BASE_URL when it names an OpenAI API
 * host or loopback, else OpenAI's own host. A job-wide OPENAI_BASE_URL is usually meant for an LLM
 * gateway, which must never receive the admin key: another host is trusted only from the input.
 */
export function chooseBaseUrl(
  input: string,
  env: string | undefined,
  mtls: boolean
): { baseUrl: string; source: BaseUrlSource } {
  if (input) return { baseUrl: parseBaseUrl(input, "Input 'base-url'"), source: 'input' }
  const fromEnv = env?.trim()
  if (fromEnv) {
    const baseUrl = parseBaseUrl(fromEnv, 'OPENAI_BASE_URL')
    const host = new URL(baseUrl).hostname
    if (!isOpenAiHost(host) && !isLoopbackHost(host)) {
      throw new ActionError(
        `OPENAI_BASE_URL (from the environment) is '${new URL(baseUrl).origin}', which is not an OpenAI API host: the admin key is sent to a host from the environment only when it is *.api.openai.com or loopback. To send it there, give that URL in the 'base-url' input; to use OpenAI, set 'base-url: ${mtls ? MTLS_BASE_URL : DEFAULT_BASE_URL}'.`
      )
    }
    return { baseUrl, source: 'environment' }
  }
  return { baseUrl: mtls ? MTLS_BASE_URL : DEFAULT_BASE_URL, source: 'default' }
}

/** The PEM private-key blocks in `text` (of any kind: PKCS#8, PKCS#1, SEC1, encrypted). */
export function privateKeyBlocks(text: string): string[] {
  return [...text.matchAll(/-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(-----END \1PRIVATE KEY-----|$)/g)].map(
    (m) => m[0]
  )
}

/** Both or neither; readable; and the key must belong to the certificate. Never shows the key. */
export function parseClientTls(cert: string, key: string): ClientTls | undefined {
  if (!cert && !key) return undefined
  if (!cert || !key) {
    throw new ActionError(
      `Input '${cert ? 'client-key' : 'client-certificate'}' is empty: mutual TLS needs both the client certificate and its private key.`
    )
  }
  let certificate: X509Certificate
  try {
    certificate = new X509Certificate(cert)
  } catch {
    throw new ActionError(
      "Input 'client-certificate' is not a PEM certificate: pass the client certificate, e.g. from a secret."
    )
  }
  let privateKey: ReturnType<typeof createPrivateKey>
  try {
    privateKey = createPrivateKey(key)
  } catch {
    throw new ActionError(
      "Input 'client-key' is not a readable PEM private key (PKCS#8, PKCS#1 or SEC1, not encrypted)."
    )
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new ActionError(
      "Input 'client-key' is not the private key of 'client-certificate': pass the key the certificate was issued for."
    )
  }
  return { cert, key }
}

/** The mode asked for, for the report of a run whose inputs could not be read. */
export function modeOf(runner: Runner): Mode {
  const mode = runner.getInput('mode').trim().toLowerCase() || 'publish'
  return (MODES as readonly string[]).includes(mode) ? (mode as Mode) : 'validate'
}

/**
 * Reads and checks every input. The admin key is masked before anything else can print it, and
 * before any other input can fail.
 */
export function getSettings(runner: Runner): Settings {
  const inputKey = runner.getInput('admin-api-key').trim()
  const envKey = (runner.env('OPENAI_ADMIN_KEY') ?? '').trim()
  const githubToken = runner.getInput('github-token').trim()
  const clientKey = runner.getInput('client-key').trim()
  // A private key pasted into 'client-certificate' (a PEM file holding both) is a secret too.
  const strayKey = privateKeyBlocks(runner.getInput('client-certificate'))
  // A multi-line secret is masked line by line too, so that no line of it can show on its own.
  const keyLines = [clientKey, ...strayKey].flatMap((key) =>
    key.split(/\r?\n/).filter((line) => line.trim() !== '' && !line.startsWith('-----'))
  )
  for (const secret of [inputKey, envKey, githubToken, clientKey, ...strayKey, ...keyLines])
    if (secret) runner.setSecret(secret)
  if (strayKey.length > 0)
    throw new ActionError(
      "Input 'client-certificate' holds a private key as well as the certificate: give the certificate alone there and the key in 'client-key', from a secret (the key was masked in this log; if the input is not a secret, treat the key as exposed)."
    )

  const mode = oneOf('mode', runner.getInput('mode') || 'publish', MODES)
  const patterns = lines(runner.getInput('files'))
  if (patterns.length === 0) {
    throw new ActionError("Input 'files' is empty: give one glob pattern per line, e.g. certs/*.pem.")
  }
  const skipChecks = new Set(lines(runner.getInput('skip-checks')))
  const unknown = [...skipChecks].filter((id) => !CHECK_IDS.includes(id))
  if (unknown.length > 0) {
    throw new ActionError(
      `Input 'skip-checks' names unknown check${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}: the checks that can be skipped are ${CHECK_IDS.join(', ')}.`
    )
  }

  const adminKey = mode === 'validate' ? '' : inputKey || envKey
  if (mode !== 'validate' && adminKey === '') {
    throw new ActionError(
      `Mode '${mode}' needs an OpenAI admin key: set 'admin-api-key: \${{ secrets.OPENAI_ADMIN_KEY }}' (or the OPENAI_ADMIN_KEY environment variable), or use 'mode: validate' for offline checks.`
    )
  }

  const lifecycle: LifecycleOptions = {
    activate: boolean('activate', runner.getInput('activate')),
    projectIds: lines(runner.getInput('project-ids')),
    exclusive: boolean('exclusive', runner.getInput('exclusive')),
    syncNames: boolean('sync-names', runner.getInput('sync-names')),
    pruneExpired: boolean('prune-expired', runner.getInput('prune-expired')),
    pruneRetired: oneOf('prune-retired', runner.getInput('prune-retired') || 'false', PRUNE_RETIRED),
    managedNames: parseManagedNames(lines(runner.getInput('managed-names')))
  }
  // Only comment lines: '#payments-*' meant as a pattern would leave nothing managed (exclusive: every certificate).
  const commented = runner
    .getInput('managed-names')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.startsWith('#'))
  if (lifecycle.managedNames.length === 0 && commented.length > 0) {
    throw new ActionError(
      `Input 'managed-names' has only comment lines ('${commented[0]}'): a line starting with '#' is a comment, so it names nothing; write '[#]${commented[0].slice(1).trim()}' to match names that start with '#', give the pattern without the '#', or remove the input.`
    )
  }
  if (lifecycle.pruneRetired !== 'false' && lifecycle.managedNames.length === 0) {
    throw new ActionError(
      `Input 'prune-retired' is '${lifecycle.pruneRetired}' but 'managed-names' is empty: a certificate is retired only when its name matches a pattern of 'managed-names', so that a run never deletes certificates it does not manage (another team's). Give the names this repository manages, e.g. 'managed-names: payments-*', or set 'prune-retired: false'.`
    )
  }
  if (!lifecycle.activate && (lifecycle.exclusive || lifecycle.projectIds.length > 0)) {
    throw new ActionError(
      `Input '${lifecycle.exclusive ? 'exclusive' : 'project-ids'}' only has a meaning with 'activate: true': set it, or remove the input.`
    )
  }
  const badProject = lifecycle.projectIds.find((id) => !/^[A-Za-z0-9_-]+$/.test(id))
  if (badProject !== undefined)
    throw new ActionError(`Input 'project-ids' has '${badProject}', which is not a project id (like proj_abc123).`)

  const clientTls =
    mode === 'validate' ? undefined : parseClientTls(runner.getInput('client-certificate').trim(), clientKey)

  // Validate makes no request, so it reads no base URL: a job-wide OPENAI_BASE_URL cannot fail it.
  const target =
    mode === 'validate'
      ? undefined
      : chooseBaseUrl(runner.getInput('base-url').trim(), runner.env('OPENAI_BASE_URL'), clientTls !== undefined)

  return {
    mode,
    lifecycle,
    failOn: oneOf('fail-on', runner.getInput('fail-on') || 'error', FAIL_ON),
    commentOnPr: oneOf('comment-on-pr', runner.getInput('comment-on-pr') || 'false', COMMENT_ON_PR),
    githubToken,
    patterns,
    workspace: runner.env('GITHUB_WORKSPACE') || process.cwd(),
    adminKey,
    baseUrl: target?.baseUrl ?? '',
    baseUrlSource: target?.source,
    clientTls,
    workloadPatterns: lines(runner.getInput('workload-certificates')),
    clientCertificate: runner.getInput('client-certificate').trim(),
    name: parseNameTemplate(runner.getInput('name')),
    expiryWarningDays: wholeNumber('expiry-warning-days', runner.getInput('expiry-warning-days') || '30', 0),
    skipChecks,
    caRules: oneOf('ca-rules', runner.getInput('ca-rules') || 'standard', CA_RULES),
    ifNoFilesFound: oneOf('if-no-files-found', runner.getInput('if-no-files-found') || 'error', IF_NO_FILES_FOUND),
    timeoutSeconds: wholeNumber('timeout-seconds', runner.getInput('timeout-seconds') || '30', 1, MAX_TIMEOUT_SECONDS),
    maxRetries: wholeNumber('max-retries', runner.getInput('max-retries') || '4', 0, MAX_RETRIES),
    ref: runner.env('GITHUB_REF_NAME') ?? '',
    sha: (runner.env('GITHUB_SHA') ?? '').slice(0, 7),
    ...reviewInputs(runner)
  }
}

/** `label` and `reviewed-plan`. */
function reviewInputs(runner: Runner): Pick<Settings, 'label' | 'reviewedPlan'> {
  const label = runner.getInput('label').trim()
  if (/[\r\n]/.test(label) || label.length > 100)
    throw new ActionError(`Input 'label' must be one line of at most 100 characters, e.g. the organization's name.`)
  return { label, reviewedPlan: reviewedPlan(runner.getInput('reviewed-plan').trim()) }
}

/**
 * `reviewed-plan`: 64 hex digits are the reviewed run's `plan-hash`; anything else names its plan
 * file (read, inside the workspace, by the gate in plan-hash.ts). Hex digits alone of another length
 * (a hash cut short, as the log shows it: 12 digits and '…') or several lines are neither.
 */
function reviewedPlan(value: string): ReviewedPlan | undefined {
  if (value === '') return undefined
  if (/^[0-9a-f]{64}$/i.test(value)) return { hash: value.toLowerCase() }
  // A hash with a prefix or in quotes ('sha256:…', "…") would otherwise be looked for as a file.
  if (/^(["'`]?)(sha-?256[:=]\s*)?[0-9a-f]{12,}(…|\.\.\.)?\1$/i.test(value) && !/^[0-9a-f]+(…|\.\.\.)?$/i.test(value))
    throw new ActionError(
      `Input 'reviewed-plan' is '${value}', which looks like a plan hash in another form: give the 'plan-hash' output as it is, 64 hex digits alone (no 'sha256:' prefix, no quotes), or the reviewed run's plan file.`
    )
  const lines = value.split(/\r?\n/).length
  if (lines > 1 || /^[0-9a-f]+(…|\.\.\.)?$/i.test(value))
    throw new ActionError(
      `Input 'reviewed-plan' ${lines > 1 ? `has ${lines} lines` : `is '${value}'`}: give the reviewed plan run's plan file (its 'plan-file' output, downloaded into the workspace) or its 'plan-hash' output (64 hex digits).`
    )
  return { file: value }
}
