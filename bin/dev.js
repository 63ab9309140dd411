#!/usr/bin/env -S node --import tsx
// Runs the CLI from source; the commands directory points at src/ instead of dist/.
import {execute} from '@oclif/core'

await execute({development: true, dir: import.meta.url})
