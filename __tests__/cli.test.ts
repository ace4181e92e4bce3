// The command line (bin/openai-certificates.js, which runs the one bundle dist/index.js as the
// command line), run as a user runs it: a child process in a directory.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeCa, makeLeaf } from '../tools/certs.mjs'
import type { Emulator } from '../tools/emulator.mjs'
import { ROOT } from '../tools/run-action.mjs'
import { parse } from 'yaml'
import { emulators, validate, workspace } from './helpers.js'

let emulator: Emulator | undefined
const startEmulator = emulators()

interface CliRun {
  code: number | null
  stdout: string
  stderr: string
}

function cli(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
  bin = join(ROOT, 'bin', 'openai-certificates.js')
) {
  // Nothing of this process's environment but PATH and HOME: no GITHUB_* variables, as on a laptop.
  // ACTION_NODE: the Node the bundle runs on in CI's second pass (24), as for the action.
  const child = spawn(process.env.ACTION_NODE || process.execPath, [bin, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? cwd, ...env }
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  return new Promise<CliRun>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })))
}

let good: string
let bad: string
beforeAll(async () => {
  good = (await makeCa({ cn: 'Good Root' })).pem
  bad = (await makeCa({ cn: 'Leaf', ca: false })).pem
})

describe('openai-certificates', () => {
  it('validate: exit 0 on good files, with a readable log and no workflow commands or colours off a terminal', async () => {
    const root = await workspace({ 'certs/a/good.pem': good })
    const run = await cli(root, ['validate', 'certs/**/*.pem'])
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^✅ valid +certs\/a\/good\.pem:1 'good' sha256:[0-9a-f]{16}$/m)
    expect(run.stdout).toContain('Checked 1 file, 1 certificate: 1 valid; 0 errors, 0 warnings.')
    expect(run.stdout + run.stderr).not.toContain('::')
    expect(run.stdout + run.stderr).not.toContain('\u001b[')
    expect(run.stderr).toBe('')
  })

  it('validate: exit 1 on a bad file, the problem on stderr with its file and line', async () => {
    const root = await workspace({ 'certs/good.pem': good, 'certs/leaf.pem': bad })
    const run = await cli(root, ['validate', 'certs/*.pem'])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/^error: certs\/leaf\.pem:1: .*not a CA certificate.*\[not-ca\]$/m)
    expect(run.stderr.trim().split('\n').at(-1)).toBe(
      'error: 1 error in 1 file: fix the certificates annotated above (the job summary lists every problem).'
    )
  })

  describe('the pre-commit hook: each staged file name is that file, not a pattern', () => {
    /** What pre-commit runs: the hook's entry from .pre-commit-hooks.yaml, then the staged names. */
    async function hook(cwd: string, staged: string[], args: string[] = []) {
      const [{ entry }] = parse(await readFile(join(ROOT, '.pre-commit-hooks.yaml'), 'utf8')) as { entry: string }[]
      const [command, ...rest] = entry.split(/\s+/)
      expect(command).toBe('openai-certificates')
      return cli(cwd, [...rest, ...args, ...staged])
    }
    const broken = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'

    it("a broken 'certs/ca[1].pem' fails, named, though a good certs/ca1.pem is beside it", async () => {
      const root = await workspace({ 'certs/ca[1].pem': broken, 'certs/ca1.pem': good })
      const run = await hook(root, ['certs/ca[1].pem'])
      expect(run.code).toBe(1)
      expect(run.stderr).toMatch(/^error: certs\/ca\[1\]\.pem:1: /m)
      expect(run.stdout).not.toContain('certs/ca1.pem')
    })

    it("good files named '[old].pem', '!neg.pem', '#1.pem', 'a*b?.pem' and 'back\\slash.pem' pass, each checked once", async () => {
      const names = ['certs/[old].pem', '!neg.pem', '#1.pem', 'certs/a*b?.pem', 'certs/back\\slash.pem']
      const files = Object.fromEntries(names.map((name) => [name, good]))
      const root = await workspace({ ...files, 'certs/aXbY.pem': bad, 'certs/o.pem': bad })
      const run = await hook(root, names, ['--json'])
      expect(run.stderr).not.toMatch(/^error:/m)
      expect(run.code).toBe(0)
      const checked = (JSON.parse(run.stdout) as { results: { file: string }[] }).results.map((r) => r.file)
      expect(checked.sort()).toEqual([...names].sort())
    })

    it('patterns still work through --files beside --literal (the second hook of the docs)', async () => {
      const root = await workspace({ 'certs/a.pem': good, 'certs/b.pem': good })
      const run = await hook(root, [], ['--files', 'certs/*.pem', '--json'])
      expect(run.code).toBe(0)
      expect((JSON.parse(run.stdout) as { results: unknown[] }).results).toHaveLength(2)
    })
  })

  it.each([
    [[], /Say what to do: validate, plan or publish/],
    [['frob', 'x.pem'], /Unknown command 'frob'/],
    [['validate'], /Give the certificate files/],
    [['validate', 'x.pem', '--no-such-input', '1'], /Unknown option '--no-such-input'/],
    [['validate', 'x.pem', '-x'], /Unknown option '-x'/],
    [['plan', 'x.pem', '--admin-api-key', 'sk-admin-secret'], /OPENAI_ADMIN_KEY environment variable instead/],
    [['plan', 'x.pem', '--client-key', 'sk-admin-secret'], /OPENAI_CLIENT_KEY environment variable instead/],
    [['plan', 'x.pem', '--client-key=sk-admin-secret'], /OPENAI_CLIENT_KEY environment variable instead/],
    [['plan', 'x.pem', '--github-token', 'sk-admin-secret'], /GITHUB_TOKEN environment variable instead/],
    [['validate', 'x.pem', '--mode', 'publish'], /give the mode as the command/],
    [['validate', 'x.pem', '--fail-on', 'sometimes'], /Input 'fail-on' is 'sometimes'/],
    [['validate', 'x.pem', '--summary'], /'--summary' needs a file name/],
    [
      ['validate', 'x.pem', '--reviewed-plan', '3f9a0c1b2d4e…'],
      /Input 'reviewed-plan' is '3f9a0c1b2d4e…': give the reviewed plan/
    ],
    [['publish', 'x.pem'], /Mode 'publish' needs an OpenAI admin key/]
  ])('exit 2 on bad usage: %j', async (args, message) => {
    const root = await workspace({ 'x.pem': good })
    const run = await cli(root, args as string[])
    expect([run.code, run.stdout]).toEqual([2, ''])
    expect(run.stderr).toMatch(message)
    expect(run.stderr).toMatch(/\nTry 'openai-certificates --help'\.\n$/)
    expect(run.stderr).not.toContain('sk-admin-secret')
  })

  it('--help lists every input of action.yml as an option, and exits 0', async () => {
    const run = await cli(tmpdir(), ['--help'])
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^Usage: openai-certificates <validate\|plan\|publish>/)
    for (const input of ['files', 'name', 'expiry-warning-days', 'label', 'reviewed-plan', 'activate'])
      expect(run.stdout).toContain(`  --${input}`)
    expect(run.stdout).not.toContain('--admin-api-key')
    expect(run.stdout).not.toContain('--client-key')
    expect(run.stdout).not.toContain('--github-token')
    expect(run.stdout).toMatch(/OPENAI_CLIENT_KEY \(the PEM private key of\s+--client-certificate\)/)
    expect(run.stdout).toMatch(/GITHUB_TOKEN \(for --comment-on-pr\)/)
  })

  it('reads the client key from OPENAI_CLIENT_KEY, never from the command line', async () => {
    emulator = await startEmulator()
    const ca = await makeCa({ cn: 'Client Root' })
    const client = await makeLeaf(ca, { cn: 'release workflow' })
    const other = await makeLeaf(ca, { cn: 'someone else' })
    const root = await workspace({ 'certs/ca.pem': ca.pem })
    const args = ['plan', 'certs/*.pem', '--base-url', emulator.baseUrl, '--client-certificate', client.pem]
    const env = { OPENAI_ADMIN_KEY: emulator.adminKey }
    const wrong = await cli(root, args, { ...env, OPENAI_CLIENT_KEY: other.key })
    expect(wrong.code).not.toBe(0)
    expect(wrong.stderr).toContain("Input 'client-key' is not the private key of 'client-certificate'")
    const right = await cli(root, args, { ...env, OPENAI_CLIENT_KEY: client.key })
    expect(right.code).toBe(0)
    expect(right.stdout + right.stderr).not.toContain('PRIVATE KEY')
  })

  it('--help shows what each option that is not yes/no takes', async () => {
    const run = await cli(tmpdir(), ['--help'])
    expect(run.stdout).toMatch(/^ {2}--comment-on-pr \[true\|always\] +On `pull_request` events/m)
    expect(run.stdout).toMatch(/^ {2}--fail-on error\|warning +`error` fails/m)
    expect(run.stdout).toMatch(/^ {2}--if-no-files-found error\|warn\|ignore +What to do/m)
    expect(run.stdout).toMatch(/^ {2}--expiry-warning-days DAYS +Warn/m)
    expect(run.stdout).toMatch(/^ {2}--activate +After publishing/m)
    expect(run.stdout).toMatch(/^ {2}--reviewed-plan FILE\|HASH +In `publish`, the reviewed `plan` run's plan file/m)
    expect(run.stdout).not.toContain('…')
  })

  it('--comment-on-pr outside GitHub Actions says in one line that no comment is written, and the run goes on', async () => {
    const root = await workspace({ 'certs/good.pem': good, 'certs/leaf.pem': bad })
    const passed = await cli(root, ['validate', 'certs/good.pem', '--comment-on-pr', 'always', '--debug'])
    expect(passed.code).toBe(0)
    expect(passed.stderr).toContain(
      'openai-certificates: --comment-on-pr: pull-request comments are written only inside GitHub Actions; none is written here'
    )
    expect(passed.stdout).toContain('Checked 1 file, 1 certificate: 1 valid; 0 errors, 0 warnings.')
    expect(passed.stdout + passed.stderr).not.toContain('startsWith')
    const failed = await cli(root, ['validate', 'certs/*.pem', '--comment-on-pr'])
    expect(failed.code).toBe(1)
    expect(failed.stderr.trim().split('\n').at(-1)).toMatch(/^error: 1 error in 1 file/)
    // Inside Actions, but not on a pull_request event: a line, no crash.
    const push = await cli(root, ['validate', 'certs/good.pem', '--comment-on-pr=true'], { GITHUB_ACTIONS: 'true' })
    expect(push.code).toBe(0)
    expect(push.stdout).toContain('comment-on-pr: not a pull_request event (none); no comment.')
  })

  it('speaks flags, not workflow YAML: --fail-on, OPENAI_ADMIN_KEY, the validate command', async () => {
    const root = await workspace({ 'certs/good.pem': good })
    const warned = await cli(root, [
      'validate',
      'certs/good.pem',
      '--expiry-warning-days',
      '4000',
      '--fail-on',
      'warning'
    ])
    expect(warned.code).toBe(1)
    expect(warned.stderr).toContain(
      "and '--fail-on warning': fix the certificates annotated above, or set '--fail-on error'."
    )
    const keyless = await cli(root, ['plan', 'certs/good.pem'])
    expect(keyless.code).toBe(2)
    expect(keyless.stderr).toContain(
      "needs an OpenAI admin key: set the OPENAI_ADMIN_KEY environment variable, or use the 'validate' command for offline checks."
    )
    expect(keyless.stderr + warned.stderr).not.toMatch(/\$\{\{|'fail-on:|'mode:/)
    const path = await cli(root, ['validate', 'certs/good.pem', '--client-certificate', 'certs/good.pem'])
    expect(path.code).toBe(2)
    expect(path.stderr).toContain(
      `'--client-certificate' takes the PEM text, not a file name: pass the file's content, e.g. --client-certificate "$(cat certs/good.pem)".`
    )
  })

  it('--json prints the outputs as one JSON object; --summary writes the Markdown summary', async () => {
    const root = await workspace({ 'certs/good.pem': good, 'certs/leaf.pem': bad })
    const run = await cli(root, ['validate', 'certs/*.pem', '--json', '--summary', 'summary.md', '--label', 'acme'])
    expect(run.code).toBe(1)
    const json = JSON.parse(run.stdout)
    expect(json['has-changes']).toBe(false)
    expect(json.counts).toMatchObject({ found: 2, valid: 1, invalid: 1, errors: 1 })
    expect(json.results.map((r: { status: string }) => r.status)).toEqual(['valid', 'invalid'])
    expect(json.error).toMatch(/^1 error in 1 file/)
    expect(json['next-expiry']).toMatch(/^\d{4}-\d\d-\d\dT/)
    // The log goes to stderr, so that stdout stays JSON.
    expect(run.stderr).toContain('Checked 2 files')
    const summary = await readFile(join(root, 'summary.md'), 'utf8')
    expect(summary).toMatch(/^## OpenAI certificates \(acme\): validate\n/)
    expect(summary).toContain('| ❌ | CN=Leaf | `certs/leaf.pem:1` |')
    expect(summary).toContain('```mermaid\n%%{init: {"gantt": {"leftPadding": 170}}}%%\ngantt\n')
  })

  it('maps any --flag to the action.yml input of that name, so an input added later needs no CLI change', async () => {
    const root = await workspace({ 'certs/good.pem': good })
    const warned = await cli(root, ['validate', 'certs/good.pem', '--expiry-warning-days', '400', '--fail-on=warning'])
    expect(warned.code).toBe(1)
    expect(warned.stderr).toMatch(/^warning: certs\/good\.pem:1: .*\[expires-soon\]$/m)

    // A copy of the package whose action.yml has one more input.
    const copy = await mkdtemp(join(tmpdir(), 'cli-package-'))
    await cp(join(ROOT, 'dist'), join(copy, 'dist'), { recursive: true })
    await cp(join(ROOT, 'bin'), join(copy, 'bin'), { recursive: true })
    const yml = await readFile(join(ROOT, 'action.yml'), 'utf8')
    await writeFile(
      join(copy, 'action.yml'),
      yml.replace('\ninputs:\n', "\ninputs:\n  brand-new:\n    description: An input added later.\n    default: ''\n")
    )
    const bin = join(copy, 'bin', 'openai-certificates.js')
    try {
      expect((await cli(root, ['validate', 'certs/good.pem', '--brand-new', 'x'], {}, bin)).code).toBe(0)
      expect((await cli(root, ['validate', 'certs/good.pem', '--brand-new', 'x'])).code).toBe(2)
    } finally {
      await rm(copy, { recursive: true, force: true })
    }
  })

  it('is the action’s one bundle: the bin runs through npm’s .bin link, and dist/index.js alone is the action', async () => {
    const root = await workspace({ 'certs/good.pem': good })
    // npm installs the bin as a link in node_modules/.bin; Node follows it to bin/ and then dist/.
    await mkdir(join(root, 'node_modules', '.bin'), { recursive: true })
    const link = join(root, 'node_modules', '.bin', 'openai-certificates')
    await symlink(join(ROOT, 'bin', 'openai-certificates.js'), link)
    const viaLink = await cli(root, ['validate', 'certs/good.pem'], {}, link)
    expect(viaLink.code).toBe(0)
    expect(viaLink.stdout).toContain('Checked 1 file, 1 certificate: 1 valid; 0 errors, 0 warnings.')

    // The same arguments given to dist/index.js start the action, which reads only INPUT_* variables.
    const action = await cli(root, ['validate', 'certs/good.pem'], {}, join(ROOT, 'dist', 'index.js'))
    expect(action.code).toBe(1)
    expect(action.stdout).toContain(
      "::error::Input 'files' is empty: give one glob pattern per line, e.g. certs/*.pem."
    )
    const asRunner = await validate(root)
    expect(asRunner.code).toBe(0)
    expect(asRunner.outputs['counts']).toContain('"valid":1')

    // One set of chunks, one licence list: no second bundle.
    const entries = await readdir(join(ROOT, 'dist'))
    expect(entries.filter((f) => !/^(\d+\.)?index\.js$/.test(f)).sort()).toEqual(['licenses.txt', 'package.json'])
  })

  it('ships what the bin needs: npm pack includes bin/, every file of dist/ and action.yml', async () => {
    const npm = spawn(
      process.platform === 'win32' ? 'npm.cmd' : 'npm',
      ['pack', '--dry-run', '--json', '--ignore-scripts'],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir() }
      }
    )
    let stdout = ''
    npm.stdout.on('data', (chunk) => (stdout += chunk))
    expect(await new Promise((resolve) => npm.on('close', resolve))).toBe(0)
    const packed = new Set((JSON.parse(stdout) as { files: { path: string }[] }[])[0].files.map((f) => f.path))
    const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }
    const needed = [
      ...Object.values(manifest.bin).map((file) => file.replace(/^\.\//, '')),
      ...(await readdir(join(ROOT, 'dist'))).map((file) => `dist/${file}`),
      'action.yml'
    ]
    expect(needed.filter((file) => !packed.has(file))).toEqual([])
  })

  it('--prune-retired takes its value and --managed-names repeats: plan shows the retired certificate', async () => {
    emulator = await startEmulator()
    const stored = emulator.seed((await makeCa({ cn: 'Old' })).pem, 'team-old')
    const root = await workspace({ 'certs/team-new.pem': good })
    const env = { OPENAI_ADMIN_KEY: emulator.adminKey }
    const args = ['plan', 'certs/*.pem', '--base-url', emulator.baseUrl, '--managed-names', 'billing-*']
    const run = await cli(root, [...args, '--managed-names', 'team-*', '--prune-retired', 'all', '--json'], env)
    expect(run.code).toBe(0)
    const outputs = JSON.parse(run.stdout) as { changes: { action: string; id: string; reason: string }[] }
    const changes = outputs.changes
    expect(changes.filter((c) => c.action === 'delete')).toEqual([
      expect.objectContaining({ id: stored.id, reason: expect.stringContaining("name matches 'team-*'") })
    ])
    const missing = await cli(root, [...args, '--prune-retired'], env)
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/--prune-retired' needs a value/)
  })

  it('publish and plan against the emulator, with the admin key from OPENAI_ADMIN_KEY', async () => {
    emulator = await startEmulator()
    const root = await workspace({ 'certs/good.pem': good })
    const env = { OPENAI_ADMIN_KEY: emulator.adminKey }
    const publish = await cli(
      root,
      ['publish', 'certs/*.pem', '--base-url', emulator.baseUrl, '--name', '{cn}', '--json'],
      env
    )
    expect(publish.code).toBe(0)
    expect(emulator.certificates.map((c) => c.name)).toEqual(['Good Root'])
    const outputs = JSON.parse(publish.stdout)
    expect(outputs['uploaded-ids']).toEqual([emulator.certificates[0].id])
    expect(outputs['has-changes']).toBe(true)
    expect(publish.stderr).not.toContain(emulator.adminKey)

    const plan = await cli(root, ['plan', 'certs/*.pem', '--base-url', emulator.baseUrl], env)
    expect(plan.code).toBe(0)
    expect(plan.stdout).toContain('Nothing to change: the organization already matches the files.')
    expect(plan.stdout).toMatch(/^✅ existing +certs\/good\.pem:1/m)

    // A refused write is exit 1.
    emulator.faults.push({ method: 'POST', path: '/organization/certificates', status: 400, times: 10 })
    const other = await workspace({ 'certs/other.pem': (await makeCa({ cn: 'Other' })).pem })
    const refused = await cli(other, ['publish', 'certs/*.pem', '--base-url', emulator.baseUrl], env)
    expect(refused.code).toBe(1)
    expect(emulator.certificates).toHaveLength(1)
  })

  // util-linux's script(1) gives the CLI a terminal; where it is missing, this test is skipped.
  const onTerminal = existsSync('/usr/bin/script') ? it : it.skip
  onTerminal('colours its problems on a terminal, unless NO_COLOR is set', async () => {
    const root = await workspace({ 'leaf.pem': bad })
    const command = `'${process.env.ACTION_NODE || process.execPath}' '${join(ROOT, 'bin', 'openai-certificates.js')}' validate leaf.pem`
    const terminal = (env: Record<string, string>) =>
      new Promise<string>((resolve) => {
        let out = ''
        const child = spawn('/usr/bin/script', ['-qec', command, '/dev/null'], {
          cwd: root,
          env: { PATH: process.env.PATH ?? '', ...env }
        })
        child.stdout.on('data', (chunk) => (out += chunk))
        child.on('close', () => resolve(out))
      })
    expect(await terminal({})).toContain('\u001b[31merror: leaf.pem:1:')
    const plain = await terminal({ NO_COLOR: '1' })
    expect(plain).toContain('error: leaf.pem:1:')
    expect(plain).not.toContain('\u001b[')
  })
})
