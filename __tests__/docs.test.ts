// The README's reference tables must say what action.yml says: names, defaults, nothing missing;
// and action.yml must be what the GitHub Marketplace accepts and shows well.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
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

/** The rows of the first table after `## heading`: first cell → last cell (the meaning), as written. */
function meanings(readme: string, heading: string): Map<string, string> {
  const section = readme.split(`\n## ${heading}\n`)[1] ?? ''
  const rows = section.split('\n').filter((l) => /^\| `/.test(l))
  return new Map(
    rows.map((row) => {
      const cells = row.split(/(?<!\\)\|/).slice(1, -1)
      return [cells[0].trim().replace(/`/g, ''), cells[cells.length - 1].trim().replace(/\\\|/g, '|')]
    })
  )
}

/** Markdown links become their text, so that action.yml (shown as plain text) can say the same. */
const plain = (text: string): string => text.replace(/\[([^\]]+)\]\([^)]+\)/g, '$1').trim()

/** A full stop, question or exclamation mark followed by the start of another sentence. */
const SENTENCE_END = /[.!?](?=\s+[A-Z`(])/

const firstSentence = (text: string): string => {
  const end = SENTENCE_END.exec(text)
  return end ? text.slice(0, end.index + 1) : text
}

/** The rows of the first table after `## heading`: first cell → second cell, backticks removed. */
function table(readme: string, heading: string): Map<string, string> {
  const section = readme.split(`\n## ${heading}\n`)[1] ?? ''
  const lines = section.split('\n')
  const first = lines.findIndex((l) => l.startsWith('|'))
  const end = lines.findIndex((l, i) => i > first && !l.startsWith('|'))
  const rows = lines.slice(first, end).filter((l) => /^\| `/.test(l))
  return new Map(
    rows.map((row) => {
      const cells = row
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((c) => c.trim())
      return [cells[0].replace(/`/g, ''), cells[1].replace(/`/g, '')]
    })
  )
}

describe('README', () => {
  it('lists every input of action.yml with its default, and no other', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
    const action = parse(await readFile(join(ROOT, 'action.yml'), 'utf8')) as ActionYml
    const documented = table(readme, 'Inputs')
    expect([...documented.keys()]).toEqual(Object.keys(action.inputs))
    for (const [name, spec] of Object.entries(action.inputs)) {
      expect([name, documented.get(name)]).toEqual([
        name,
        spec.required ? '(required)' : spec.default === '' ? "''" : spec.default
      ])
    }
  })

  it('lists every output of action.yml, and no other', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
    const action = parse(await readFile(join(ROOT, 'action.yml'), 'utf8')) as ActionYml
    expect([...table(readme, 'Outputs').keys()]).toEqual(Object.keys(action.outputs))
  })

  it('describes each input and output with the one sentence action.yml gives it, first', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
    const action = parse(await readFile(join(ROOT, 'action.yml'), 'utf8')) as ActionYml
    for (const [heading, specs] of [
      ['Inputs', action.inputs],
      ['Outputs', action.outputs]
    ] as const) {
      const documented = meanings(readme, heading)
      for (const [name, spec] of Object.entries(specs)) {
        expect([name, plain(firstSentence(documented.get(name) ?? ''))]).toEqual([name, spec.description.trim()])
      }
    }
  })
})

describe('action.yml, for the Marketplace', () => {
  it('has a description under 125 characters, a real author and its branding', async () => {
    const action = parse(await readFile(join(ROOT, 'action.yml'), 'utf8')) as ActionYml
    expect(action.description.length).toBeLessThanOrEqual(125)
    expect(action.description).toMatch(/OpenAI/)
    expect(action.author).toBe('The openai-certificates-action authors')
    expect(action.branding).toEqual({ icon: expect.any(String), color: expect.any(String) })
  })

  it('describes every input and output in one sentence', async () => {
    const action = parse(await readFile(join(ROOT, 'action.yml'), 'utf8')) as ActionYml
    for (const [name, spec] of [...Object.entries(action.inputs), ...Object.entries(action.outputs)]) {
      const description = spec.description.trim()
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
