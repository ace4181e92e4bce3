// dist/licenses.txt names exactly the packages whose code is in dist/, each with its licence text.
// The bundle is built afresh here (ncc, no cache, into a temporary folder) and its modules are read
// a second, independent way: from each module's absolute path, up to the nearest package.json.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, sep } from 'node:path'
import { listed, packageFolders, readPackage, render } from '../tools/licenses.mjs'
import { ROOT } from '../tools/run-action.mjs'
import { workspace } from './helpers.js'

interface Module {
  identifier?: string
  name?: string
  chunks?: number[]
  modules?: Module[]
}

const load = createRequire(import.meta.url)

let out: string
let stats: { modules: Module[]; chunks: { id: number; initial: boolean }[] }

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'licenses-'))
  const ncc = join(ROOT, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js')
  const args = [ncc, 'build', 'src/index.ts', '-o', join(out, 'dist'), '-m', '-C', '-q']
  const child = spawn(process.execPath, [...args, '--stats-out', join(out, 'stats.json')], { cwd: ROOT })
  let stderr = ''
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const code = await new Promise((resolve) => child.on('close', resolve))
  if (code !== 0) throw new Error(`ncc failed: ${stderr}`)
  stats = JSON.parse(await readFile(join(out, 'stats.json'), 'utf8'))
}, 240_000)

afterAll(() => rm(out, { recursive: true, force: true }))

/** name@version of the package holding each module, by walking up from its file. */
function bundledByPath(modules: Module[] | undefined, found = new Set<string>()): Set<string> {
  for (const module of modules ?? []) {
    // `loader!loader!/abs/path/file.js|hash`: the resource is after the last `!`.
    const file = (module.identifier ?? '').split('!').pop()!.split('|')[0]
    if (file.includes(`${sep}node_modules${sep}`)) {
      let folder = dirname(file)
      while (!existsSync(join(folder, 'package.json')) || !load(join(folder, 'package.json')).name) {
        folder = dirname(folder)
      }
      const manifest = load(join(folder, 'package.json')) as { name: string; version: string }
      found.add(`${manifest.name}@${manifest.version}`)
    }
    bundledByPath(module.modules, found)
  }
  return found
}

