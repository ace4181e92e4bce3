// Where the admin key may go (host classification, base URL rules) and the redactor, as units.
// security.test.ts proves the same promises through the bundled action.
import { generateKeyPairSync } from 'node:crypto'
import fc from 'fast-check'
import { chooseBaseUrl, getSettings, isLoopbackHost, isOpenAiHost, parseBaseUrl } from '../src/github/inputs.js'
import { redact, redacting } from '../src/github/redact.js'
import type { Place, Runner } from '../src/github/runner.js'

const hostOf = (url: string): string => new URL(url).hostname

describe('host classification', () => {
  it.each([
    'http://127.0.0.1/',
    'http://127.1.2.3:8080/',
    'http://127.255.255.254/',
    'http://127.1/', // the URL parser reads IPv4 shorthand as 127.0.0.1
    'http://0x7f.0.0.1/',
    'http://2130706433/',
    'http://[::1]/',
    'http://[0:0:0:0:0:0:0:1]/',
    'http://localhost:1234/',
    'http://LOCALHOST/'
  ])('%s is loopback', (url) => {
    expect(isLoopbackHost(hostOf(url))).toBe(true)
  })

  it.each([
    'http://127.attacker.example/',
    'http://127.0.0.1.attacker.example/',
    'http://127.0.0.1.nip.io/',
    'http://localhost.attacker.example/',
    'http://localhost./',
    'http://128.0.0.1/',
    'http://10.0.0.1/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::2]/',
    'http://0.0.0.0/',
    'http://api.openai.com/'
  ])('%s is not loopback', (url) => {
    expect(isLoopbackHost(hostOf(url))).toBe(false)
  })

  it.each([
    'https://api.openai.com/v1',
    'https://API.OpenAI.com/v1',
    'https://mtls.api.openai.com/v1',
    'https://mtls-us.api.openai.com/v1',
    'https://mtls-eu.api.openai.com/v1',
    'https://eu.api.openai.com/v1',
    'https://us.api.openai.com/v1'
  ])('%s is an OpenAI API host', (url) => {
    expect(isOpenAiHost(hostOf(url))).toBe(true)
  })

  it.each([
    'https://evil-api.openai.com.attacker.net/v1',
    'https://api.openai.com.attacker.net/v1',
    'https://xapi.openai.com/v1',
    'https://api-openai.com/v1',
    'https://openai.com/v1',
    'https://platform.openai.com/v1',
    'https://a.b.api.openai.com/v1',
    'https://-x.api.openai.com/v1',
    'https://api.openai.com./v1',
    'https://gateway.example/v1',
    'https://127.0.0.1/v1'
  ])('%s is not an OpenAI API host', (url) => {
    expect(isOpenAiHost(hostOf(url))).toBe(false)
  })
})

