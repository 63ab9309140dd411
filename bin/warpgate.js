#!/usr/bin/env node
// mezu-warpgate: the Warpgate alone, for servers (no oclif, no got); see src/warpgate/main.ts.
import {main} from '../dist/src/warpgate/main.js'

process.exitCode = await main(process.argv.slice(2))
