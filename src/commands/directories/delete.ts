import {Args, Flags} from '@oclif/core'
import {MezuCommand} from '../../lib/base-command.js'
import {enc} from '../../lib/scope.js'

export default class DirectoriesDelete extends MezuCommand<typeof DirectoriesDelete> {
  static override summary = 'Delete a directory (with --force also its sub-directories and memberships).'
  static override examples = ['<%= config.bin %> directories delete eng/old-team', '<%= config.bin %> directories delete eng --force --json']
  static override args = {directory: Args.string({description: 'directory path or id', required: true})}
  static override flags = {force: Flags.boolean({description: 'also delete sub-directories and memberships'})}

  async run(): Promise<{deleted: string}> {
    await this.api().delete(`directories/${enc(this.args.directory)}`, {force: this.flags.force || undefined})
    this.log(`Deleted directory ${this.args.directory}.`)
    return {deleted: this.args.directory}
  }
}
