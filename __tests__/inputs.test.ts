import { getSettings, parseBaseUrl } from '../src/github/inputs.js'
import { parseNameTemplate, renderName } from '../src/plan/name-template.js'
import type { Runner } from '../src/github/runner.js'

function runnerWith(
  inputs: Record<string, string>,
  env: Record<string, string> = {}
): Runner & { secrets: string[]; calls: string[] } {
  const calls: string[] = []
  const secrets: string[] = []
  return {
    calls,
    secrets,
    getInput: (name) => {
      calls.push(`input:${name}`)
      return inputs[name] ?? ''
    },
    env: (name) => env[name],
    setSecret: (value) => {
      calls.push('setSecret')
      secrets.push(value)
    },
    info: () => {},
    debug: () => {},
    notice: () => {},
    warning: () => {},
    error: () => {},
    setOutput: () => {},
    appendSummary: async () => {},
    setFailed: () => {},
    group: (_, task) => task()
  }
}

describe('getSettings', () => {
  it('masks the admin key before reading any other input, even when another input is wrong', () => {
    const runner = runnerWith(
      { files: 'a.pem', 'admin-api-key': 'sk-admin-secret', mode: 'bogus' },
      { OPENAI_ADMIN_KEY: 'sk-admin-env' }
    )
    expect(() => getSettings(runner)).toThrow("Input 'mode' is 'bogus': use one of publish, plan, validate.")
    expect(runner.secrets).toEqual(['sk-admin-secret', 'sk-admin-env'])
    // client-certificate too: it may hold a private key pasted with the certificate.
    const secretInputs = ['input:admin-api-key', 'input:github-token', 'input:client-key', 'input:client-certificate']
    const firstOther = runner.calls.findIndex((c) => c.startsWith('input:') && !secretInputs.includes(c))
    expect(runner.calls.lastIndexOf('setSecret')).toBeLessThan(firstOther)
  })

  it('reads patterns line by line, dropping blanks and comments', () => {
    const settings = getSettings(runnerWith({ files: ' certs/*.pem \n\n# old\n!certs/old.pem\n', mode: 'validate' }))
    expect(settings.patterns).toEqual(['certs/*.pem', '!certs/old.pem'])
  })

  it('takes the key from OPENAI_ADMIN_KEY when the input is empty, and needs none to validate', () => {
    expect(getSettings(runnerWith({ files: 'x' }, { OPENAI_ADMIN_KEY: 'sk-admin-env' })).adminKey).toBe('sk-admin-env')
    expect(getSettings(runnerWith({ files: 'x', mode: 'validate' })).adminKey).toBe('')
    expect(() => getSettings(runnerWith({ files: 'x', mode: 'plan' }))).toThrow(/Mode 'plan' needs an OpenAI admin key/)
  })

  it('reads reviewed-plan as the plan-hash (64 hex digits) or else the plan file, and refuses what is neither', () => {
    const reviewed = (value: string) =>
      getSettings(runnerWith({ files: 'x', mode: 'validate', 'reviewed-plan': value }))
    const hash = 'AB'.repeat(32)
    expect(reviewed(` ${hash} `).reviewedPlan).toEqual({ hash: hash.toLowerCase() })
    expect(reviewed('plans/openai-certificates-plan.json').reviewedPlan).toEqual({
      file: 'plans/openai-certificates-plan.json'
    })
    expect(reviewed('').reviewedPlan).toBeUndefined()
    const accepts =
      "give the reviewed plan run's plan file (its 'plan-file' output, downloaded into the workspace) or its 'plan-hash' output (64 hex digits)."
    // A hash cut short, as the log shows it, or one digit too many, is not a file name.
    for (const short of ['abc', 'ab'.repeat(32) + 'c', '3f9a0c1b2d4e…', '3f9a0c1b2d4e...'])
      expect(() => reviewed(short)).toThrow(`Input 'reviewed-plan' is '${short}': ${accepts}`)
    expect(() => reviewed(`${hash}\nplan.json`)).toThrow(`Input 'reviewed-plan' has 2 lines: ${accepts}`)
  })

  it('refuses unknown check ids, bad numbers and bad choices with the allowed values', () => {
    expect(() => getSettings(runnerWith({ files: 'x', mode: 'validate', 'skip-checks': 'no-aki\nno-such' }))).toThrow(
      "Input 'skip-checks' names unknown check no-such: the checks that can be skipped are expired, expires-within-a-day, not-ca, no-ski, no-aki, key-usage, too-large, expires-soon, not-yet-valid."
    )
    expect(() => getSettings(runnerWith({ files: 'x', mode: 'validate', 'expiry-warning-days': '-3' }))).toThrow(
      /expiry-warning-days/
    )
    expect(() => getSettings(runnerWith({ files: 'x', mode: 'validate', 'if-no-files-found': 'maybe' }))).toThrow(
      /error, warn, ignore/
    )
    expect(() => getSettings(runnerWith({ files: '\n  \n', mode: 'validate' }))).toThrow(/Input 'files' is empty/)
  })

  it('picks the base URL from the input, then OPENAI_BASE_URL, then the public API', () => {
    const base = { files: 'x', mode: 'plan', 'admin-api-key': 'k' }
    expect(getSettings(runnerWith(base)).baseUrl).toBe('https://api.openai.com/v1')
    expect(getSettings(runnerWith(base, { OPENAI_BASE_URL: 'https://eu.api.openai.com/v1/' })).baseUrl).toBe(
      'https://eu.api.openai.com/v1'
    )
    // Another host from the environment (a job-wide LLM gateway) never gets the admin key.
    expect(() => getSettings(runnerWith(base, { OPENAI_BASE_URL: 'https://proxy.example/v1/' }))).toThrow(
      /^OPENAI_BASE_URL \(from the environment\) is 'https:\/\/proxy\.example', which is not an OpenAI API host/
    )
    expect(
      getSettings(runnerWith({ ...base, 'base-url': 'http://127.0.0.1:8080/v1' }, { OPENAI_BASE_URL: 'https://x' }))
        .baseUrl
    ).toBe('http://127.0.0.1:8080/v1')
  })
})

