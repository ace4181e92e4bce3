// Text a pull request controls (file names, certificate names, symbolic links, file contents) can
// neither start a workflow command, nor learn the runner's files, nor inject Markdown: each attack
// tried through the bundled action, as a security tester found them.
import 'reflect-metadata'
import { generateKeyPairSync, webcrypto } from 'node:crypto'
import { mkdir, symlink, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import * as x509 from '@peculiar/x509'
import { makeCa } from '../tools/certs.mjs'
import type { Emulator } from '../tools/emulator.mjs'
import { type ActionRun, runAction } from '../tools/run-action.mjs'
import { commands, emulators, publishTo, validate, workspace } from './helpers.js'

x509.cryptoProvider.set(webcrypto as unknown as Crypto)
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }

/** A self-signed CA whose common name is any string, newlines and Markdown included. */
async function caNamed(cn: string): Promise<string> {
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01' + Date.now().toString(16),
    name: [{ CN: [cn] }, { O: ['tests'] }],
    notBefore: new Date(Date.now() - 86400000),
    notAfter: new Date(Date.now() + 300 * 86400000),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey)
    ]
  })
  return cert.toString('pem') + '\n'
}

/**
 * Every line of the output that the runner would run as a workflow command and that the text
 * planted below forged (the runner splits at CR and LF and trims a line's start).
 */
const forged = (run: ActionRun): string[] =>
  run.stdout
    .split(/\r\n|\r|\n/)
    .map((line) => line.trimStart())
    .filter((line) => /^::(warning title=INJECTED|add-mask::Fine|stop-commands)/.test(line) || line.includes('##['))

describe('no untrusted text starts a workflow command', () => {
  let emulator: Emulator
  const startEmulator = emulators('file')
  beforeAll(async () => {
    emulator = await startEmulator()
  })

  const injected = '\n  ::warning title=INJECTED::forged\r::add-mask::Fine\n::stop-commands::x\n##[add-mask]CA\n'

  it.each(['validate', 'publish'])('%s: a file name with newlines prints escaped and forges nothing', async (mode) => {
    const root = await workspace({})
    await mkdir(join(root, 'certs'))
    await writeFile(join(root, 'certs', `ca${injected}.pem`), (await makeCa({ cn: 'Fine CA' })).pem)
    const run = await publishTo(emulator, root, { mode }, { env: { RUNNER_DEBUG: '1' } })
    expect(run.code).toBe(0)
    expect(forged(run)).toEqual([])
    expect(run.stdout).toContain('certs/ca\\n  ::warning title=INJECTED::forged\\r::add-mask::Fine\\n')
  })

  it('publish: a certificate name with newlines (name {cn}) forges nothing either', async () => {
    const root = await workspace({ 'certs/ca.pem': await caNamed(`Fine${injected}CA`) })
    const run = await publishTo(emulator, root, { name: '{cn}' }, { env: { RUNNER_DEBUG: '1' } })
    expect(run.code).toBe(0)
    expect(forged(run)).toEqual([])
    expect(run.stdout).toMatch(/^\s*\\::warning title=INJECTED/m)
  })
})

describe('a link out of the workspace names nothing outside it', () => {
  it('names the link, not where it leads nor the files there', async () => {
    const root = await workspace({ 'certs/ok.pem': (await makeCa({ cn: 'Inside' })).pem })
    const outside = await workspace({}, 'runner-home-')
    await mkdir(join(outside, '.ssh'))
    await writeFile(join(outside, '.ssh', 'id_ed25519_deploy_prod'), 'x')
    await writeFile(join(outside, '.ssh', 'known_hosts'), 'x')
    await symlink(outside, join(root, 'certs', 'home'))
    const run = await validate(root, { files: 'certs/**' })
    expect(run.code).toBe(1)
    const text = run.stdout + run.summary + JSON.stringify(run.outputs)
    expect(commands(run, 'error').at(-1)?.message).toMatch(
      /^certs\/home is a symbolic link that leads outside the workspace: /
    )
    for (const leak of [outside, '.ssh', 'id_ed25519', 'known_hosts', '1 more']) expect(text).not.toContain(leak)
  })

  it.each([
    ['a link to itself', 'certs/**/*.pem', 'certs/a.pem is a symbolic link that loops (ELOOP)'],
    [
      'a pattern through a file',
      'certs/ok.pem/x',
      'certs/ok.pem/x goes through a file as if it were a folder (ENOTDIR)'
    ]
  ])('%s: one clean error naming the workspace path', async (_, files, message) => {
    const root = await workspace({ 'certs/ok.pem': (await makeCa({ cn: 'Inside' })).pem })
    await symlink('a.pem', join(root, 'certs', 'a.pem'))
    const run = await validate(root, { files })
    expect(run.code).toBe(1)
    expect(commands(run, 'error').map((c) => c.message)).toEqual([
      `${message}: fix or remove it, or exclude it with a '!' pattern.`
    ])
    expect(run.stdout).not.toContain('Unexpected error')
  })
})

