// @ts-check
// Every test file, and every process it starts, gets a temporary directory of this run's own
// (TMPDIR, which os.tmpdir() reads): global-teardown.mjs fails the run if a test left anything in
// it, so that `npm test` leaves nothing in the machine's temporary directory.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export default function globalSetup() {
  const own = mkdtempSync(join(tmpdir(), 'jest-temp-'))
  process.env.TEST_TEMP_ROOT = own
  process.env.TMPDIR = own
}
