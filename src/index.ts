// The entry point the runner starts (dist/index.js).
import { run } from './main.js'

await run()
// The outputs, the summary and the error line are written: nothing left under way (a request
// abandoned at cancellation) may hold the job open. Exit once the log has reached the runner: a
// pipe that is full (a long log on a busy machine) would otherwise lose its last lines.
for (const stream of [process.stdout, process.stderr]) await new Promise((flushed) => stream.write('', flushed))
process.exit()
