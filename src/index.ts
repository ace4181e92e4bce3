// The entry point the runner starts (dist/index.js).
import { run } from './main.js'

await run()
