// @ts-check
/**
 * Writes dist/licenses.txt: every package whose code ncc put in dist/ (the entry chunk and the
 * lazy ones), with its licence id and text, from the module list ncc writes with --stats-out.
 *
 *   node tools/licenses.mjs build/ncc-stats.json dist/licenses.txt
 *
 * Why not ncc's own `--license`: it runs license-webpack-plugin with one file name for every
 * chunk, so each chunk overwrites the file and only the last lazy chunk's packages survive; and it
 * misses modules that webpack concatenated into one (scope hoisting, which only ES modules get),
 * so ESM packages such as the @octokit ones are not listed even in their chunk. Tools that read
 * the dependency tree (license-checker and the like) list packages that are never bundled (type
 * packages). The stats list every module, nested ones included, so this is the bundle's truth.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ROOT } from './run-action.mjs'

/**
 * @typedef {object} StatsModule
 * @property {string} [name]  relative to the project, e.g. `./node_modules/minimatch/dist/esm/index.js`
 * @property {StatsModule[]} [modules]  the modules webpack concatenated into this one
 */

/**
 * The package folders (relative to the project, forward slashes) of every bundled module.
 * @param {{ modules?: StatsModule[] }} stats  webpack's stats JSON, as `ncc --stats-out` writes it
 * @returns {string[]} sorted, each once, e.g. `node_modules/@actions/github/node_modules/@actions/http-client`
 */
export function packageFolders(stats) {
  /** @type {Set<string>} */
  const folders = new Set()
  /** @param {StatsModule[] | undefined} modules */
  const walk = (modules) => {
    for (const module of modules ?? []) {
      const name = (module.name ?? '').replace(/\\/g, '/').replace(/^\.\//, '')
      const folder = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(name)
      if (folder) folders.add(folder[1])
      walk(module.modules)
    }
  }
  walk(stats.modules)
  return [...folders].sort()
}

const LICENCE_FILE = /^(licen[cs]e|copying)(\.(md|txt|markdown))?$/i

/**
 * @typedef {object} BundledPackage
 * @property {string} name
 * @property {string} version
 * @property {string} license  the SPDX expression of its package.json
 * @property {string} text  its licence file(s), line endings normalised
 */

/**
 * @param {string} folder  relative to `root`
 * @param {string} [root]
 * @returns {Promise<BundledPackage>}
 */
export async function readPackage(folder, root = ROOT) {
  const directory = join(root, folder)
  const manifest = JSON.parse(await readFile(join(directory, 'package.json'), 'utf8'))
  const files = (await readdir(directory)).filter((f) => LICENCE_FILE.test(f)).sort()
  const texts = await Promise.all(files.map((f) => readFile(join(directory, f), 'utf8')))
  const text = texts
    .map((t) =>
      t
        .replace(/\r\n?/g, '\n')
        .split('\n')
        .map((line) => line.trimEnd())
        .join('\n')
        .trim()
    )
    .join('\n\n')
  const license = typeof manifest.license === 'string' ? manifest.license : ''
  if (!license || !text) {
    throw new Error(
      `${manifest.name} (${folder}) has no ${license ? 'licence file' : "'license' in its package.json"}: its licence cannot be shipped; check the package before bundling it.`
    )
  }
  return { name: manifest.name, version: manifest.version, license, text }
}

const RULE = '='.repeat(80)

/** @param {BundledPackage[]} packages */
export function render(packages) {
  const sorted = [...packages].sort((a, b) =>
    a.name === b.name ? a.version.localeCompare(b.version, 'en') : a.name < b.name ? -1 : 1
  )
  const head =
    `Third-party software in dist/: ${sorted.length} packages, with their licences.\n` +
    `Written by 'npm run bundle' (tools/licenses.mjs) from the modules ncc bundled; do not edit.\n`
  const body = sorted.map((p) => `${RULE}\n${p.name}@${p.version}\n${p.license}\n\n${p.text}\n`)
  return [head, ...body].join('\n')
}

/**
 * Reads licenses.txt back: `name@version` → licence id, in file order.
 * @param {string} text
 */
export function listed(text) {
  return [...text.matchAll(new RegExp(`^${RULE}\\n(.+)@([^@\\n]+)\\n(.+)\\n`, 'gm'))].map((m) => ({
    name: m[1],
    version: m[2],
    license: m[3]
  }))
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [statsFile, outFile] = process.argv.slice(2)
  if (!statsFile || !outFile) throw new Error('usage: node tools/licenses.mjs <ncc stats.json> <licenses.txt>')
  const stats = JSON.parse(await readFile(statsFile, 'utf8'))
  const packages = await Promise.all(packageFolders(stats).map((folder) => readPackage(folder)))
  if (packages.length === 0) throw new Error(`${statsFile} names no bundled package: is it ncc's --stats-out?`)
  await writeFile(outFile, render(packages))
  console.log(`${outFile}: ${packages.length} packages`)
}
