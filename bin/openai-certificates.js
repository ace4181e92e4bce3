#!/usr/bin/env node
// The `openai-certificates` command: the action's one bundle, asked for its command line (the
// query: src/index.ts). Everything else is in dist/, shared with the action.
import '../dist/index.js?command-line'
