import type {Edge} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {ago} from '../../lib/output.js'

export default class Edges extends MezuCommand<typeof Edges> {
  static override summary = 'List edge nodes with their live state.'
  static override description = 'Status is pending (never enrolled), connected, disconnected or revoked, with version, address, the configuration version it serves, its Warpgate connections and when it was last seen.'
  static override aliases = ['edges:list']
  static override examples = ['<%= config.bin %> edges', '<%= config.bin %> edges list --json']

  async run(): Promise<{items: Edge[]}> {
    const items = await this.api().get<{items: Edge[]}>('edges').then((p) => p.items)
    this.table(items, [
      {header: 'NAME', get: (e) => e.name},
      {header: 'ID', get: (e) => e.id},
      {header: 'STATUS', get: (e) => e.status},
      {header: 'VERSION', get: (e) => e.version},
      {header: 'ADDRESS', get: (e) => e.address},
      {header: 'CONFIG', get: (e) => e.configVersion},
      {header: 'WARPGATES', get: (e) => e.warpgateConnections},
      {header: 'LAST SEEN', get: (e) => ago(e.lastSeenAt)},
    ])
    return {items}
  }
}
