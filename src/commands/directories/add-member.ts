import {Args} from '@oclif/core'
import type {Directory} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {enc} from '../../lib/scope.js'

export default class DirectoriesAddMember extends MezuCommand<typeof DirectoriesAddMember> {
  static override summary = 'Add a user to a directory (they count as members of its ancestors too).'
  static override examples = ['<%= config.bin %> directories add-member eng/platform ada@example.com']
  static override args = {
    directory: Args.string({description: 'directory path or id', required: true}),
    email: Args.string({description: 'user email', required: true}),
  }

  async run(): Promise<Directory> {
    const d = await this.api().post<Directory>(`directories/${enc(this.args.directory)}/members`, {email: this.args.email})
    this.log(`Added ${this.args.email} to ${d.path}.`)
    return d
  }
}
