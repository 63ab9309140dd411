import {Args} from '@oclif/core'
import {MezuCommand} from '../../lib/base-command.js'
import {type ContextSummary, forgetContext} from '../../lib/contexts.js'

export default class ContextRemove extends MezuCommand<typeof ContextRemove> {
  static override summary = 'Forget a context: its token, pinned CA and defaults are removed from this machine (the session is not revoked; use mezu logout for that).'
  static override examples = ['<%= config.bin %> context remove staging', '<%= config.bin %> context remove 127.0.0.1:7443 --json']
  static override args = {name: Args.string({description: 'context name (see mezu context list)', required: true})}

  async run(): Promise<ContextSummary> {
    const c = forgetContext(this.args.name)
    this.log(`Removed context ${c.name} (${c.apiUrl}).${c.current ? ' No context is current now: run `mezu context use NAME` or `mezu login`.' : ''}`)
    return c
  }
}
