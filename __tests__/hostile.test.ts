// Broken and hostile input, run through the bundled action: every case must stop the run before
// any request, with one annotation on the right file and line, no stack trace and no key material.
import { execFileSync, spawn } from 'node:child_process'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { mkdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import fc from 'fast-check'
import { DAY, makeCa } from '../tools/certs.mjs'
import type { Emulator } from '../tools/emulator.mjs'
import { ROOT } from '../tools/run-action.mjs'
import { parseFile } from '../src/certificates/files.js'
import { toPem } from '../src/certificates/x509.js'
import { commands, emulators, publishTo, results, validate, workspace } from './helpers.js'

let emulator: Emulator
const startEmulator = emulators('file')
beforeAll(async () => {
  emulator = await startEmulator()
})
beforeEach(() => {
  emulator.requests.length = 0
})

const block = (label: string, body: string): string => `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`
const base64Lines = (bytes: Uint8Array): string =>
  Buffer.from(bytes)
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })

interface Case {
  name: string
  content: () => Promise<string | Buffer>
  check: string
  /** The line of the first problem, or how to find it in the content. */
  line: number | ((content: string) => number)
  /** Text that must never appear in anything the action writes. */
  secret?: (content: string) => string
  /** Inputs beyond the defaults (e.g. the earlier help article's rules). */
  inputs?: Record<string, string>
}

const lineOf =
  (marker: string) =>
  (content: string): number =>
    content.split('\n').findIndex((l) => l.startsWith(marker)) + 1
const keyBody = (content: string): string =>
  content
    .split('\n')
    .find((l) => /^[A-Za-z0-9+/]{40,}/.test(l))!
    .slice(0, 40)

