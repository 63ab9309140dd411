import type {Warpgate} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {ago} from '../../lib/output.js'
import {scopeFlags} from '../../lib/scope.js'

export default class Warpgates extends MezuCommand<typeof Warpgates> {
  static override summary = 'List Warpgates with their live state.'
  static override description = 'Status is pending, connected, disconnected or revoked, with connections, remote IPs, version, connected since and last seen.'
  static override aliases = ['warpgates:list']
  static override examples = ['<%= config.bin %> warpgates', '<%= config.bin %> warpgates list --project shop --env prod --json']
  static override flags = {...scopeFlags}

  async run(): Promise<{items: Warpgate[]}> {
    const items = await this.api().get<{items: Warpgate[]}>('warpgates', {project: this.flags.project, environment: this.flags.project ? this.flags.env : undefined}).then((p) => p.items)
    this.table(items, [
      {header: 'NAME', get: (w) => w.name},
      {header: 'ID', get: (w) => w.id},
      {header: 'ENV', get: (w) => w.environment},
      {header: 'STATUS', get: (w) => (w.status === 'connected' && w.healthy === false ? 'connected (unhealthy)' : w.status)},
      {header: 'CONNS', get: (w) => w.connections},
      {header: 'REMOTE', get: (w) => w.remoteIps.join(' ')},
      {header: 'VERSION', get: (w) => w.version},
      {header: 'SINCE', get: (w) => ago(w.connectedSince)},
      {header: 'LAST SEEN', get: (w) => ago(w.lastSeenAt)},
    ])
    return {items}
  }
}