describe('dist/licenses.txt', () => {
  it('lists every package in the fresh bundle, lazy chunks and concatenated ES modules included, and no other', async () => {
    const bundled = [...bundledByPath(stats.modules)].sort()
    const text = await readFile(join(ROOT, 'dist', 'licenses.txt'), 'utf8')
    const entries = listed(text)
    expect(entries.map((e) => `${e.name}@${e.version}`).sort()).toEqual(bundled)
    // The packages ncc's --license left out, and both copies of the HTTP client.
    for (const name of ['@actions/core', '@actions/glob', 'minimatch', 'undici', 'tunnel', '@octokit/core']) {
      expect(entries.map((e) => e.name)).toContain(name)
    }
    // Three copies: the action's API client, @actions/github's, and @actions/core's (pinned to the
    // last one without undici by package.json's overrides, so that validate runs never evaluate it).
    expect(entries.filter((e) => e.name === '@actions/http-client').map((e) => e.version)).toContain('2.1.1')
    expect(entries.filter((e) => e.name === '@actions/http-client')).toHaveLength(3)
    expect(entries.find((e) => e.name === 'before-after-hook')?.license).toBe('Apache-2.0')
    expect(entries.find((e) => e.name === 'minimatch')?.license).toBe('BlueOak-1.0.0')
  })

  it('is exactly what tools/licenses.mjs writes from the fresh bundle: the licence texts are there', async () => {
    const packages = await Promise.all(packageFolders(stats).map((folder) => readPackage(folder)))
    expect(await readFile(join(ROOT, 'dist', 'licenses.txt'), 'utf8')).toBe(render(packages))
    // BSD texts (asn1js's, tslib's 0BSD) never say 'license': they grant 'Redistribution and use' or 'Permission'.
    for (const p of packages) expect(p.text).toMatch(/licen[cs]e|redistribution and use|permission to use/i)
  })

  it('keeps what only publish, plan, comments and the command line need out of the chunk every run evaluates', () => {
    // A one-file validate starts within 2x bare `node -e 0` (npm run bench): undici alone costs
    // about a fifth of it. ncc makes each `await import()` a chunk loaded only when reached.
    const initial = new Set(stats.chunks.filter((c) => c.initial).map((c) => c.id))
    const eager = stats.modules.filter((m) => m.chunks?.some((c) => initial.has(c)))
    const packages = [...bundledByPath(eager)].map((p) => p.replace(/@[^@]*$/, ''))
    expect(packages).toEqual(expect.arrayContaining(['@actions/core', '@actions/glob', 'asn1js']))
    for (const lazy of ['undici', '@actions/github', '@octokit/core', 'yaml']) expect(packages).not.toContain(lazy)
    expect(eager.filter((m) => /http-client/.test(m.identifier ?? '')).map((m) => m.name)).toEqual(
      expect.arrayContaining([expect.stringMatching(/@actions\/core\/node_modules\/@actions\/http-client\//)])
    )
    const sources = eager.flatMap((m) => [m.name, ...(m.modules ?? []).map((n) => n.name)])
    // The command line shares the bundle, but its code (and the YAML parser) loads only for the bin.
    for (const lazy of [
      'openai/api.ts',
      'publish.ts',
      'plan/apply.ts',
      'github/comment.ts',
      'plan/plan-hash.ts',
      'cli.ts'
    ]) {
      expect(sources.filter((n) => n?.endsWith(`/src/${lazy}`))).toEqual([])
    }
    expect(sources).toContain('./src/certificates/files.ts')
  })

  it('covers every chunk the bundle has', async () => {
    const chunks = (await readdir(join(out, 'dist'))).filter((f) => f.endsWith('.js')).sort()
    expect(chunks).toEqual((await readdir(join(ROOT, 'dist'))).filter((f) => f.endsWith('.js')).sort())
    expect(chunks.length).toBeGreaterThan(1)
    // ncc minifies the entry file only; tools/minify-chunks.mjs, the lazy chunks too (the largest,
    // undici, halves): the one bundle of the action and the command line ships small.
    for (const chunk of chunks.filter((f) => f !== 'index.js')) {
      const [fresh, shipped] = await Promise.all([stat(join(out, 'dist', chunk)), stat(join(ROOT, 'dist', chunk))])
      expect([chunk, shipped.size < fresh.size]).toEqual([chunk, true])
    }
  })
})

describe('tools/licenses.mjs', () => {
  it('reads nested (concatenated) modules and nested node_modules, with Windows separators', () => {
    const folders = packageFolders({
      modules: [
        { name: './src/index.ts' },
        {
          name: './src/main.ts + 3 modules',
          modules: [
            { name: './node_modules/minimatch/dist/esm/index.js' },
            { name: '.\\node_modules\\@octokit\\core\\dist-src\\index.js' },
            { name: './node_modules/@actions/github/node_modules/@actions/http-client/lib/index.js' }
          ]
        },
        { name: 'webpack/runtime/define property getters' }
      ]
    } as never)
    expect(folders).toEqual([
      'node_modules/@actions/github/node_modules/@actions/http-client',
      'node_modules/@octokit/core',
      'node_modules/minimatch'
    ])
  })

  it('refuses a package it cannot ship a licence for', async () => {
    const root = await workspace({
      'node_modules/no-file/package.json': '{"name":"no-file","version":"1.0.0","license":"MIT"}',
      'node_modules/no-id/package.json': '{"name":"no-id","version":"1.0.0"}',
      'node_modules/no-id/LICENSE': 'Permission is granted.'
    })
    await expect(readPackage('node_modules/no-file', root)).rejects.toThrow(/no-file .* has no licence file/)
    await expect(readPackage('node_modules/no-id', root)).rejects.toThrow(/no-id .* has no 'license'/)
  })
})
