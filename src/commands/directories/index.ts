import type {Directory} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'

export default class Directories extends MezuCommand<typeof Directories> {
  static override summary = 'List directories (teams, departments) as paths.'
  static override description = 'Directories form a tree named by path (eng/platform) or id; a member of eng/platform counts as a member of eng.'
  static override aliases = ['directories:list']
  static override examples = ['<%= config.bin %> directories', '<%= config.bin %> directories list --json']

  async run(): Promise<{items: Directory[]}> {
    const items = await this.api().all<Directory>('directories')
    this.table(items, [
      {header: 'PATH', get: (d) => d.path},
      {header: 'ID', get: (d) => d.id},
      {header: 'MEMBERS', get: (d) => d.memberCount},
      {header: 'SUB-DIRECTORIES', get: (d) => d.childCount},
    ])
    return {items}
  }
}