describe('a summary and outputs GitHub would drop are cut to fit', () => {
  it('1 MiB of empty blocks: the summary stays under 1 MiB in bytes, `results` under 1 MB, and both say so', async () => {
    const block = '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n'
    const root = await workspace({ 'certs/many.pem': block.repeat(Math.floor((1024 * 1024) / block.length) - 1) })
    const run = await validate(root)
    expect(run.code).toBe(1)
    expect(Buffer.byteLength(run.summary)).toBeLessThanOrEqual(1024 * 1024 - 2)
    expect(run.summary).toContain('… cut here: the job summary is limited to 1 MiB')
    expect(Buffer.byteLength(run.outputs.results)).toBeLessThanOrEqual(1000 * 1000)
    const kept = (JSON.parse(run.outputs.results) as unknown[]).length
    expect(kept).toBeGreaterThan(1000)
    const note = new RegExp(
      `The .results. output holds the first ${kept} of \\d+ entries: GitHub limits an output to 1 MB`
    )
    expect(run.summary).toMatch(note)
    // A log this long (tens of thousands of lines through a pipe) reaches its end: the note, and the
    // one error line last.
    expect(run.stdout).toMatch(note)
    expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(/^::error::\d+ errors in 1 file: fix the certificates/)
  }, 60_000)
})