const cases: Case[] = [
  { name: 'an empty file', content: async () => '', check: 'no-certificate', line: 1 },
  { name: 'whitespace only', content: async () => ' \n\t\n  \r\n', check: 'no-certificate', line: 1 },
  { name: 'text only', content: async () => 'Our CA lives in the vault.\n', check: 'no-certificate', line: 1 },
  {
    name: 'truncated base64',
    content: async () => {
      const lines = (await makeCa()).pem.split('\n')
      return [...lines.slice(0, -4), lines.at(-2)!, ''].join('\n')
    },
    check: 'bad-der',
    line: 1
  },
  {
    name: 'bad base64 characters',
    content: async () => (await makeCa()).pem.replace(/\n(.{10})/, '\n$1!'),
    check: 'pem-syntax',
    line: 2
  },
  {
    name: 'padding in the middle',
    content: async () => block('CERTIFICATE', 'MIIB==MIIB'),
    check: 'pem-syntax',
    line: 2
  },
  {
    name: 'a header in a certificate block',
    content: async () => `\n${block('CERTIFICATE', 'Proc-Type: 4,ENCRYPTED\nMIIB')}`,
    check: 'pem-syntax',
    line: 3
  },
  {
    name: 'a missing END',
    content: async () => (await makeCa()).pem.replace('-----END CERTIFICATE-----', ''),
    check: 'pem-syntax',
    line: 1
  },
  {
    name: 'an END without BEGIN',
    content: async () => `notes\n${(await makeCa()).pem.replace('-----BEGIN CERTIFICATE-----\n', '')}`,
    check: 'pem-syntax',
    line: lineOf('-----END')
  },
  {
    name: 'mismatched BEGIN/END labels',
    content: async () => (await makeCa()).pem.replace('END CERTIFICATE', 'END X509 CRL'),
    check: 'pem-syntax',
    line: 1
  },
  {
    name: 'a nested BEGIN',
    content: async () => {
      const pem = (await makeCa()).pem
      return pem.replace('-----END CERTIFICATE-----\n', '') + pem
    },
    check: 'pem-syntax',
    line: 1
  },
  { name: 'an empty certificate block', content: async () => block('CERTIFICATE', ''), check: 'pem-syntax', line: 1 },
  {
    name: 'valid base64 of bytes that are not DER',
    content: async () => block('CERTIFICATE', base64Lines(randomBytes(300).fill(0x41, 0, 1))),
    check: 'bad-der',
    line: 1
  },
  {
    name: 'DER of something that is not a certificate',
    content: async () =>
      block('CERTIFICATE', base64Lines(Buffer.from([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02]))),
    check: 'bad-der',
    line: 1
  },
  {
    name: 'DER with trailing bytes',
    content: async () => toPem(Buffer.concat([Buffer.from((await makeCa()).der), Buffer.from('trailing')])),
    check: 'bad-der',
    line: 1
  },
  {
    name: 'a certificate with absurd dates',
    content: async () =>
      (await makeCa({ notBefore: new Date('2099-01-01T00:00:00Z'), notAfter: new Date('2000-01-01T00:00:00Z') })).pem,
    check: 'expired',
    line: 1
  },
  {
    name: 'an expired certificate',
    content: async () =>
      (await makeCa({ notBefore: new Date(Date.now() - 400 * DAY), notAfter: new Date(Date.now() - 30 * DAY) })).pem,
    check: 'expired',
    line: 1
  },
  {
    name: 'a certificate that is not a CA',
    content: async () => (await makeCa({ ca: false })).pem,
    check: 'not-ca',
    line: 1
  },
  {
    name: 'a CA without Subject Key Identifier (ca-rules: strict)',
    content: async () => (await makeCa({ ski: false })).pem,
    check: 'no-ski',
    line: 1,
    inputs: { 'ca-rules': 'strict' }
  },
  {
    name: 'a CA without Authority Key Identifier (ca-rules: strict)',
    content: async () => (await makeCa({ aki: false })).pem,
    check: 'no-aki',
    line: 1,
    inputs: { 'ca-rules': 'strict' }
  },
  {
    name: 'a CA whose key usage cannot sign CRLs (ca-rules: strict)',
    content: async () => (await makeCa({ keyUsage: 32 })).pem,
    check: 'key-usage',
    line: 1,
    inputs: { 'ca-rules': 'strict' }
  },
  {
    name: 'a CA of 16 KB or more (ca-rules: strict)',
    content: async () => (await makeCa({ padding: 'x'.repeat(13000) })).pem,
    check: 'too-large',
    line: 1,
    inputs: { 'ca-rules': 'strict' }
  },
  {
    name: 'an RSA private key (PKCS#1)',
    content: async () => rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string,
    check: 'private-key',
    line: 1,
    secret: keyBody
  },
  {
    name: 'an encrypted RSA private key with PEM headers',
    content: async () =>
      rsa.privateKey.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string,
    check: 'private-key',
    line: 1,
    secret: keyBody
  },
  {
    name: 'an EC private key (SEC1)',
    content: async () => ec.privateKey.export({ type: 'sec1', format: 'pem' }) as string,
    check: 'private-key',
    line: 1,
    secret: keyBody
  },
  {
    name: 'a PKCS#8 private key',
    content: async () => ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    check: 'private-key',
    line: 1,
    secret: keyBody
  },
  {
    name: 'an encrypted PKCS#8 private key',
    content: async () =>
      rsa.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string,
    check: 'private-key',
    line: 1,
    secret: keyBody
  },
  {
    name: 'an OpenSSH private key',
    content: async () =>
      block('OPENSSH PRIVATE KEY', base64Lines(Buffer.concat([Buffer.from('openssh-key-v1\0'), randomBytes(200)]))),
    check: 'private-key',
    line: 1,
    secret: keyBody
  },
  {
    name: 'a CA followed by its private key',
    content: async () => {
      const ca = await makeCa()
      return ca.pem + (ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string)
    },
    check: 'private-key',
    line: lineOf('-----BEGIN PRIVATE KEY'),
    secret: keyBody
  },
  {
    name: 'a certificate request',
    content: async () => block('CERTIFICATE REQUEST', base64Lines(randomBytes(200))),
    check: 'not-a-certificate',
    line: 1
  },
  {
    name: 'a CRL',
    content: async () => block('X509 CRL', base64Lines(randomBytes(200))),
    check: 'not-a-certificate',
    line: 1
  },
  {
    name: 'a CA whose key usage cannot sign certificates',
    content: async () => (await makeCa({ keyUsage: 64 })).pem,
    check: 'key-usage',
    line: 1
  },
  {
    name: 'a PKCS#7 block of random bytes',
    content: async () => block('PKCS7', base64Lines(randomBytes(200))),
    check: 'bad-der',
    line: 1
  },
  {
    name: 'a TRUSTED CERTIFICATE block of random bytes',
    content: async () => `text\n${block('TRUSTED CERTIFICATE', base64Lines(randomBytes(200)))}`,
    check: 'bad-der',
    line: 2
  },
  {
    name: 'a public key',
    content: async () => ec.publicKey.export({ type: 'spki', format: 'pem' }) as string,
    check: 'not-a-certificate',
    line: 1
  },
  {
    name: 'a binary DER file that is not a certificate',
    content: async () => Buffer.from([0x30, 0x03, 0x02, 0x01, 0x05]),
    check: 'bad-der',
    line: 1
  },
  {
    name: 'a private key in binary DER',
    content: async () => ec.privateKey.export({ type: 'pkcs8', format: 'der' }),
    check: 'private-key',
    line: 1
  },
  {
    name: 'a UTF-16 file',
    content: async () => Buffer.from(`\ufeff${(await makeCa()).pem}`, 'utf16le'),
    check: 'no-certificate',
    line: 1
  },
  {
    name: 'a certificate with a duplicated extension',
    content: async () => {
      // Key Usage twice (both right): RFC 5280 forbids it whatever the values.
      const { buildCertificate, ext, makeKeys } = await import('./corpus.js')
      const keys = makeKeys('p256')
      const der = buildCertificate({ keys, extensions: [ext.ca(), ext.keyUsage(), ext.keyUsage()] })
      return toPem(der)
    },
    check: 'duplicate-extension',
    line: 1
  },
  {
    name: 'a file that is not UTF-8',
    content: async () => Buffer.from([0x2d, 0x2d, 0xc3, 0x28, 0xff, 0xfe, 0x0a]),
    check: 'no-certificate',
    line: 1
  },
  { name: 'a 5 MB file', content: async () => Buffer.alloc(5 * 1024 * 1024, 'A'), check: 'file-too-large', line: 1 }
]

