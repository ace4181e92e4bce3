/**
 * @jest-environment-options {"globalsCleanup": "off"}
 */
// The validity timeline: a Mermaid gantt block that Mermaid's own parser accepts, whatever the names.
import { JSDOM } from 'jsdom'
import { buildReport } from '../src/github/report.js'
import type { Outcome } from '../src/github/results.js'
import { ganttBlock, lanesByState, MAX_BARS, mermaidText, type Window } from '../src/certificates/timeline.js'

const DAY = 24 * 60 * 60 * 1000
const now = new Date('2026-11-23T12:00:00Z')

interface MermaidTask {
  task: string
  section: string
  startTime: Date
  endTime: Date
  done?: boolean
  crit?: boolean
  active?: boolean
  milestone?: boolean
}
type Mermaid = {
  parse(text: string): Promise<unknown>
  mermaidAPI: { getDiagramFromText(text: string): Promise<{ db: { getTasks(): MermaidTask[] } }> }
}
let mermaid: Mermaid

/** The bars as Mermaid itself reads them: `section / name [tags] start..end`. */
async function parsed(text: string): Promise<string[]> {
  await mermaid.parse(text)
  const { db } = await mermaid.mermaidAPI.getDiagramFromText(text)
  return db.getTasks().map((t) => {
    const tags = (['milestone', 'done', 'crit', 'active'] as const).filter((tag) => t[tag]).join(',')
    const dates = `${t.startTime.toISOString().slice(0, 10)}..${t.endTime.toISOString().slice(0, 10)}`
    return `${t.section} / ${t.task.trim()} [${tags}] ${dates}`
  })
}

beforeAll(async () => {
  // Mermaid wants a DOM (DOMPurify, d3) even to parse: jsdom's, as globals, before it is imported.
  const { window } = new JSDOM('<!doctype html><html><body></body></html>')
  Object.assign(globalThis, { window, document: window.document })
  mermaid = ((await import('mermaid')) as unknown as { default: Mermaid }).default
})

/** The diagram inside the block's fence. */
function diagram(lines: readonly string[]): string {
  const start = lines.indexOf('```mermaid')
  const end = lines.indexOf('```', start + 1)
  expect([start, end].every((i) => i >= 0)).toBe(true)
  return lines.slice(start + 1, end).join('\n')
}

const window = (name: string, fromDays: number, toDays: number): Window => ({
  name,
  notBefore: new Date(now.getTime() + fromDays * DAY),
  notAfter: new Date(now.getTime() + toDays * DAY)
})

const chart = (windows: Window[]) => ganttBlock('Validity', lanesByState(windows, now, 30), now, 30)

