// The one entry point of the one bundle, dist/index.js. The runner starts it plainly: it runs the
// action. The `openai-certificates` command (bin/openai-certificates.js) imports it as
// `dist/index.js?command-line`: then it runs the command line, whose code (and the YAML parser it
// reads action.yml with) is loaded only then, so that the action's start-up never pays for it.
// A query on the module's own URL, not a flag, a variable or a global: nothing a workflow sets
// can make the runner's start run anything but the action.
import { run } from './main.js'

if (new URL(import.meta.url).searchParams.has('command-line')) {
  const { commandLine } = await import('./cli.js')
  process.exitCode = await commandLine(process.argv.slice(2))
} else await run()
// The outputs, the summary and the error line are written: nothing left under way (a request
// abandoned at cancellation) may hold the process open. Exit once the log has reached its reader:
// a pipe that is full (a long log on a busy machine, `--json | jq`) would otherwise lose its last
// lines. The exit code is process.exitCode (the action's, set by setFailed): `process.exit(undefined)`
// would exit 0 on Node 20.
for (const stream of [process.stdout, process.stderr]) await new Promise((flushed) => stream.write('', flushed))
process.exit()
