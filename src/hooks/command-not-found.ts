import type {Hook} from '@oclif/core'

/** An unknown command is a usage error: exit 2, and under --json a JSON error on stderr. */
const hook: Hook<'command_not_found'> = async function (opts) {
  const message = `"${opts.id.replaceAll(':', ' ')}" is not a mezu command; see 'mezu --help'`
  process.stderr.write(opts.argv?.includes('--json') ? JSON.stringify({error: {code: 'usage', message}}) + '\n' : `Error: ${message}\n`)
  this.exit(2)
}

export default hook
