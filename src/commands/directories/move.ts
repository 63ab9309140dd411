import {Args, Flags} from '@oclif/core'
import type {Directory} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {MezuError} from '../../lib/errors.js'
import {enc} from '../../lib/scope.js'

export default class DirectoriesMove extends MezuCommand<typeof DirectoriesMove> {
  static override summary = 'Move a directory under another one (--parent), or to the top (--root).'
  static override examples = ['<%= config.bin %> directories move platform --parent eng', '<%= config.bin %> directories move eng/platform --root --json']
  static override args = {directory: Args.string({description: 'directory path or id', required: true})}
  static override flags = {
    parent: Flags.string({description: 'the new parent (path or id)', exclusive: ['root']}),
    root: Flags.boolean({description: 'move to the top of the tree', exclusive: ['parent']}),
  }

  async run(): Promise<Directory> {
    if (!this.flags.parent && !this.flags.root) throw new MezuError('usage', 'say where to: --parent DIRECTORY or --root')
    const d = await this.api().patch<Directory>(`directories/${enc(this.args.directory)}`, {parent: this.flags.root ? null : this.flags.parent})
    this.log(`Moved directory to ${d.path}.`)
    return d
  }
}