describe('names in the summary and the PR comment are shown, never rendered', () => {
  it('a Markdown link, an image, HTML and backticks in a name or a file name stay text', async () => {
    const root = await workspace({})
    await mkdir(join(root, 'certs'))
    await writeFile(
      join(root, 'certs', 'x`\n\n# INJECTED HEADING ![t](https:∕∕tracker) <img src=x>\n.pem'),
      await caNamed('A | B <img src=x> [link](https://evil.attacker.example) ```')
    )
    const run = await validate(root)
    expect(run.code).toBe(0)
    const row = run.summary.split('\n').find((line) => line.startsWith('| ✅'))
    expect(row).toBeDefined()
    expect(row).toContain('\\[link\\](https://evil.attacker.example)')
    expect(row).toContain('&lt;img src=x')
    // The file name in a code span fenced longer than its backtick: HTML and links inside it are inert.
    expect(row).toContain('``certs/x`\\n\\n# INJECTED HEADING ![t](https:∕∕tracker) <img src=x>\\n.pem:1``')
    const span = row!.indexOf('``certs/x')
    const outsideCode = row!.slice(0, span) + row!.slice(row!.indexOf('.pem:1``') + 8)
    expect(outsideCode).not.toMatch(/<img|[^\\]\[link\]|!\[t\]|[^\\]``/)
    expect(run.summary).not.toMatch(/^#+ INJECTED/m)
  })
})

describe('a private key written as text beside a certificate is refused', () => {
  /** Bytes as OpenSSL's -text output prints them: hex pairs joined by colons, 15 a line. */
  const hexDump = (bytes: Buffer): string =>
    (bytes.toString('hex').match(/.{1,30}/g) ?? []).map((row) => `    ${row.match(/../g)!.join(':')}:`).join('\n')

  it.each([
    ['openssl pkey -text (EC)', 'Private-Key: (256 bit)\npriv:\n', 2],
    ['only the fields of an RSA key', 'modulus:\n    00:c3:5e\npublicExponent: 65537 (0x10001)\nprivateExponent:\n', 5]
  ])('%s: a private-key error at its line, the material never shown', async (_, header, line) => {
    const secret = Buffer.from(webcrypto.getRandomValues(new Uint8Array(32)))
    const ca = await makeCa({ cn: 'Beside a key' })
    const text = `# bundle\n${header}${hexDump(secret)}\nASN1 OID: prime256v1\n${ca.pem}`
    const run = await validate(await workspace({ 'certs/bundle.pem': text }))
    expect(run.code).toBe(1)
    const error = commands(run, 'error').find((c) => c.message.includes('[private-key]'))
    expect(error?.properties).toBe(`file=certs/bundle.pem,line=${line}`)
    expect(error?.message).toMatch(/private key written as text .*: a private key must never be published/)
    const shown = run.stdout + run.summary + JSON.stringify(run.outputs)
    expect(shown).not.toContain(
      secret
        .toString('hex')
        .slice(0, 2 * 15)
        .match(/../g)!
        .join(':')
    )
  })

  it("a certificate's own text (openssl x509 -text: Public-Key, pub) is fine", async () => {
    const ca = await makeCa({ cn: 'With its text' })
    const text = `Certificate:\n    Subject Public Key Info:\n        Public-Key: (256 bit)\n        pub:\n            04:fb:44\n${ca.pem}`
    const run = await validate(await workspace({ 'certs/ca.pem': text }))
    expect(run.code).toBe(0)
  })
})

describe('a secret echoed back in any form SECURITY.md names is removed', () => {
  const KEY = 'sk-admin-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789'
  const every = (encode: (c: string) => string): string => [...KEY].map(encode).join('')
  const forms: [string, string][] = [
    ['without its public prefix', KEY.slice('sk-admin-'.length)],
    ['its middle, cut at both ends', KEY.slice(15, 29)],
    ['its end', KEY.slice(-12)],
    ['hex', Buffer.from(KEY).toString('hex')],
    ['HEX', Buffer.from(KEY).toString('hex').toUpperCase()],
    ['base64url', Buffer.from(KEY).toString('base64url')],
    ['base64 at another alignment', Buffer.from(`x${KEY}`).toString('base64')],
    ['base64 of the Authorization header', Buffer.from(`Authorization: Bearer ${KEY}`).toString('base64')],
    ['every character percent-encoded', every((c) => `%${c.charCodeAt(0).toString(16)}`)],
    ['every character an HTML reference', every((c) => `&#${c.charCodeAt(0)};`)],
    ['every character a hex HTML reference', every((c) => `&#x${c.charCodeAt(0).toString(16)};`)]
  ]

  it.each(forms)('%s: in no log line, summary or output', async (_, payload) => {
    const server = createServer((request, response) => {
      response.writeHead(401, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ error: { message: `bad key ${payload}`, code: 'invalid_api_key' } }))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const root = await workspace({ 'certs/ca.pem': (await makeCa({ cn: 'Echo CA' })).pem })
      const run = await runAction({
        workspace: root,
        inputs: {
          files: 'certs/*.pem',
          mode: 'plan',
          'admin-api-key': KEY,
          'base-url': `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
          'max-retries': '0'
        },
        env: { RUNNER_DEBUG: '1' }
      })
      expect(run.code).toBe(1)
      const shown = [
        ...run.stdout.split('\n').filter((line) => !line.startsWith('::add-mask::')),
        run.stderr,
        run.summary,
        JSON.stringify(run.outputs)
      ].join('\n')
      expect(shown).toMatch(/bad key \S{0,40}\*\*\*/)
      expect(shown).not.toContain(payload)
      expect(shown).not.toContain(payload.slice(-14, -2))
    } finally {
      server.close()
    }
  })
})

describe('a private key with text on its BEGIN or END line is refused as a private key', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
  const keys: [string, string][] = [
    ['PRIVATE KEY', ec.export({ type: 'pkcs8', format: 'pem' }) as string],
    ['RSA PRIVATE KEY', rsa.export({ type: 'pkcs1', format: 'pem' }) as string],
    ['EC PRIVATE KEY', ec.export({ type: 'sec1', format: 'pem' }) as string],
    [
      'ENCRYPTED PRIVATE KEY',
      ec.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string
    ]
  ]
  /** How a key arrives pasted: after a YAML key, with a comment after END, on one line in a JSON string. */
  const layouts: [string, (pem: string) => string][] = [
    ['after text on its BEGIN line', (pem) => `key: ${pem}`],
    ['with text after its END line', (pem) => pem.trimEnd() + ' # the prod key\n'],
    ['on one line, in a JSON string', (pem) => `{"key": ${JSON.stringify(pem)}}\n`]
  ]
  const cases = keys.flatMap(([label, pem]) => layouts.map(([layout, paste]) => ({ label, layout, pem, paste })))

  it.each(cases)(
    '$label $layout: the private-key error at its line, with its advice, never echoed',
    async ({ pem, paste }) => {
      const ca = await makeCa({ cn: 'Beside a pasted key' })
      const run = await validate(await workspace({ 'certs/bundle.pem': `${ca.pem}# pasted\n${paste(pem)}` }))
      expect(run.code).toBe(1)
      const errors = commands(run, 'error').filter((c) => c.properties.startsWith('file=certs/bundle.pem'))
      expect(errors.map((e) => /\[([a-z-]+)\]$/.exec(e.message)?.[1])).toEqual(['private-key'])
      expect(errors[0].properties).toBe(`file=certs/bundle.pem,line=${ca.pem.trimEnd().split('\n').length + 2}`)
      expect(errors[0].message).toMatch(
        /a private key must never be published\. Remove it from certs\/bundle\.pem and treat the key as leaked/
      )
      const shown = run.stdout + run.stderr + run.summary + JSON.stringify(run.outputs)
      for (const line of pem.split('\n').filter((l) => /^[A-Za-z0-9+/=]{40,}$/.test(l)))
        expect(shown).not.toContain(line.slice(0, 24))
    }
  )
})
