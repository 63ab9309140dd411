import {Args, Flags} from '@oclif/core'
import type {Edge} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {confirmOrRefuse} from '../../lib/confirm.js'
import {enc} from '../../lib/scope.js'

export default class EdgesRevoke extends MezuCommand<typeof EdgesRevoke> {
  static override summary = 'Revoke an edge node: its join token and certificate are refused from now on.'
  static override description = 'It cannot be undone: a revoked edge comes back only as a new one (mezu edges create). Without a terminal it needs --yes.'
  static override examples = ['<%= config.bin %> edges revoke fra-1', '<%= config.bin %> edges revoke edg_0123456789abcdefghjk --yes --json']
  static override args = {edge: Args.string({description: 'edge name or id', required: true})}
  static override flags = {yes: Flags.boolean({char: 'y', description: 'do not ask for confirmation (needed without a terminal)'})}

  async run(): Promise<Edge> {
    await confirmOrRefuse({yes: this.flags.yes, canPrompt: this.canPrompt(), question: `Revoke edge ${this.args.edge}? It cannot be undone.`})
    const e = await this.api().post<Edge>(`edges/${enc(this.args.edge)}/revoke`)
    this.log(`Revoked edge ${e.name} (${e.id}).`)
    return e
  }
}
