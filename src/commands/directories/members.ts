import {Args} from '@oclif/core'
import type {DirectoryMember} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {ago} from '../../lib/output.js'
import {enc} from '../../lib/scope.js'

export default class DirectoriesMembers extends MezuCommand<typeof DirectoriesMembers> {
  static override summary = 'List the direct members of a directory.'
  static override examples = ['<%= config.bin %> directories members eng/platform', '<%= config.bin %> directories members eng --json']
  static override args = {directory: Args.string({description: 'directory path or id', required: true})}

  async run(): Promise<{items: DirectoryMember[]}> {
    const items = await this.api().all<DirectoryMember>(`directories/${enc(this.args.directory)}/members`)
    this.table(items, [
      {header: 'EMAIL', get: (m) => m.email},
      {header: 'NAME', get: (m) => m.name},
      {header: 'ADDED', get: (m) => ago(m.addedAt)},
    ])
    return {items}
  }
}
