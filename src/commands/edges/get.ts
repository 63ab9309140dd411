import {Args} from '@oclif/core'
import type {Edge} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {details} from '../../lib/output.js'
import {enc} from '../../lib/scope.js'

export default class EdgesGet extends MezuCommand<typeof EdgesGet> {
  static override summary = 'Show one edge node: status, address, version, configuration, advertised URLs, certificate.'
  static override examples = ['<%= config.bin %> edges get fra-1', '<%= config.bin %> edges get edg_0123456789abcdefghjk --json']
  static override args = {edge: Args.string({description: 'edge name or id', required: true})}

  async run(): Promise<Edge> {
    const e = await this.api().get<Edge>(`edges/${enc(this.args.edge)}`)
    this.log(details([
      ['name', e.name], ['id', e.id], ['status', e.status], ['version', e.version], ['address', e.address],
      ['config version', e.configVersion], ['warpgate connections', e.warpgateConnections], ['edge URL', e.edgeUrl], ['tunnel URLs', e.tunnelUrls.join(', ')],
      ['connected since', e.connectedSince], ['last seen', e.lastSeenAt], ['enrolled', e.enrolledAt], ['certificate expires', e.certificateExpiresAt],
      ['created', e.createdAt], ['revoked', e.revokedAt],
    ]))
    return e
  }
}