describe('a CA issued without basicConstraints', () => {
  it('a v1 self-signed root is told to be reissued with basicConstraints, not to upload another CA', async () => {
    const { buildCertificate, makeKeys } = await import('./corpus.js')
    const { Version } = await import('@peculiar/asn1-x509')
    const der = buildCertificate({ keys: makeKeys('p256'), extensions: [], version: Version.v1 })
    const root = await workspace({ 'certs/v1.pem': toPem(der) })
    const run = await validate(root)
    expect(run.code).toBe(1)
    const notCa = commands(run, 'error').find((e) => e.message.endsWith('[not-ca]'))
    expect(notCa?.message).toMatch(
      /^certs\/v1\.pem:1: Certificate 1 \(CN=Corpus CA\) has no basicConstraints extension \(it is a v1 certificate, which has no extensions\), so .* will not let it sign client certificates: reissue it with basicConstraints=critical,CA:TRUE /
    )
    expect(notCa?.message).not.toContain('not a client certificate')
  })
})

describe('hostile and broken input, through the bundled action', () => {
  it('has at least 30 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30)
  })

  it.each(cases.map((c) => [c.name, c] as const))('stops on %s', async (_, testCase) => {
    const content = await testCase.content()
    const line = typeof testCase.line === 'number' ? testCase.line : testCase.line(content.toString())
    const root = await workspace({ 'certs/a-good.pem': (await makeCa({ cn: 'Good' })).pem, 'certs/bad.pem': content })
    const run = await publishTo(emulator, root, testCase.inputs)
    expect(run.code).toBe(1)
    expect(emulator.requests).toEqual([])
    const errors = commands(run, 'error')
    expect(errors[0]).toEqual({
      properties: `file=certs/bad.pem,line=${line}`,
      message: expect.stringMatching(new RegExp(`^certs/bad\\.pem:${line}: .*\\[${testCase.check}\\]$`))
    })
    expect(errors.at(-1)!.message).toMatch(/^1 error in 1 file, so nothing was changed/)
    const bad = results(run).filter((r) => r.file === 'certs/bad.pem')
    expect(bad.flatMap((r) => r.problems.map((p) => p.check))).toContain(testCase.check)
    expect(bad.some((r) => r.status === 'invalid')).toBe(true)
    const everything = run.stdout + run.stderr + run.summary + JSON.stringify(run.outputs)
    expect(everything).not.toMatch(/\n\s+at .*:\d+:\d+/)
    if (testCase.secret) expect(everything).not.toContain(testCase.secret(content.toString()))
  })
})

