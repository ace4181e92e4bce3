// The entry point the runner starts (dist/index.js).
import { run } from './main.js'
import { actionsRunner } from './runner.js'

await run(actionsRunner)
