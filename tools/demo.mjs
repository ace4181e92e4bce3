// @ts-check
// `npm run demo`: the bundled action against the emulator, on generated certificates, twice.
// Builds nothing: it runs the committed dist/index.js as the GitHub runner would.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeCa, privateKeyPem } from './certs.mjs'
import { startEmulator } from './emulator.mjs'
import { runAction } from './run-action.mjs'

const bold = (/** @type {string} */ text) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text)

/** The log as the Actions UI shows it: annotations readable, runner plumbing hidden. @param {string} stdout */
function show(stdout) {
  for (const line of stdout.split('\n')) {
    if (line === '' || /^::(debug|add-mask|endgroup)::/.test(line)) continue
    if (line.startsWith('::group::')) {
      console.log(`  ▸ ${line.slice('::group::'.length)}`)
      continue
    }
    const command = /^::(error|warning|notice)(?: ([^:]*))?::(.*)$/.exec(line)
    if (command) console.log(`    ${command[1] === 'error' ? 'Error' : 'Warning'}: ${command[3]}`)
    else console.log(`    ${line}`)
  }
}

/** @param {Record<string, string>} outputs @param {string[]} names */
function showOutputs(outputs, names) {
  for (const name of names) console.log(`    ${name} = ${outputs[name]}`)
}

const emulator = await startEmulator()
/** @type {string | undefined} */
let workspace
try {
  console.log(bold('1. The emulator of the OpenAI certificates API is listening'))
  console.log(`    base-url: ${emulator.baseUrl}  (an admin key was generated for it)\n`)

  workspace = await mkdtemp(join(tmpdir(), 'certificates-demo-'))
  await mkdir(join(workspace, 'certs'))
  const root = await makeCa({ cn: 'Platform Root CA' })
  const partner = await makeCa({ cn: 'Partner Root CA' })
  await writeFile(join(workspace, 'certs', 'platform-bundle.pem'), `# Our mTLS client CAs\n${root.pem}${partner.pem}`)
  await writeFile(join(workspace, 'certs', 'root-copy.pem'), root.pem.replace(/\n/g, '\r\n'))
  console.log(bold('2. A repository with sample certificates'), `(${workspace})`)
  console.log('    certs/platform-bundle.pem  two CA certificates: Platform Root CA, Partner Root CA')
  console.log('    certs/root-copy.pem        the Platform Root CA again, with CRLF line endings\n')

  const inputs = { files: 'certs/*.pem', 'admin-api-key': emulator.adminKey, 'base-url': emulator.baseUrl }
  const outputs = ['uploaded-ids', 'existing-ids', 'slots-left']

  console.log(bold('3. First run (mode: publish): the two distinct certificates are uploaded, the copy is recognised'))
  const first = await runAction({ workspace, inputs })
  show(first.stdout)
  showOutputs(first.outputs, outputs)
  console.log(`    exit code ${first.code}; the organization now holds ${emulator.certificates.length} certificates\n`)

  const before = emulator.requests.length
  console.log(bold('4. Second run, same files: everything is already there, nothing is uploaded'))
  const second = await runAction({ workspace, inputs })
  show(second.stdout)
  showOutputs(second.outputs, outputs)
  const calls = emulator.requests.slice(before).map((r) => `${r.method} ${r.path}`)
  console.log(`    exit code ${second.code}; API calls: ${calls.length} (${[...new Set(calls)].join(', ')})\n`)

  console.log(bold('5. A pull request that adds a private key by mistake (mode: validate, no key, no network)'))
  await writeFile(
    join(workspace, 'certs', 'new-ca.pem'),
    `${(await makeCa({ cn: 'New CA' })).pem}${await privateKeyPem(root.keys)}`
  )
  const check = await runAction({ workspace, inputs: { files: 'certs/*.pem', mode: 'validate' } })
  show(check.stdout)
  console.log(`    exit code ${check.code}; nothing was sent anywhere\n`)

  console.log(bold('Job summary of the second run (Markdown):'))
  console.log(second.summary.replace(/^/gm, '    '))
  const ok = first.code === 0 && second.code === 0 && check.code === 1 && emulator.certificates.length === 2
  process.exitCode = ok ? 0 : 1
} finally {
  await emulator.close()
  if (workspace) await rm(workspace, { recursive: true, force: true })
}
