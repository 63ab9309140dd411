import {Args} from '@oclif/core'
import type {Directory} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {details} from '../../lib/output.js'
import {enc} from '../../lib/scope.js'

export default class DirectoriesGet extends MezuCommand<typeof DirectoriesGet> {
  static override summary = 'Show a directory.'
  static override examples = ['<%= config.bin %> directories get eng/platform', '<%= config.bin %> directories get dir_0123456789abcdefghjk --json']
  static override args = {directory: Args.string({description: 'directory path or id', required: true})}

  async run(): Promise<Directory> {
    const d = await this.api().get<Directory>(`directories/${enc(this.args.directory)}`)
    this.log(details([['path', d.path], ['id', d.id], ['parent', d.parentId], ['members', d.memberCount], ['sub-directories', d.childCount], ['created', d.createdAt]]))
    return d
  }
}
