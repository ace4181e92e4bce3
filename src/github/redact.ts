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
 * A run of a one-line secret this long, found anywhere (its start, its middle, its end: what an
 * echo cut at either side leaves), counts as the secret. An admin key's public `sk-admin-` prefix
 * alone is shorter than a fragment of its own.
 */
const FRAGMENT = 12

/** Public prefixes of API keys and tokens: the part after one is a secret on its own too. */
const KNOWN_PREFIXES = [
  'sk-admin-',
  'sk-proj-',
  'sk-svcacct-',
  'sk-',
  'github_pat_',
  'ghp_',
  'gho_',
  'ghu_',
  'ghs_',
  'ghr_'
]

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
 * The base64 of a secret as it shows inside the base64 of a longer text holding it (an encoded
 * `Authorization: Bearer <key>`): at each of the three byte alignments, only the characters that
 * depend on the secret's bytes alone; standard and URL-safe alphabets.
 */
function base64Forms(secret: string): string[] {
  const bytes = Buffer.from(secret)
  const forms: string[] = []
  for (const pad of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(pad), bytes]).toString('base64')
    const inner = encoded.slice(Math.ceil((8 * pad) / 6), Math.floor((8 * (pad + bytes.length)) / 6))
    forms.push(inner, inner.replace(/\+/g, '-').replace(/\//g, '_'))
  }
  return forms
}

/**
 * The forms of a one-line secret whose every run of a window's length is looked for, with that
 * window: the secret as is (JSON-escaped and URL-encoded, which for a key are the same), in hex
 * (lower and upper case), and in base64 at every alignment. A window of base64 is 14 characters,
 * the fewest that any 12 bytes of the secret cover whole whatever their alignment.
 */
function windowedForms(secret: string): { form: string; width: number }[] {
  const hex = Buffer.from(secret).toString('hex')
  const plain = [...new Set(variants(secret).slice(0, 4))].map((form) => ({ form, width: FRAGMENT }))
  return [
    ...plain,
    { form: hex, width: 2 * FRAGMENT },
    { form: hex.toUpperCase(), width: 2 * FRAGMENT },
    ...base64Forms(secret).map((form) => ({ form, width: 14 }))
  ].filter(({ form, width }) => form.length >= width)
}

/**
 * Every string to remove whole: each secret's forms, and for a multi-line secret (a PEM key) each of
 * its lines too, so that no line of it can show on its own. Longest first, so that a longer form is
 * never left half-removed by a shorter one. `cut`: a start of it PEM_PREFIX long counts too.
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
    .map(([form, cut]) => ({ form, cut: cut && form.length >= FRAGMENT }))
    .sort((a, b) => b.form.length - a.form.length)
}

/**
 * Where `form` occurs in `text`, as [start, end) spans; when `cut`, also every start of it at least
 * FRAGMENT long (what an echo cut short leaves).
 */
function spans(text: string, form: string, cut: boolean): [number, number][] {
  const found: [number, number][] = []
  const head = cut ? form.slice(0, FRAGMENT) : form
  for (let at = text.indexOf(head); at !== -1; at = text.indexOf(head, at + 1)) {
    let end = at + head.length
    while (end - at < form.length && text[end] === form[end - at]) end++
    found.push([at, end])
  }
  return found
}

/** Each window of each windowed form, by width: the window's text → where it is in which form. */
type WindowIndex = Map<number, { byText: Map<string, { form: string; at: number }[]>; pairs: Uint8Array }>

/** A cheap first test: the window's first two characters, folded to 7 bits each. */
const pairOf = (text: string, at: number): number =>
  ((text.charCodeAt(at) & 127) << 7) | (text.charCodeAt(at + 1) & 127)

function windowIndex(secrets: readonly string[]): WindowIndex {
  const index: WindowIndex = new Map()
  for (const secret of secrets) {
    if (/[\r\n]/.test(secret)) continue
    for (const { form, width } of windowedForms(secret)) {
      let entry = index.get(width)
      if (!entry) index.set(width, (entry = { byText: new Map(), pairs: new Uint8Array(1 << 14) }))
      const { byText, pairs } = entry
      for (let at = 0; at + width <= form.length; at++) {
        pairs[pairOf(form, at)] = 1
        const key = form.slice(at, at + width)
        const list = byText.get(key)
        if (list) list.push({ form, at })
        else byText.set(key, [{ form, at }])
      }
    }
  }
  return index
}

