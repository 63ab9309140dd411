import {Args, Flags} from '@oclif/core'
import type {Directory} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'

export default class DirectoriesCreate extends MezuCommand<typeof DirectoriesCreate> {
  static override summary = 'Create a directory, at the top or under --parent.'
  static override examples = ['<%= config.bin %> directories create eng', '<%= config.bin %> directories create platform --parent eng --json']
  static override args = {name: Args.string({description: 'directory name', required: true})}
  static override flags = {parent: Flags.string({description: 'parent directory path (eng/platform) or id'})}

  async run(): Promise<Directory> {
    const d = await this.api().post<Directory>('directories', {name: this.args.name, parent: this.flags.parent})
    this.log(`Created directory ${d.path} (${d.id}).`)
    return d
  }
}