describe('awkward files and patterns', () => {
  it('reads a file whose name has spaces and unicode, and annotates it by that name', async () => {
    const root = await workspace({ 'certs/Zertifikat für München.pem': (await makeCa({ ca: false })).pem })
    const run = await validate(root, { files: 'certs/**' })
    expect(run.code).toBe(1)
    expect(results(run)[0].file).toBe('certs/Zertifikat für München.pem')
    expect(commands(run, 'error')[0].properties).toBe('file=certs/Zertifikat für München.pem,line=1')
  })

  it('goes into a directory that matches the pattern instead of failing on it', async () => {
    const root = await workspace({
      'certs/team.pem/ca.pem': (await makeCa()).pem,
      'certs/root.pem': (await makeCa()).pem
    })
    const run = await validate(root, { files: 'certs/*.pem' })
    expect(run.code).toBe(0)
    expect(results(run).map((r) => r.file)).toEqual(['certs/root.pem', 'certs/team.pem/ca.pem'])
  })

  it('refuses a broken symbolic link by name', async () => {
    const root = await workspace({ 'certs/ok.pem': (await makeCa()).pem })
    await symlink(join(root, 'nowhere.pem'), join(root, 'certs', 'gone.pem'))
    const run = await validate(root, { files: 'certs/**' })
    expect(run.code).toBe(1)
    expect(commands(run, 'error').at(-1)!.message).toBe(
      "certs/gone.pem is a broken symbolic link: fix or remove it, or exclude it with a '!' pattern."
    )
  })

  it('refuses a named pipe among the matched files instead of reading it forever', async () => {
    const root = await workspace({ 'certs/a.pem': (await makeCa()).pem })
    execFileSync('mkfifo', [join(root, 'certs', 'b.pem')])
    const run = await validate(root, { files: 'certs/**' })
    expect(run.code).toBe(1)
    const errors = commands(run, 'error')
    expect(errors[0]).toEqual({
      properties: 'file=certs/b.pem,line=1',
      message: expect.stringContaining('This is not a regular file (a named pipe, socket or device)')
    })
    expect(results(run).map((r) => [r.file, r.status])).toEqual([
      ['certs/a.pem', 'valid'],
      ['certs/b.pem', 'invalid']
    ])
  })

  it('refuses files outside the workspace', async () => {
    const outer = await workspace({ 'outside/ca.pem': (await makeCa()).pem })
    const root = join(outer, 'repo')
    await mkdir(join(root, 'certs'), { recursive: true })
    const run = await validate(root, { files: '../outside/*.pem' })
    expect(run.code).toBe(1)
    expect(commands(run, 'error').at(-1)!.message).toBe(
      "Input 'files' has the pattern '../outside/*.pem', which leads outside the workspace: give patterns relative to the repository's root, e.g. certs/*.pem."
    )
  })

  it('refuses a pattern that leaves the workspace before walking there: nothing outside is named', async () => {
    const outer = await workspace({ 'outside/ca.pem': (await makeCa()).pem })
    // A broken link outside: walking there would report it by name.
    await symlink(join(outer, 'outside', 'nowhere'), join(outer, 'outside', 'broken.pem'))
    const root = join(outer, 'repo')
    await mkdir(join(root, 'certs'), { recursive: true })
    for (const files of ['../outside/*', `${outer}/outside/**`, 'certs/../../outside/*.pem']) {
      const run = await validate(root, { files })
      expect(run.code).toBe(1)
      const log = JSON.stringify(run.stdout)
      expect(log).not.toContain('broken')
      expect(log).not.toContain('ca.pem')
      expect(commands(run, 'error').at(-1)!.message).toMatch(
        /^Input 'files' has the pattern '.*', which leads outside the workspace: /
      )
    }
    // An exclude may name anything; a pattern that only passes through '..' and comes back is fine.
    await writeFile(join(root, 'certs', 'ca.pem'), (await makeCa()).pem)
    const inside = await validate(root, { files: 'certs/../certs/*.pem\n!../outside/**' })
    expect(inside.code).toBe(0)
  })

  it('handles thousands of files', async () => {
    const distinct = await Promise.all(Array.from({ length: 20 }, (_, i) => makeCa({ cn: `CA ${i}` })))
    const root = await workspace({})
    await mkdir(join(root, 'certs'))
    await Promise.all(
      Array.from({ length: 2000 }, (_, i) =>
        writeFile(join(root, 'certs', `ca-${String(i).padStart(4, '0')}.pem`), distinct[i % 20].pem)
      )
    )
    const run = await validate(root, { files: 'certs/**' })
    expect(run.code).toBe(0)
    expect(results(run)).toHaveLength(2000)
    expect(new Set(results(run).map((r) => r.fingerprint)).size).toBe(20)
    expect(visibleCount(run.stdout)).toMatch(/Checked 2000 files, 2000 certificates \(20 distinct\): 20 valid/)
  })

  it('keeps the end of a long log when the runner reads it slowly', async () => {
    const ca = await makeCa()
    const root = await workspace(
      Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`certs/c${i}.pem`, ca.pem]))
    )
    const child = spawn(process.env.ACTION_NODE || process.execPath, [join(ROOT, 'dist', 'index.js')], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', GITHUB_WORKSPACE: root, INPUT_FILES: 'certs/*.pem', INPUT_MODE: 'validate' }
    })
    // A full pipe: nothing is read until the action has had time to finish writing.
    child.stdout.pause()
    let stdout = ''
    setTimeout(() => {
      child.stdout.on('data', (chunk) => (stdout += chunk))
      child.stdout.resume()
    }, 1500)
    const code = await new Promise((resolve) => child.on('close', resolve))
    expect(code).toBe(0)
    expect(visibleCount(stdout)).toMatch(/^Checked 1500 files, 1500 certificates \(1 distinct\): 1 valid/)
  })
})

const visibleCount = (stdout: string): string => stdout.split('\n').find((l) => l.startsWith('Checked')) ?? ''

describe('parseFile on mutated PEM (property)', () => {
  it('never throws and always accounts for every BEGIN line', async () => {
    const pem = (await makeCa()).pem + (await makeCa()).pem
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.string({ maxLength: 8 }) }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
      fc.record({
        kind: fc.constant('replace' as const),
        at: fc.nat(),
        text: fc.constantFrom(
          '-',
          '=',
          '\n',
          '\r',
          ' ',
          '*',
          '-----BEGIN CERTIFICATE-----\n',
          '-----END CERTIFICATE-----\n',
          '\u0000',
          '\ufeff',
          'é'
        )
      })
    )
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (mutations) => {
        let text = pem
        for (const m of mutations) {
          const at = m.at % (text.length + 1)
          if (m.kind === 'insert') text = text.slice(0, at) + m.text + text.slice(at)
          else if (m.kind === 'delete') text = text.slice(0, at) + text.slice(at + m.length)
          else text = text.slice(0, at) + m.text + text.slice(at + 1)
        }
        const parsed = parseFile('m.pem', Buffer.from(text, 'utf8'))
        // Every block is either a certificate or rejected with a problem; nothing is lost quietly.
        expect(parsed.certificates.length + parsed.rejected.length).toBe(parsed.blocks)
        const begins = text.split(/\r\n|\n|\r/).filter((l) => /^-----BEGIN ([^-]*)-----$/.test(l.trim())).length
        expect(parsed.blocks).toBe(begins)
        if (parsed.certificates.length === 0) expect(parsed.problems.some((p) => p.severity === 'error')).toBe(true)
      }),
      { numRuns: 400 }
    )
  })

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        const parsed = parseFile('b.bin', bytes)
        expect(parsed.problems.length + parsed.certificates.length).toBeGreaterThan(0)
      }),
      { numRuns: 300 }
    )
  })
})
