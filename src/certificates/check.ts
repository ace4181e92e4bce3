import type { Problem, Severity } from './problem.js'
import { type Certificate, describe } from './x509.js'

const DAY_MS = 24 * 60 * 60 * 1000
/** OpenAI's earlier help article refused certificates of 16 KB or more. */
export const MAX_CERTIFICATE_BYTES = 16 * 1024

/**
 * Which of OpenAI's rule sets the checks follow. `standard`: the current mutual-TLS guide, plus
 * what X.509 path validation needs of an anchor that signs client certificates. `strict`: the
 * earlier help article's requirements on top.
 */
export const CA_RULES = ['standard', 'strict'] as const
export type CaRules = (typeof CA_RULES)[number]

export interface CheckOptions {
  now: Date
  expiryWarningDays: number
  skip: ReadonlySet<string>
  /** Default `standard`. */
  rules?: CaRules
}

/** Where a check's rule comes from, as docs/checks.md and the messages cite it. */
export const SOURCES = {
  guide: "OpenAI's mutual-TLS guide",
  article: "OpenAI's earlier mTLS help article",
  x509: 'X.509 path validation (RFC 5280)',
  action: 'this action'
} as const

interface Check {
  id: string
  severity: Severity
  /** The profiles that run it. */
  profiles: readonly CaRules[]
  source: keyof typeof SOURCES
  /** The problem, or undefined when the certificate passes. */
  test(cert: Certificate, options: CheckOptions & { rules: CaRules }): string | undefined
}

const days = (ms: number): number => Math.floor(ms / DAY_MS)
const isoDate = (date: Date): string => date.toISOString().slice(0, 10)
const BOTH = ['standard', 'strict'] as const
const STRICT = ['strict'] as const

/**
 * The certificate checks. Errors, so that a validate run that passes means the upload will be
 * accepted under the chosen rules, and two warnings. Their ids are what `skip-checks` takes.
 */
export const CHECKS: readonly Check[] = [
  {
    id: 'expired',
    severity: 'error',
    profiles: BOTH,
    source: 'guide',
    test: (c, { now }) =>
      c.notAfter <= now
        ? `expired on ${isoDate(c.notAfter)}: ${SOURCES.guide} requires a valid certificate; replace it with a current one`
        : undefined
  },
  {
    id: 'expires-within-a-day',
    severity: 'error',
    profiles: BOTH,
    source: 'guide',
    test: (c, { now }) =>
      c.notAfter > now && c.notAfter.getTime() - now.getTime() < DAY_MS
        ? `expires at ${c.notAfter.toISOString()}, within a day: ${SOURCES.guide} requires more than a day of validity at upload; replace it with a current certificate`
        : undefined
  },
  {
    id: 'not-ca',
    severity: 'error',
    profiles: BOTH,
    source: 'x509',
    test: (c) =>
      c.isCa
        ? undefined
        : c.version === 1 && c.rawSubject.equals(c.rawIssuer)
          ? // A self-signed v1 certificate: meant as a CA, but a v1 certificate cannot carry the extension.
            `has no basicConstraints extension (it is a v1 certificate, which has no extensions), so ${SOURCES.x509} will not let it sign client certificates: reissue it with basicConstraints=critical,CA:TRUE (openssl req -x509 … -addext 'basicConstraints=critical,CA:TRUE')`
          : `is not a CA certificate (basicConstraints CA:TRUE is missing), so ${SOURCES.x509} will not let it sign client certificates: upload the CA that signs your client certificates, not a client certificate`
  },
  {
    id: 'no-ski',
    severity: 'error',
    profiles: STRICT,
    source: 'article',
    test: (c) =>
      c.hasSubjectKeyId
        ? undefined
        : `has no Subject Key Identifier extension, which ${SOURCES.article} requires (ca-rules: strict): reissue it with subjectKeyIdentifier=hash`
  },
  {
    id: 'no-aki',
    severity: 'error',
    profiles: STRICT,
    source: 'article',
    test: (c) =>
      c.hasAuthorityKeyId
        ? undefined
        : `has no Authority Key Identifier with a key identifier, which ${SOURCES.article} requires (ca-rules: strict): reissue it with authorityKeyIdentifier=keyid`
  },
  {
    id: 'key-usage',
    severity: 'error',
    profiles: BOTH,
    source: 'x509',
    test: (c, { rules }) => {
      if (rules === 'standard') {
        return c.hasKeyUsage && !c.canSignCertificates
          ? `has Key Usage without keyCertSign, so ${SOURCES.x509} will not let it sign client certificates: reissue it with keyUsage=keyCertSign,cRLSign (or without Key Usage)`
          : undefined
      }
      if (!c.hasKeyUsage)
        return `has no Key Usage extension: ${SOURCES.article} requires keyCertSign and cRLSign (ca-rules: strict)`
      const missing = [c.canSignCertificates ? '' : 'keyCertSign', c.canSignCrls ? '' : 'cRLSign'].filter(Boolean)
      return missing.length
        ? `has Key Usage without ${missing.join(' and ')}, which ${SOURCES.article} requires (ca-rules: strict)`
        : undefined
    }
  },
  {
    id: 'too-large',
    severity: 'error',
    profiles: STRICT,
    source: 'article',
    test: (c) =>
      c.pem.length >= MAX_CERTIFICATE_BYTES
        ? `is ${c.pem.length} bytes as PEM; ${SOURCES.article} accepts less than ${MAX_CERTIFICATE_BYTES} (ca-rules: strict)`
        : undefined
  },
  {
    id: 'expires-soon',
    severity: 'warning',
    profiles: BOTH,
    source: 'action',
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
    profiles: BOTH,
    source: 'action',
    test: (c, { now }) =>
      c.notBefore > now
        ? `is not valid until ${c.notBefore.toISOString()}: client certificates it signs will be refused until then`
        : undefined
  }
]

export const CHECK_IDS: readonly string[] = CHECKS.map((c) => c.id)

export { describe }

/** Every problem of one certificate, in the order of `CHECKS`. Pure. */
export function checkCertificate(cert: Certificate, options: CheckOptions): Problem[] {
  const problems: Problem[] = []
  const rules = options.rules ?? 'standard'
  for (const check of CHECKS) {
    if (options.skip.has(check.id) || !check.profiles.includes(rules)) continue
    const what = check.test(cert, { ...options, rules })
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

/**
 * The problem for an upload OpenAI refused, on the certificate's file and line. Under `standard`
 * it points to `strict`, which checks the earlier rules a server may still enforce.
 */
export function refusalProblem(cert: Certificate, apiMessage: string, rules: CaRules): Problem {
  const hint =
    rules === 'standard'
      ? ` The checks followed ${SOURCES.guide} ('ca-rules: standard'); run with 'ca-rules: strict' to see which requirement of ${SOURCES.article} it misses.`
      : ''
  return {
    check: 'upload-refused',
    severity: 'error',
    message: `${describe(cert)} was refused by OpenAI on upload: ${apiMessage}${hint}`,
    file: cert.file,
    line: cert.line,
    index: cert.index
  }
}
