import {Args} from '@oclif/core'
import type {Warpgate} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {enc, projectFlag} from '../../lib/scope.js'

export default class WarpgatesRevoke extends MezuCommand<typeof WarpgatesRevoke> {
  static override summary = 'Revoke a Warpgate: its live connections close and its certificate is refused from now on.'
  static override examples = ['<%= config.bin %> warpgates revoke hello --project shop', '<%= config.bin %> warpgates revoke wg_0123456789abcdefghjk --json']
  static override args = {warpgate: Args.string({description: 'Warpgate name or id', required: true})}
  static override flags = {...projectFlag}

  async run(): Promise<Warpgate> {
    const w = await this.api().request<Warpgate>('POST', `warpgates/${enc(this.args.warpgate)}/revoke`, {}, {project: this.flags.project})
    this.log(`Revoked Warpgate ${w.name} (${w.id}).`)
    return w
  }
}
