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
