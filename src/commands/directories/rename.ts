import {Args} from '@oclif/core'
import type {Directory} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {enc} from '../../lib/scope.js'

export default class DirectoriesRename extends MezuCommand<typeof DirectoriesRename> {
  static override summary = 'Rename a directory (it stays where it is in the tree).'
  static override examples = ['<%= config.bin %> directories rename eng/platform infra']
  static override args = {
    directory: Args.string({description: 'directory path or id', required: true}),
    name: Args.string({description: 'new name', required: true}),
  }

  async run(): Promise<Directory> {
    const d = await this.api().patch<Directory>(`directories/${enc(this.args.directory)}`, {name: this.args.name})
    this.log(`Renamed directory to ${d.path}.`)
    return d
  }
}
