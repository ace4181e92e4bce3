// The README's reference tables must say what action.yml says: names, defaults, nothing missing.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parse } from 'yaml'
import { ROOT } from '../tools/run-action.mjs'

interface ActionYml {
  inputs: Record<string, { default?: string; required?: boolean }>
  outputs: Record<string, unknown>
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
})
