import type { ParsedFile } from '../certificates/files.js'
import type { Certificate } from '../certificates/x509.js'
import { ActionError } from '../shared/errors.js'

export const NAME_TOKENS = ['stem', 'file', 'cn', 'fingerprint', 'index', 'ref', 'sha'] as const
export type NameToken = (typeof NAME_TOKENS)[number]
export type NameValues = Record<NameToken, string>

/** A validated `name` input: literal text and `{token}`s. */
export interface NameTemplate {
  source: string
  hasIndex: boolean
}

const TOKEN = /\{([^{}]*)\}/g

export function parseNameTemplate(source: string): NameTemplate {
  const template = source.trim() === '' ? '{stem}' : source.trim()
  const unknown = [...template.matchAll(TOKEN)]
    .map((m) => m[1])
    .filter((token) => !(NAME_TOKENS as readonly string[]).includes(token))
  if (unknown.length > 0) {
    throw new ActionError(
      `Input 'name' has unknown token${unknown.length > 1 ? 's' : ''} ${unknown.map((t) => `{${t}}`).join(', ')}: use ${NAME_TOKENS.map((t) => `{${t}}`).join(', ')}.`
    )
  }
  return { source: template, hasIndex: template.includes('{index}') }
}

/**
 * The name of one certificate. When its file holds several certificates and the template has no
 * `{index}`, ` ({index})` is appended so that the names stay distinct.
 */
export function renderName(template: NameTemplate, values: NameValues, certificatesInFile: number): string {
  const source = certificatesInFile > 1 && !template.hasIndex ? `${template.source} ({index})` : template.source
  const name = source.replace(TOKEN, (_, token: NameToken) => values[token]).trim()
  return name === '' ? values.stem : name
}

/** Each certificate's name; a certificate met again keeps the name of its first appearance. */
export function nameCertificates(
  files: readonly ParsedFile[],
  settings: { name: NameTemplate; ref: string; sha: string }
): Map<Certificate, string> {
  const named = new Map<Certificate, string>()
  const first = new Map<string, string>()
  for (const file of files) {
    const stem = file.file
      .split('/')
      .pop()!
      .replace(/\.[^.]*$/, '')
    for (const cert of file.certificates) {
      const values = {
        stem,
        file: file.file,
        cn: cert.commonName,
        fingerprint: cert.fingerprint.slice(0, 16),
        index: String(cert.index),
        ref: settings.ref,
        sha: settings.sha
      }
      const name = first.get(cert.fingerprint) ?? renderName(settings.name, values, file.certificates.length)
      first.set(cert.fingerprint, name)
      named.set(cert, name)
    }
  }
  return named
}