describe('parseBaseUrl', () => {
  it('refuses plain http except on loopback, so the key never travels in clear', () => {
    expect(() => parseBaseUrl('http://api.example.com/v1')).toThrow(/must use https/)
    expect(parseBaseUrl('http://localhost:1234/v1')).toBe('http://localhost:1234/v1')
    expect(() => parseBaseUrl('not a url')).toThrow(/is not a URL/)
    expect(() => parseBaseUrl('https://user:pw@api.example.com/v1')).toThrow(/credentials/)
  })
})

describe('name template', () => {
  const values = {
    stem: 'root',
    file: 'certs/root.pem',
    cn: 'Root CA',
    fingerprint: '0123456789abcdef',
    index: '2',
    ref: 'v1.2.0',
    sha: 'abc1234'
  }

  it('fills every token', () => {
    const template = parseNameTemplate('{cn} {stem} {file} {fingerprint} #{index} {ref}@{sha}')
    expect(renderName(template, values, 1)).toBe('Root CA root certs/root.pem 0123456789abcdef #2 v1.2.0@abc1234')
  })

  it('keeps names distinct in a file of several certificates when the template has no {index}', () => {
    expect(renderName(parseNameTemplate('{stem}'), values, 3)).toBe('root (2)')
    expect(renderName(parseNameTemplate('{stem}-{index}'), values, 3)).toBe('root-2')
    expect(renderName(parseNameTemplate(''), values, 1)).toBe('root')
  })

  it('refuses unknown tokens', () => {
    expect(() => parseNameTemplate('{stem}-{date}-{sh}')).toThrow(
      "Input 'name' has unknown tokens {date}, {sh}: use {stem}, {file}, {cn}, {fingerprint}, {index}, {ref}, {sha}."
    )
  })
})