/** Every run in `text` of a windowed form at least its window long, widened to all it matches. */
function windowSpans(text: string, index: WindowIndex): [number, number][] {
  const found: [number, number][] = []
  for (const [width, { byText, pairs }] of index) {
    for (let p = 0; p + width <= text.length; p++) {
      if (pairs[pairOf(text, p)] === 0) continue
      const hits = byText.get(text.slice(p, p + width))
      if (!hits) continue
      let furthest = p + width
      for (const { form, at } of hits) {
        let start = p
        let end = p + width
        while (start > 0 && at - (p - start) > 0 && text[start - 1] === form[at - (p - start) - 1]) start--
        while (end < text.length && at + (end - p) < form.length && text[end] === form[at + (end - p)]) end++
        found.push([start, end])
        furthest = Math.max(furthest, end)
      }
      p = Math.max(p, furthest - width)
    }
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
 * Runs of text written with percent-escapes or HTML character references (every character of a key
 * encoded, or some): each is decoded and, when the decoded text holds a secret, removed whole.
 */
const ENCODED_RUN = /(?:%[0-9A-Fa-f]{2}|&#[xX][0-9A-Fa-f]{1,6};|&#[0-9]{1,7};|[A-Za-z0-9._~+/=-])+/g

function decodeRun(run: string): string {
  return run
    .replace(/&#[xX]([0-9A-Fa-f]{1,6});/g, (_, hex: string) =>
      String.fromCodePoint(Math.min(parseInt(hex, 16), 0x10ffff))
    )
    .replace(/&#([0-9]{1,7});/g, (_, dec: string) => String.fromCodePoint(Math.min(parseInt(dec, 10), 0x10ffff)))
    .replace(/(?:%[0-9A-Fa-f]{2})+/g, (escaped) => Buffer.from(escaped.replace(/%/g, ''), 'hex').toString('latin1'))
}

/**
 * A function that removes from a text every secret, in every form it may be echoed in, any PEM
 * private key, and anything shaped like a credential. For a one-line secret (a key, a token): any
 * run of FRAGMENT characters or more of it, anywhere (the part after a public prefix such as
 * `sk-admin-` included), as is, JSON-escaped or URL-encoded; in hex, lower or upper case; in base64
 * (standard or URL-safe), even inside the base64 of a longer text; and written with percent-escapes
 * or HTML character references for every character. For a multi-line secret (a PEM key): the whole
 * and each of its lines, and a start of a line FRAGMENT long. Not caught: a secret reversed, or cut
 * into pieces shorter than FRAGMENT.
 */
export function redactor(secrets: readonly string[]): (text: string) => string {
  const given = secrets.filter((s) => s !== '')
  // The part after a public prefix, whole, even when shorter than a fragment (a short test key).
  const tails = given.flatMap((secret) => {
    const prefix = KNOWN_PREFIXES.find((p) => secret.startsWith(p))
    return prefix && secret.length - prefix.length >= 8 ? [secret.slice(prefix.length)] : []
  })
  const removals = forms([...given, ...tails])
  const index = windowIndex(given)
  const redactPlain = (text: string): string =>
    replaceSpans(text, [...removals.flatMap(({ form, cut }) => spans(text, form, cut)), ...windowSpans(text, index)])
  return (text) => {
    const keyless = text.replace(PRIVATE_KEY_BLOCK, '[private key removed]')
    let result = redactPlain(keyless)
    if (index.size > 0 && /%[0-9A-Fa-f]{2}|&#/.test(result)) {
      result = result.replace(ENCODED_RUN, (run) => {
        if (!/%[0-9A-Fa-f]{2}|&#/.test(run)) return run
        const decoded = decodeRun(run)
        return redactPlain(decoded) === decoded ? run : REDACTED
      })
    }
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
    notice: (message) => runner.notice(clean(message)),
    warning: (message, where) => runner.warning(clean(message), place(where)),
    error: (message, where) => runner.error(clean(message), place(where)),
    setOutput: (name, value) => runner.setOutput(name, clean(value)),
    appendSummary: (markdown) => runner.appendSummary(clean(markdown)),
    setFailed: (message) => runner.setFailed(clean(message)),
    group: (name, task) => runner.group(inert(clean(name)), task)
  }
}
