import type { Place, Runner } from './runner.js'

/** What a secret is replaced with, as the runner's own masking does. */
export const REDACTED = '***'

const SPACE = '(?:[ +]|%20)'
const LABEL = `${SPACE}(?:[A-Z0-9]+${SPACE})*PRIVATE${SPACE}KEY-----`
/** A line break as it appears in a text, JSON-escaped, or URL-encoded. */
const BREAK = '(?:\\s|\\\\[rn]|%0[AD])'
/**
 * A PEM private-key block, whoever's: plain, on one line, JSON-escaped (`\n` as two characters) or
 * URL-encoded; and one cut short (no END line, an echoed body truncated): from its BEGIN line, past
 * any headers, the key material and the rest of its line, and the base64 lines that follow (a short
 * last one too, when nothing but base64 is on it). A BEGIN label with no key material after it (a
 * message that names the label) is left alone.
 */
const PRIVATE_KEY_BLOCK = new RegExp(
  `-----BEGIN${LABEL}(?:[\\s\\S]{0,20000}?-----END${LABEL}|${BREAK}*(?:[A-Za-z-]+:[^\\n\\\\]*${BREAK}+)*[A-Za-z0-9+/=]{16}[^\\n]*(?:\\n[A-Za-z0-9+/=]{16,}[^\\n]*|\\n[A-Za-z0-9+/=]+(?=\\n|$))*)`,
  'g'
)

/**
 * Credentials recognisable by their shape, so that one echoed in part (a proxy that cuts a header,
 * a body truncated mid-key) is removed too: a bearer Authorization value, OpenAI keys, GitHub
 * tokens.
 */
const CREDENTIAL_SHAPES: readonly [RegExp, string][] = [
  [/\b(Bearer)(\s+|%20|\+)[A-Za-z0-9._~+/=%-]+/gi, `$1$2${REDACTED}`],
  [/\bsk-(?:(admin-|proj-|svcacct-)[A-Za-z0-9_-]{8,}|[A-Za-z0-9]{20,})/g, `sk-$1${REDACTED}`],
  [/\b(gh[pousr]_|github_pat_)[A-Za-z0-9_]{8,}/g, `$1${REDACTED}`]
]

/**
 * A one-line secret's start this long, found anywhere, counts as the secret cut short (an admin
 * key's public `sk-admin-` prefix alone is not enough).
 */
const PREFIX = 12

/** The forms a secret takes when a server or a proxy echoes it back inside a body or a URL. */
function variants(secret: string): string[] {
  return [
    secret,
    JSON.stringify(secret).slice(1, -1),
    encodeURIComponent(secret),
    encodeURIComponent(secret).replace(/%20/g, '+'),
    Buffer.from(secret).toString('base64')
  ]
}

/**
 * Every string to remove: each secret's forms, and for a multi-line secret (a PEM key) each of its
 * lines too, so that no line of it can show on its own. Longest first, so that a longer form is
 * never left half-removed by a shorter one.
 */
function forms(secrets: readonly string[]): { form: string; cut: boolean }[] {
  const all = new Map<string, boolean>()
  for (const secret of secrets) {
    const lines = secret.split(/\r?\n/).map((line) => line.trim())
    const parts = lines.length > 1 ? [secret, ...lines.filter((l) => l !== '' && !l.startsWith('-----'))] : [secret]
    for (const part of parts) {
      const oneLine = !/[\r\n]/.test(part)
      for (const form of variants(part)) if (form !== '') all.set(form, (all.get(form) ?? false) || oneLine)
    }
  }
  return [...all]
    .map(([form, cut]) => ({ form, cut: cut && form.length >= PREFIX }))
    .sort((a, b) => b.form.length - a.form.length)
}

/**
 * Where `form` occurs in `text`, as [start, end) spans; when `cut`, also every start of it at least
 * PREFIX long (what an echo cut short leaves).
 */
function spans(text: string, form: string, cut: boolean): [number, number][] {
  const found: [number, number][] = []
  const head = cut ? form.slice(0, PREFIX) : form
  for (let at = text.indexOf(head); at !== -1; at = text.indexOf(head, at + 1)) {
    let end = at + head.length
    while (end - at < form.length && text[end] === form[end - at]) end++
    found.push([at, end])
  }
  return found
}

/** `text` with the spans (which may overlap) replaced, each run of touching spans by one REDACTED. */
function replaceSpans(text: string, found: [number, number][]): string {
  found.sort((a, b) => a[0] - b[0])
  let out = ''
  let from = -1
  for (const [start, end] of found) {
    if (end <= from) continue
    if (start > from) out += text.slice(Math.max(from, 0), start) + REDACTED
    from = end
  }
  return from < 0 ? text : out + text.slice(from)
}

/**
 * A function that removes from a text every secret, in every form it may be echoed in, any PEM
 * private key, and anything shaped like a credential. A one-line secret is also removed when only
 * its start (PREFIX characters or more) appears.
 */
export function redactor(secrets: readonly string[]): (text: string) => string {
  const removals = forms(secrets.filter((s) => s !== ''))
  return (text) => {
    const keyless = text.replace(PRIVATE_KEY_BLOCK, '[private key removed]')
    let result = replaceSpans(
      keyless,
      removals.flatMap(({ form, cut }) => spans(keyless, form, cut))
    )
    for (const [shape, replacement] of CREDENTIAL_SHAPES) result = result.replace(shape, replacement)
    return result
  }
}

/** `text` without the secrets: see `redactor`. Pure. */
export function redact(text: string, secrets: readonly string[]): string {
  return redactor(secrets)(text)
}

/**
 * A log line as the runner may read it without taking it for a workflow command: the runner splits
 * its output at CR, LF and CRLF, trims each line's start and runs a line starting with `::` (and, in
 * the older form, one holding `##[` anywhere) as a command. Text from certificates and file names
 * could otherwise add a mask, stop commands or forge an annotation; such a line is printed with a
 * backslash before it instead.
 */
export function inert(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => line.replace(/^(\s*)::/, '$1\\::').replace(/##\[/g, '#\\#['))
    .join('\n')
}

/** A runner that redacts everything it lets out, and the redactor it uses. */
export interface RedactingRunner extends Runner {
  /** The text with every secret known so far removed. */
  redact(text: string): string
}

/**
 * Wraps any runner so that every text it emits (log lines, annotations, outputs, the summary, the
 * failure) is redacted. It learns the secrets from `setSecret`, which the inputs call before any
 * line is printed, and from `secrets` given up front.
 */
export function redacting(runner: Runner, secrets: readonly string[] = []): RedactingRunner {
  const known = secrets.filter((s) => s !== '')
  let clean = redactor(known)
  const place = (where?: Place): Place | undefined => where && { ...where, file: clean(where.file) }
  return {
    redact: (text) => clean(text),
    getInput: (name) => runner.getInput(name),
    env: (name) => runner.env(name),
    setSecret: (value) => {
      if (value !== '' && !known.includes(value)) {
        known.push(value)
        clean = redactor(known)
      }
      runner.setSecret(value)
    },
    info: (message) => runner.info(inert(clean(message))),
    debug: (message) => runner.debug(inert(clean(message))),
    warning: (message, where) => runner.warning(clean(message), place(where)),
    error: (message, where) => runner.error(clean(message), place(where)),
    setOutput: (name, value) => runner.setOutput(name, clean(value)),
    appendSummary: (markdown) => runner.appendSummary(clean(markdown)),
    setFailed: (message) => runner.setFailed(clean(message)),
    group: (name, task) => runner.group(inert(clean(name)), task)
  }
}
