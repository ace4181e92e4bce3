// The validity windows of certificates as a Mermaid gantt chart, which GitHub renders in job
// summaries and comments: the overlap of an old and a new CA, and what expires when, at a glance.

/** One bar: a certificate's validity window. */
export interface Window {
  name: string
  notBefore: Date
  notAfter: Date
}

/** A titled group of bars (a Mermaid section). */
export interface Lane {
  title: string
  windows: Window[]
}

const DAY_MS = 24 * 60 * 60 * 1000
/** More bars than this make a chart nobody reads; the table below it still lists them all. */
export const MAX_BARS = 60
/** Bars are cut to this many years either side of today, so that a 9999 expiry does not flatten the rest. */
const HORIZON_YEARS = 15
const LABEL_LENGTH = 36
/** Section titles are cut to this, and the chart leaves this many pixels for them. */
const SECTION_LENGTH = 28
const LEFT_PADDING = 170

/**
 * What starts a statement in a gantt chart (its lexer's keywords, and a date): a task name must not
 * begin with one, or Mermaid reads it as that statement.
 */
const KEYWORDS =
  /^(section|title|dateformat|axisformat|tickinterval|excludes|includes|todaymarker|weekday|weekend|click|inclusiveenddates|topaxis|acctitle|accdescr|displaymode|gantt|\d{4}-\d\d-\d\d)/i

/**
 * Text safe as a Mermaid task or section name: no `:` (it starts the task's data), `#` and `;`
 * (they end it), `%%` (a comment), backticks (they would end the Markdown fence), angle brackets,
 * control characters or a leading keyword; short enough to read.
 */
export function mermaidText(text: string, max = LABEL_LENGTH): string {
  let clean = text
    .replace(/[\p{Cc}\u2028\u2029]/gu, ' ')
    .replace(/[:#;`<>{}"\\]/g, ' ')
    .replace(/%/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
  // Cut in the middle: names often differ only at the end (…-2025, …-2026).
  if (clean.length > max) {
    const tail = Math.floor((max - 1) / 3)
    clean = `${clean.slice(0, max - 1 - tail).trimEnd()}…${clean.slice(-tail).trimStart()}`
  }
  if (clean === '') clean = '(no name)'
  return KEYWORDS.test(clean) ? `› ${clean}` : clean
}

const day = (date: Date): string => date.toISOString().slice(0, 10)

/** Mermaid tags: expired `done` (grey), expiring soon `crit` (red), valid now `active`, not yet valid plain. */
export function tagOf(window: Window, now: Date, warningDays: number): string {
  if (window.notAfter.getTime() <= now.getTime()) return 'done'
  if (window.notAfter.getTime() - now.getTime() <= warningDays * DAY_MS) return 'crit'
  if (window.notBefore.getTime() <= now.getTime()) return 'active'
  return ''
}

/** One task line; a window cut at the horizon says where it really ends. */
function task(window: Window, now: Date, warningDays: number): string {
  const horizon = HORIZON_YEARS * 365 * DAY_MS
  const start = new Date(Math.max(window.notBefore.getTime(), now.getTime() - horizon))
  const end = new Date(Math.min(window.notAfter.getTime(), now.getTime() + horizon))
  const cut = end.getTime() < window.notAfter.getTime() ? ` (to ${window.notAfter.getUTCFullYear()})` : ''
  const tag = tagOf(window, now, warningDays)
  // A window shorter than a day still gets a visible bar.
  const until = day(end) > day(start) ? day(end) : '1d'
  return `    ${mermaidText(window.name)}${cut} :${tag ? `${tag}, ` : ''}${day(start)}, ${until}`
}

/** A fenced `mermaid` gantt block, or nothing when there is no window to draw. */
export function ganttBlock(title: string, lanes: readonly Lane[], now: Date, warningDays: number): string[] {
  const drawn = lanes.filter((l) => l.windows.length > 0)
  if (drawn.length === 0) return []
  const total = drawn.reduce((n, l) => n + l.windows.length, 0)
  const lines = [
    '```mermaid',
    // Room on the left for the section titles, which Mermaid otherwise lets the bars cover.
    `%%{init: {"gantt": {"leftPadding": ${LEFT_PADDING}}}}%%`,
    'gantt',
    `    title ${mermaidText(title, 80)}`,
    '    dateFormat YYYY-MM-DD',
    '    axisFormat %Y-%m',
    '    section Today',
    `    run date ${day(now)} :milestone, ${day(now)}, 0d`
  ]
  let left = MAX_BARS
  for (const lane of drawn) {
    if (left <= 0) break
    lines.push(`    section ${mermaidText(lane.title, SECTION_LENGTH)}`)
    const sorted = [...lane.windows].sort((a, b) => a.notAfter.getTime() - b.notAfter.getTime())
    for (const window of sorted.slice(0, left)) lines.push(task(window, now, warningDays))
    left -= sorted.length
  }
  lines.push('```')
  if (total > MAX_BARS)
    lines.push('', `The chart shows the first ${MAX_BARS} of ${total} windows; the table lists every certificate.`)
  return lines
}

/** Lanes by state, so that 50 bars still read: expired, expiring soon, valid, not yet valid. */
export function lanesByState(windows: readonly Window[], now: Date, warningDays: number): Lane[] {
  const lanes: Record<string, Lane> = {
    done: { title: 'Expired', windows: [] },
    crit: { title: 'Expiring soon', windows: [] },
    active: { title: 'Valid', windows: [] },
    '': { title: 'Not yet valid', windows: [] }
  }
  for (const window of windows) lanes[tagOf(window, now, warningDays)].windows.push(window)
  return Object.values(lanes)
}
