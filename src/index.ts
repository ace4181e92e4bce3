// The entry point the runner starts (dist/index.js). The polyfill must load before @peculiar/x509.
import 'reflect-metadata'
import { run } from './main.js'
import { actionsRunner } from './runner.js'

await run(actionsRunner)