describe('validity timeline', () => {
  it('draws an old and a new CA side by side, today marked, expired and expiring set apart', async () => {
    const text = diagram(
      chart([
        window('old-ca', -700, -5),
        window('current-ca', -300, 20),
        window('next-ca', -10, 700),
        window('future-ca', 30, 900)
      ])
    )
    expect(text).toMatch(/^%%\{init: \{"gantt": \{"leftPadding": 170\}\}\}%%\ngantt\n/)
    expect(await parsed(text)).toEqual([
      'Today / run date 2026-11-23 [milestone] 2026-11-23..2026-11-23',
      'Expired / old-ca [done] 2024-12-23..2026-11-18',
      'Expiring soon / current-ca [crit] 2026-01-27..2026-12-13',
      'Valid / next-ca [active] 2026-11-13..2028-10-23',
      'Not yet valid / future-ca [] 2026-12-23..2029-05-11'
    ])
  })

  it('draws nothing without certificates', async () => {
    expect(chart([])).toEqual([])
  })

  it('stays readable with 50 certificates: short labels, in sections, every bar parsed', async () => {
    const windows = Array.from({ length: 50 }, (_, i) =>
      window(`tenant-${i}-intermediate-ca-with-a-rather-long-descriptive-name`, -400 + i * 10, -100 + i * 20)
    )
    const lines = chart(windows)
    const text = diagram(lines)
    const bars = (await parsed(text)).slice(1)
    expect(bars).toHaveLength(50)
    expect(bars.every((b) => b.split(' / ')[1].split(' [')[0].length <= 36)).toBe(true)
    expect(new Set(bars.map((b) => b.split(' / ')[0]))).toEqual(
      new Set(['Expired', 'Expiring soon', 'Valid', 'Not yet valid'])
    )
    // Beyond MAX_BARS the chart stops and says so.
    const many = chart(Array.from({ length: MAX_BARS + 5 }, (_, i) => window(`c${i}`, -10, 100 + i)))
    expect(await parsed(diagram(many))).toHaveLength(MAX_BARS + 1)
    expect(many.at(-1)).toBe(
      `The chart shows the first ${MAX_BARS} of ${MAX_BARS + 5} windows; the table lists every certificate.`
    )
  })

  it('escapes hostile names so that each stays one bar and nothing leaks out of the block', async () => {
    const hostile = [
      'evil: done, 2000-01-01, 3000-01-01',
      'name #with; hashes',
      'section Pwned',
      'title Owned',
      'click x call alert(1)',
      '%%{init: {"theme":"dark"}}%%',
      '```\n# heading injected',
      'line\nbreak\r\nand\u2028separator',
      '<img src=x onerror=alert(1)>',
      '',
      'dateFormat X',
      '2025-01-01 root',
      'accTitle x',
      'includes 2026-01-01'
    ]
    const lines = chart(hostile.map((name, i) => window(name, -10 - i, 100 + i)))
    const text = diagram(lines)
    // Mermaid reads exactly one bar per certificate, each in the Valid section with its own dates.
    const bars = (await parsed(text)).slice(1)
    expect(bars).toHaveLength(hostile.length)
    for (const [i, bar] of bars.entries()) {
      expect(bar).toMatch(/^Valid \/ [^:#;`<>%\n]+ \[active\] \d{4}-\d\d-\d\d\.\.\d{4}-\d\d-\d\d$/)
      expect(bar.endsWith(`..${new Date(now.getTime() + (100 + i) * DAY).toISOString().slice(0, 10)}`)).toBe(true)
    }
    expect(text).not.toMatch(/^\s*(section Pwned|title Owned|click)/m)
    // The only directive is the chart's own, on its first line.
    expect(text.split('\n').filter((l) => l.includes('%%'))).toEqual([text.split('\n')[0]])
    expect(lines.filter((l) => l.startsWith('```'))).toHaveLength(2)
    expect(mermaidText('section Pwned')).toBe('› section Pwned')
  })

  it('cuts a 9999 expiry at the horizon and says where it ends', async () => {
    const text = diagram(
      chart([window('soon', -10, 1), { ...window('forever', -10, 0), notAfter: new Date('9999-12-31T23:59:59Z') }])
    )
    expect(await parsed(text)).toEqual([
      'Today / run date 2026-11-23 [milestone] 2026-11-23..2026-11-23',
      'Expiring soon / soon [crit] 2026-11-13..2026-11-24',
      expect.stringMatching(/^Valid \/ forever \(to 9999\) \[active\] 2026-11-13\.\.2041-11-/)
    ])
  })

  it('is in the job summary, with the active certificates per scope after an activation', async () => {
    const cert = (cn: string, fingerprint: string, from: number, to: number) => ({
      fingerprint,
      commonName: cn,
      subject: `CN=${cn}`,
      notBefore: new Date(now.getTime() + from * DAY),
      notAfter: new Date(now.getTime() + to * DAY),
      index: 1,
      line: 1
    })
    const next = cert('Next', 'b'.repeat(64), -1, 700)
    const outcome = {
      mode: 'publish',
      files: [{ file: 'certs/next.pem', certificates: [next], rejected: [], problems: [] }],
      problems: [],
      names: new Map([[next, 'next-ca']]),
      uploaded: new Map([[next.fingerprint, 'cert_new']]),
      inventory: {
        certificates: [
          {
            id: 'cert_old',
            name: 'old-ca',
            createdAt: 1,
            active: true,
            validAt: now.getTime() / 1000 - 300 * 86400,
            expiresAt: now.getTime() / 1000 + 10 * 86400
          }
        ],
        byFingerprint: new Map()
      },
      plan: {
        existing: new Map(),
        uploads: [],
        renames: [],
        scopes: [{ scope: { kind: 'organization' }, activate: [], activateUploads: true, deactivate: [], spared: [] }],
        prunable: [],
        deletions: 0,
        total: 1,
        cap: 50,
        expired: []
      },
      changes: [
        { action: 'upload', id: 'cert_new', name: 'next-ca', scope: null, fingerprint: next.fingerprint, done: true },
        {
          action: 'activate',
          id: 'cert_new',
          name: 'next-ca',
          scope: 'organization',
          fingerprint: next.fingerprint,
          done: true
        }
      ]
    } as unknown as Outcome
    const { summary } = buildReport(outcome, now)
    const blocks = summary
      .split('```mermaid\n')
      .slice(1)
      .map((b) => b.split('\n```')[0])
    expect(blocks).toHaveLength(2)
    expect(summary).toContain('### Active after this run')
    expect((await parsed(blocks[0])).slice(1)).toEqual(['Valid / next-ca [active] 2026-11-22..2028-10-23'])
    expect((await parsed(blocks[1])).slice(1)).toEqual([
      'Active for the organization / old-ca [crit] 2026-01-27..2026-12-03',
      'Active for the organization / next-ca [active] 2026-11-22..2028-10-23'
    ])
  })
})
