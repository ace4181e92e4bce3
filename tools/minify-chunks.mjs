// @ts-check
/**
 * Minifies the lazy chunks ncc wrote next to dist/index.js. `ncc build -m` minifies the entry file
 * only: the chunks each `await import()` becomes (the API client's undici, @actions/github, the
 * command line's YAML parser) would otherwise ship as readable source, half of dist/. Same options
 * as ncc's own pass over the entry (no compression; names kept, so stacks and `instanceof` read the
 * same), so a chunk behaves as it did.
 *
 *   node tools/minify-chunks.mjs dist
 */
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { minify } from 'terser'

const [folder] = process.argv.slice(2)
if (!folder) throw new Error('usage: node tools/minify-chunks.mjs <dist folder>')
const chunks = (await readdir(folder)).filter((f) => /^\d+\.index\.js$/.test(f))
let before = 0
let after = 0
for (const chunk of chunks) {
  const file = join(folder, chunk)
  const code = await readFile(file, 'utf8')
  const result = await minify(code, {
    module: true,
    compress: false,
    mangle: { keep_classnames: true, keep_fnames: true }
  })
  if (result.code === undefined) throw new Error(`${file}: terser returned no code`)
  await writeFile(file, result.code)
  before += code.length
  after += result.code.length
}
console.log(
  `${folder}: ${chunks.length} chunks minified, ${Math.round(before / 1000)} kB → ${Math.round(after / 1000)} kB`
)
