import {Args} from '@oclif/core'
import type {Warpgate} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {details} from '../../lib/output.js'
import {enc, projectFlag} from '../../lib/scope.js'

export default class WarpgatesGet extends MezuCommand<typeof WarpgatesGet> {
  static override summary = 'Show one Warpgate: status, connections, remote addresses, version.'
  static override examples = ['<%= config.bin %> warpgates get hello --project shop', '<%= config.bin %> warpgates get wg_0123456789abcdefghjk --json']
  static override args = {warpgate: Args.string({description: 'Warpgate name or id', required: true})}
  static override flags = {...projectFlag}

  async run(): Promise<Warpgate> {
    const w = await this.api().get<Warpgate>(`warpgates/${enc(this.args.warpgate)}`, {project: this.flags.project})
    this.log(details([
      ['name', w.name], ['id', w.id], ['service', w.service], ['environment', w.environment], ['status', w.status],
      ['healthy', w.healthy], ['connections', w.connections], ['remote IPs', w.remoteIps.join(', ')], ['version', w.version],
      ['connected since', w.connectedSince], ['last seen', w.lastSeenAt], ['certificate expires', w.certificateExpiresAt], ['revoked', w.revokedAt],
    ]))
    return w
  }
}
