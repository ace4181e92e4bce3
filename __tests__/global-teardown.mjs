// @ts-check
// The other half of global-setup.mjs: the run's temporary directory must be empty once every test
// file is done; whatever a test left is named, removed, and fails the run.
import { readdirSync, rmSync } from 'node:fs'

export default function globalTeardown() {
  const own = process.env.TEST_TEMP_ROOT
  if (!own) return
  const left = readdirSync(own)
  rmSync(own, { recursive: true, force: true })
  if (left.length > 0)
    throw new Error(
      `Tests left ${left.length} item(s) in the temporary directory: ${left.join(', ')}. Remove them in the test that makes them (see __tests__/helpers.ts, workspace).`
    )
}
