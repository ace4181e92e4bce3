// The source layout's rules (CONTRIBUTING.md, "Source layout"), kept true: each folder of src/ is a
// layer, imports point down the layers only, no module imports itself back through others, and every
// file stays small enough to hold in mind.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { ROOT } from '../tools/run-action.mjs'

/** Lowest first: a file may import from its own layer or a lower one. Top-level files are entry points. */
const LAYERS = ['shared', 'certificates', 'openai', 'plan', 'github', '.'] as const
const MAX_LINES = 450

const SRC = join(ROOT, 'src')
const files = (readdirSync(SRC, { recursive: true }) as string[])
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.split('\\').join('/'))
  .sort()

const layerOf = (file: string): number => LAYERS.indexOf((file.includes('/') ? file.split('/')[0] : '.') as never)

/** Every relative module a file imports (static, dynamic and type-only alike), as paths below src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8')
  const specs = [...text.matchAll(/(?:from\s+|import\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1])
  return specs.map((spec) =>
    relative(SRC, resolve(dirname(join(SRC, file)), spec.replace(/\.js$/, '.ts')))
      .split('\\')
      .join('/')
  )
}

const graph = new Map(files.map((f) => [f, importsOf(f)]))

describe('the source layout', () => {
  test('every file of src/ is in a known layer, and every folder says what it owns', () => {
    expect(files.filter((f) => layerOf(f) < 0)).toEqual([])
    for (const layer of LAYERS.slice(0, -1)) {
      expect(readFileSync(join(SRC, layer, 'README.md'), 'utf8')).toMatch(/owns|may import/i)
    }
  })

  test('every relative import names a file that exists', () => {
    const missing = [...graph].flatMap(([f, targets]) => targets.filter((t) => !graph.has(t)).map((t) => `${f} → ${t}`))
    expect(missing).toEqual([])
  })

  test('imports point down the layers only', () => {
    const upward = [...graph].flatMap(([f, targets]) =>
      targets.filter((t) => graph.has(t) && layerOf(t) > layerOf(f)).map((t) => `${f} → ${t}`)
    )
    expect(upward).toEqual([])
  })

  test('no import cycle', () => {
    const cycles: string[] = []
    const state = new Map<string, 'open' | 'done'>()
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === 'done') return
      if (state.get(file) === 'open') {
        cycles.push([...path.slice(path.indexOf(file)), file].join(' → '))
        return
      }
      state.set(file, 'open')
      for (const next of graph.get(file) ?? []) if (graph.has(next)) visit(next, [...path, file])
      state.set(file, 'done')
    }
    for (const file of files) visit(file, [])
    expect(cycles).toEqual([])
  })

  test(`no file of src/ is over ${MAX_LINES} lines`, () => {
    const long = files
      .map((f) => ({ f, lines: readFileSync(join(SRC, f), 'utf8').split('\n').length }))
      .filter(({ lines }) => lines > MAX_LINES)
      .map(({ f, lines }) => `${f}: ${lines}`)
    expect(long).toEqual([])
  })
})
