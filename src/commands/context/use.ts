import {Args} from '@oclif/core'
import {MezuCommand} from '../../lib/base-command.js'
import {type ContextSummary, switchContext} from '../../lib/contexts.js'

export default class ContextUse extends MezuCommand<typeof ContextUse> {
  static override summary = 'Make a context current: later commands talk to its platform with its login.'
  static override examples = ['<%= config.bin %> context use prod', '<%= config.bin %> context use 127.0.0.1:7443 --json']
  static override args = {name: Args.string({description: 'context name (see mezu context list)', required: true})}

  async run(): Promise<ContextSummary> {
    const c = switchContext(this.args.name)
    this.log(`Now using context ${c.name} (${c.apiUrl}${c.loggedIn ? `, as ${c.principal}` : ', logged out'}).`)
    return c
  }
}