describe('parseBaseUrl', () => {
  it('allows plain http only on loopback literals and localhost', () => {
    expect(parseBaseUrl('http://127.0.0.1:8080/v1/')).toBe('http://127.0.0.1:8080/v1')
    expect(parseBaseUrl('http://[::1]:8080/v1')).toBe('http://[::1]:8080/v1')
    expect(parseBaseUrl('http://localhost/v1')).toBe('http://localhost/v1')
    for (const url of ['http://127.attacker.example/v1', 'http://localhost.attacker/v1', 'http://gateway.example/v1']) {
      expect(() => parseBaseUrl(url)).toThrow(/must use https:\/\/ \(plain http is allowed only on loopback/)
    }
    expect(parseBaseUrl('https://127.attacker.example/v1')).toBe('https://127.attacker.example/v1')
  })
})

describe('chooseBaseUrl', () => {
  it('takes the input whatever its host, and says so', () => {
    expect(chooseBaseUrl('https://gateway.example/v1', 'https://other.example', false)).toEqual({
      baseUrl: 'https://gateway.example/v1',
      source: 'input'
    })
  })

  it('takes OPENAI_BASE_URL only for an OpenAI API host or loopback', () => {
    expect(chooseBaseUrl('', 'https://mtls-eu.api.openai.com/v1', true)).toEqual({
      baseUrl: 'https://mtls-eu.api.openai.com/v1',
      source: 'environment'
    })
    expect(chooseBaseUrl('', 'http://127.0.0.1:9/v1', false).source).toBe('environment')
    for (const url of [
      'https://litellm.internal:4000/v1',
      'https://evil-api.openai.com.attacker.net/v1',
      'https://xapi.openai.com/v1'
    ]) {
      expect(() => chooseBaseUrl('', url, false)).toThrow(
        /^OPENAI_BASE_URL \(from the environment\) is '.*', which is not an OpenAI API host: .*give that URL in the 'base-url' input/
      )
    }
    expect(() => chooseBaseUrl('', 'http://127.attacker.example/v1', false)).toThrow(
      /^OPENAI_BASE_URL '.*' must use https/
    )
  })

  it('falls back to the public API, or to the mTLS host with a client certificate', () => {
    expect(chooseBaseUrl('', undefined, false)).toEqual({ baseUrl: 'https://api.openai.com/v1', source: 'default' })
    expect(chooseBaseUrl('', '  ', true)).toEqual({ baseUrl: 'https://mtls.api.openai.com/v1', source: 'default' })
  })
})

function recorder(): Runner & { seen: string[]; masked: string[] } {
  const seen: string[] = []
  const masked: string[] = []
  const place = (p?: Place) => (p ? ` @${p.file}` : '')
  return {
    seen,
    masked,
    getInput: () => '',
    env: () => undefined,
    setSecret: (value) => void masked.push(value),
    info: (m) => void seen.push(`info ${m}`),
    debug: (m) => void seen.push(`debug ${m}`),
    notice: (m) => void seen.push(`notice ${m}`),
    warning: (m, p) => void seen.push(`warning ${m}${place(p)}`),
    error: (m, p) => void seen.push(`error ${m}${place(p)}`),
    setOutput: (n, v) => void seen.push(`output ${n}=${v}`),
    appendSummary: async (m) => void seen.push(`summary ${m}`),
    setFailed: (m) => void seen.push(`failed ${m}`),
    group: (name, task) => {
      seen.push(`group ${name}`)
      return task()
    }
  }
}

describe('redact', () => {
  const key = 'sk-admin-Qx7Lm2Pz9Kd4Wr8Vt1Ny6Hb3Jc5Fg0Ae'
  const token = 'ghs_Zp4Rk8Lm2Qw6Xn1Vb9Tc3Yd7Hf5Jg0Ks'
  const clientKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
    type: 'pkcs8',
    format: 'pem'
  }) as string
  const keyLines = clientKey.split('\n').filter((l) => l && !l.startsWith('-----'))
  const secrets = [key, token, clientKey]

  it.each([
    ['the key itself', `Incorrect API key ${key}.`],
    ['an echoed Authorization header', `headers: {"authorization":"Bearer ${key}"}`],
    ['a header echoed cut short', `Authorization: Bearer ${key.slice(0, 20)}`],
    ['a body cut mid-key', `upstream: ${key.slice(0, 14)}`],
    ['the key URL-encoded', `url=/v1?key=${encodeURIComponent(`${key} x`)}`],
    ['the key in base64', `basic ${Buffer.from(key).toString('base64')}`],
    ['the GitHub token', `Bad credentials for token ${token}`],
    ['the client key as PEM', `Got ${clientKey} from you`],
    ['the client key JSON-escaped', `{"message":${JSON.stringify(clientKey)}}`],
    ['the client key URL-encoded', `body=${encodeURIComponent(clientKey)}`],
    ['one line of the client key', `line: ${keyLines[1]}`],
    ['a line of the client key cut short', `line: ${keyLines[1].slice(0, 20)}…`]
  ])('removes %s', (_, text) => {
    const out = redact(text, secrets)
    expect(out).not.toBe(text)
    for (const secret of [key.slice(9), token.slice(4), ...keyLines]) {
      for (let at = 0; at + 12 <= secret.length; at++) expect(out).not.toContain(secret.slice(at, at + 12))
    }
    expect(out).not.toMatch(/PRIVATE KEY-----\s*[A-Za-z0-9+/]{12}/)
  })

  it("removes anyone's PEM private key, whole, escaped or cut short, but keeps the text around it", () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
      type: 'pkcs1',
      format: 'pem'
    }) as string
    const body = other.split('\n')[3]
    expect(redact(`before\n${other}after`, [])).toBe('before\n[private key removed]\nafter')
    expect(redact(`{"error":${JSON.stringify(`x ${other} y`)}}`, [])).toBe('{"error":"x [private key removed]\\n y"}')
    expect(redact(`cut: ${other.slice(0, 200)}`, [])).toBe('cut: [private key removed]')
    expect(redact(encodeURIComponent(other), [])).not.toContain(encodeURIComponent(body).slice(0, 20))
    expect(redact(`cut: ${encodeURIComponent(other).slice(0, 300)}`, [])).toBe('cut: [private key removed]')
    expect(redact(`cut: ${JSON.stringify(other).slice(0, 300)}`, [])).toBe('cut: "[private key removed]')
    const encrypted = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
      type: 'pkcs1',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'pw'
    }) as string
    expect(redact(`| ${encrypted.slice(0, 250)}`, [])).toBe('| [private key removed]')
    // A message that only names the label (a PEM syntax problem) keeps its words and table cells.
    const named = "| restore the block's -----BEGIN RSA PRIVATE KEY----- line. `pem-syntax` |"
    expect(redact(named, [])).toBe(named)
  })

  it('removes any secret, whole or cut short, in any form, wherever it sits in any text (property)', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/= '
    const secretArb = fc
      .array(fc.constantFrom(...alphabet), { minLength: 12, maxLength: 80 })
      .map((chars) => chars.join(''))
      .filter((text) => text.trim() === text)
    const forms: ((secret: string) => string)[] = [
      (x) => x,
      (x) => JSON.stringify(x).slice(1, -1),
      (x) => encodeURIComponent(x),
      (x) => Buffer.from(x).toString('base64')
    ]
    fc.assert(
      fc.property(
        secretArb,
        fc.string({ maxLength: 40 }),
        fc.string({ maxLength: 40 }),
        fc.nat(forms.length - 1),
        fc.integer({ min: 12, max: 80 }),
        (secret, before, after, form, cut) => {
          const shown = forms[form](secret).slice(0, form === 0 ? cut : undefined)
          expect(redact(`${before}${shown}${after}`, [secret])).not.toContain(shown)
        }
      ),
      { numRuns: 500 }
    )
  })

  it('removes credential-shaped values it was not told about', () => {
    expect(redact('Authorization: Bearer abc.def-ghi', [])).toBe('Authorization: Bearer ***')
    expect(redact('key sk-admin-AAAAbbbbCCCCdddd here', [])).toBe('key sk-admin-*** here')
    expect(redact('key sk-proj-AAAAbbbbCCCCdddd', [])).toBe('key sk-proj-***')
    expect(redact('legacy sk-AAAAbbbbCCCCdddd1234eeee', [])).toBe('legacy sk-***')
    expect(redact('tok ghp_AAAAbbbbCCCCdddd1234', [])).toBe('tok ghp_***')
    // A certificate name that merely starts with sk- is not a key.
    expect(redact("'sk-ca-2026-payments'", [])).toBe("'sk-ca-2026-payments'")
  })

  it('leaves ordinary text alone, the key prefix in our own advice included', () => {
    const text =
      "Check that admin-api-key holds a current admin key (sk-admin-…); give 'github-token' pull-requests: write. Basic Constraints: CA. certs/ca.pem:1 fingerprint 3f9a…"
    expect(redact(text, secrets)).toBe(text)
    expect(redact('x', ['', 'k'])).toBe('x')
    expect(redact('', secrets)).toBe('')
  })
})

