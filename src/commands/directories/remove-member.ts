import {Args} from '@oclif/core'
import {MezuCommand} from '../../lib/base-command.js'
import {enc} from '../../lib/scope.js'

export default class DirectoriesRemoveMember extends MezuCommand<typeof DirectoriesRemoveMember> {
  static override summary = 'Remove a user from a directory.'
  static override examples = ['<%= config.bin %> directories remove-member eng/platform ada@example.com']
  static override args = {
    directory: Args.string({description: 'directory path or id', required: true}),
    email: Args.string({description: 'user email', required: true}),
  }

  async run(): Promise<{directory: string; removed: string}> {
    await this.api().delete(`directories/${enc(this.args.directory)}/members/${enc(this.args.email)}`)
    this.log(`Removed ${this.args.email} from ${this.args.directory}.`)
    return {directory: this.args.directory, removed: this.args.email}
  }
}
