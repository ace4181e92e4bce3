// The entry point the runner starts (dist/index.js).
import { run } from './main.js'

await run()
// The outputs, the summary and the error line are written: nothing left under way (a request
// abandoned at cancellation) may hold the job open.
process.exit()