describe('redacting runner', () => {
  it('redacts every text it emits, learning each secret as it is masked, and forwards the mask', async () => {
    const inner = recorder()
    const runner = redacting(inner, ['sk-admin-known-before-000000'])
    runner.setSecret('sk-admin-learned-later-11111')
    runner.setSecret('')
    const both = 'sk-admin-known-before-000000 and sk-admin-learned-later-11111'
    runner.info(both)
    runner.debug(both)
    runner.warning(both, { file: 'certs/a.pem', startLine: 2 })
    runner.error(both)
    runner.setOutput('results', both)
    await runner.appendSummary(both)
    await runner.group(`Group ${both}`, async () => runner.info('inside'))
    runner.setFailed(both)
    expect(runner.redact(both)).toBe('*** and ***')
    expect(inner.masked).toEqual(['sk-admin-learned-later-11111', ''])
    expect(inner.seen).toEqual([
      'info *** and ***',
      'debug *** and ***',
      'warning *** and *** @certs/a.pem',
      'error *** and ***',
      'output results=*** and ***',
      'summary *** and ***',
      'group Group *** and ***',
      'info inside',
      'failed *** and ***'
    ])
  })

  it('knows every secret input before getSettings can fail on another input', () => {
    const inner = recorder()
    const inputs: Record<string, string> = {
      'admin-api-key': 'sk-admin-from-input-22222222',
      'github-token': 'ghs_from_input_333333333333',
      files: 'a.pem',
      mode: 'bogus'
    }
    const runner = redacting({ ...inner, getInput: (name) => inputs[name] ?? '' })
    expect(() => getSettings(runner)).toThrow(/Input 'mode' is 'bogus'/)
    expect(runner.redact(`${inputs['admin-api-key']} ${inputs['github-token']}`)).toBe('*** ***')
  })
})
