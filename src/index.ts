// The entry point the runner starts (dist/index.js).
import { run } from './main.js'

await run()
// The outputs, the summary and the error line are written: nothing left under way (a request
// abandoned at cancellation) may hold the job open. Once stdout and stderr are flushed: a pipe
// (the runner's) is written asynchronously, and exiting at once would cut a long log, last line
// included.
const flushed = (stream: NodeJS.WriteStream): Promise<void> =>
  new Promise((resolve) => stream.write('', () => resolve()))
await Promise.all([flushed(process.stdout), flushed(process.stderr)])
process.exit()
