/**
 * What the verdicts of `chain.ts` mean for the workloads: the certificates a workload file
 * presents, the anchors the files hold, and the problems (with what to do) for the certificates
 * OpenAI would refuse or that expire soon.
 */
import { type Anchor, list, type Presented, quote, refusedForItsFile, type Verdict, verifyPresented } from './chain.js'
import type { ParsedFile } from './files.js'
import type { Problem } from './problem.js'
import type { Certificate } from './x509.js'

/** The certificates of a workload file: the client first, then the intermediates it presents. */
export function presentedOf(files: readonly ParsedFile[]): Presented[] {
  return files.flatMap((f) =>
    f.certificates.length === 0
      ? []
      : [
          {
            source: 'workload' as const,
            file: f.file,
            line: f.certificates[0].line,
            der: f.certificates[0].der,
            intermediates: f.certificates.slice(1).map((c) => c.der),
            fileProblem: f.problems.find((p) => p.severity === 'error')
          }
        ]
  )
}

/** Anchors from the files' certificates, named by their file (and line, in a file of several). */
export function fileAnchors(certificates: readonly Certificate[]): Anchor[] {
  const perFile = new Map<string, number>()
  for (const c of certificates) perFile.set(c.file, (perFile.get(c.file) ?? 0) + 1)
  return certificates.map((c) => ({ der: c.der, label: perFile.get(c.file)! > 1 ? `${c.file}:${c.line}` : c.file }))
}

/** Checks of the certificate itself: reissuing it is the fix, not keeping a CA. */
const OWN_CHECKS = new Set([
  'malformed',
  'expired',
  'not-yet-valid',
  'no-aki',
  'not-client-auth',
  'key-usage',
  'wrong-order'
])

/** Workload verdicts as problems at their file and line, and a warning for one expiring soon. */
export function verdictProblems(
  verdicts: readonly Verdict[],
  now: Date,
  expiryWarningDays: number,
  explain: (v: Verdict) => string
): Problem[] {
  const problems: Problem[] = []
  for (const v of verdicts) {
    if (refusedForItsFile(v)) continue
    if (v.source === 'client-certificate') {
      // The action's own certificate: one OpenAI refuses whatever the CAs would refuse its next run.
      if (v.problem !== null && OWN_CHECKS.has(v.check!))
        problems.push({
          check: `client-certificate-${v.check}`,
          severity: 'error',
          message: `Input client-certificate ${quote(v.subject ?? '')} would be refused by OpenAI: ${v.problem}. ${v.check === 'wrong-order' ? 'Put the client certificate first, then its intermediates' : 'Reissue it for client authentication and update the client-certificate and client-key secrets'}.`,
          file: v.file,
          line: v.line
        })
      continue
    }
    if (v.problem !== null) {
      problems.push({
        check: `workload-${v.check}`,
        severity: 'error',
        message: explain(v),
        file: v.file,
        line: v.line
      })
      continue
    }
    const left = v.not_after ? (Date.parse(v.not_after) - now.getTime()) / 86_400_000 : Infinity
    if (left <= expiryWarningDays)
      problems.push({
        check: 'workload-expires-soon',
        severity: 'warning',
        message: `Workload certificate ${quote(v.subject ?? '')} expires on ${v.not_after!.slice(0, 10)}, in ${Math.max(Math.floor(left), 0)} days: reissue it before then.`,
        file: v.file,
        line: v.line
      })
  }
  return problems
}

export interface Judgement {
  verdicts: Verdict[]
  problems: Problem[]
}

/**
 * Verdicts against the anchors left after the run, and, for workload certificates they refuse, a
 * problem that says which CA they chain to today and what to keep. `before` (the anchors active
 * now, when known) names that CA; without it, the CA named in the certificates is.
 */
export async function judgeWorkloads(
  presented: readonly Presented[],
  after: readonly Anchor[],
  options: { now: Date; expiryWarningDays: number; where: string; before?: readonly Anchor[] }
): Promise<Judgement> {
  const verdicts = await verifyPresented(presented, after, options.now)
  const failing = presented.filter((_, i) => verdicts[i].problem !== null && !OWN_CHECKS.has(verdicts[i].check!))
  const today = options.before ? await verifyPresented(failing, options.before, options.now) : []
  const afterLabels = new Set(after.map((a) => a.label))
  const fresh = after.map((a) => a.label).filter((l) => !options.before?.some((b) => b.label === l))
  const target = list(fresh.length > 0 ? fresh : [...afterLabels])
  const explain = (v: Verdict): string => {
    const who = `Workload certificate ${quote(v.subject ?? '')}`
    if (v.check === 'wrong-order')
      return `${v.file} would be refused by OpenAI: ${v.problem}. Put the client certificate first, then the intermediates it sends.`
    if (OWN_CHECKS.has(v.check!)) return `${who} would be refused by OpenAI: ${v.problem}. Reissue it.`
    const now = today[failing.findIndex((p) => p.file === v.file && p.line === v.line)]
    const reissue = target ? ` until these certificates are reissued from ${target}` : ''
    if (now?.anchor)
      return `${who} chains today to ${now.anchor}, which will not be active ${options.where} after this run (${v.problem}): keep ${now.anchor}${reissue}; nothing was changed.`
    const namesake = /^it is issued by .* with key id (\S+), not by /.exec(v.problem!)
    if (namesake)
      return `${who} would verify against no CA ${options.where}: ${v.problem}. ${options.before ? 'Publish and keep' : 'Keep'} the CA with key id ${namesake[1]}${reissue}.`
    const chainsTo = /^it chains to (.*), which is not an anchor$/.exec(v.problem!)
    if (chainsTo) {
      // Whether the files held that CA before is not known offline; in publish, `before` says it was never active.
      const held = options.before ? '' : `; if it is a CA the files held until now, keep it${reissue}`
      return `${who} would verify against no CA ${options.where}: it chains to ${chainsTo[1]}, which is not a CA ${options.where} and is not among the certificates it presents. If ${chainsTo[1]} is an intermediate CA, the workload must present it after its own certificate (in ${v.file}, after the client certificate), or the files must hold it as the CA${held}.`
    }
    return `${who} would verify against no CA ${options.where}: ${v.problem}.`
  }
  return { verdicts, problems: verdictProblems(verdicts, options.now, options.expiryWarningDays, explain) }
}
