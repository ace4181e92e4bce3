/** What the reading of files and the checks of certificates find wrong, at a file and line. */

export type Severity = 'error' | 'warning'

/** One thing wrong with a file or a certificate, with the line it is on. */
export interface Problem {
  /** Stable id, shown in the message; certificate checks can be turned off by it. */
  check: string
  severity: Severity
  message: string
  file: string
  line: number
  /** The PEM block it is about, when it is about one rather than the file. */
  index?: number
}
