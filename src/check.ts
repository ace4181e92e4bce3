import type { Certificate, Problem, Severity } from './parse.js'

const DAY_MS = 24 * 60 * 60 * 1000
/** OpenAI refuses certificates of 16 KB or more. */
export const MAX_CERTIFICATE_BYTES = 16 * 1024

export interface CheckOptions {
  now: Date
  expiryWarningDays: number
  skip: ReadonlySet<string>
}

interface Check {
  id: string
  severity: Severity
  /** The problem, or undefined when the certificate passes. */
  test(cert: Certificate, options: CheckOptions): string | undefined
}

const days = (ms: number): number => Math.floor(ms / DAY_MS)
const isoDate = (date: Date): string => date.toISOString().slice(0, 10)

/**
 * The certificate checks: OpenAI's published requirements for an mTLS CA certificate (errors, so
 * that a validate run that passes means the upload will be accepted) and two warnings. Their ids
 * are what `skip-checks` takes.
 */
export const CHECKS: readonly Check[] = [
  {
    id: 'expired',
    severity: 'error',
    test: (c, { now }) =>
      c.notAfter <= now ? `expired on ${isoDate(c.notAfter)}: replace it with a current certificate` : undefined
  },
  {
    id: 'expires-within-a-day',
    severity: 'error',
    test: (c, { now }) =>
      c.notAfter > now && c.notAfter.getTime() - now.getTime() < DAY_MS
        ? `expires at ${c.notAfter.toISOString()}, within a day: OpenAI refuses it; replace it with a current certificate`
        : undefined
  },
  {
    id: 'not-ca',
    severity: 'error',
    test: (c) =>
      c.isCa
        ? undefined
        : 'is not a CA certificate (basicConstraints CA:TRUE is missing): upload the CA that signs your client certificates'
  },
  {
    id: 'no-ski',
    severity: 'error',
    test: (c) =>
      c.hasSubjectKeyId
        ? undefined
        : 'has no Subject Key Identifier extension, which OpenAI requires: reissue it with subjectKeyIdentifier=hash'
  },
  {
    id: 'no-aki',
    severity: 'error',
    test: (c) =>
      c.hasAuthorityKeyId
        ? undefined
        : 'has no Authority Key Identifier with a key identifier, which OpenAI requires: reissue it with authorityKeyIdentifier=keyid'
  },
  {
    id: 'key-usage',
    severity: 'error',
    test: (c) => {
      if (!c.hasKeyUsage) return 'has no Key Usage extension: OpenAI requires keyCertSign and cRLSign'
      const missing = [c.canSignCertificates ? '' : 'keyCertSign', c.canSignCrls ? '' : 'cRLSign'].filter(Boolean)
      return missing.length ? `has Key Usage without ${missing.join(' and ')}, which OpenAI requires` : undefined
    }
  },
  {
    id: 'too-large',
    severity: 'error',
    test: (c) =>
      c.pem.length >= MAX_CERTIFICATE_BYTES
        ? `is ${c.pem.length} bytes as PEM; OpenAI accepts less than ${MAX_CERTIFICATE_BYTES}`
        : undefined
  },
  {
    id: 'expires-soon',
    severity: 'warning',
    test: (c, { now, expiryWarningDays }) => {
      const left = c.notAfter.getTime() - now.getTime()
      return left >= DAY_MS && left < expiryWarningDays * DAY_MS
        ? `expires on ${isoDate(c.notAfter)}, in ${days(left)} days: plan its rotation`
        : undefined
    }
  },
  {
    id: 'not-yet-valid',
    severity: 'warning',
    test: (c, { now }) =>
      c.notBefore > now
        ? `is not valid until ${c.notBefore.toISOString()}: client certificates it signs will be refused until then`
        : undefined
  }
]

export const CHECK_IDS: readonly string[] = CHECKS.map((c) => c.id)

/** Who the certificate is, for a message: its position in the file and its name. */
export function describe(cert: Certificate): string {
  return `Certificate ${cert.index} (${cert.commonName ? `CN=${cert.commonName}` : cert.subject || 'no subject'})`
}

/** Every problem of one certificate, in the order of `CHECKS`. Pure. */
export function checkCertificate(cert: Certificate, options: CheckOptions): Problem[] {
  const problems: Problem[] = []
  for (const check of CHECKS) {
    if (options.skip.has(check.id)) continue
    const what = check.test(cert, options)
    if (what === undefined) continue
    problems.push({
      check: check.id,
      severity: check.severity,
      message: `${describe(cert)} ${what}.`,
      file: cert.file,
      line: cert.line,
      index: cert.index
    })
  }
  return problems
}
