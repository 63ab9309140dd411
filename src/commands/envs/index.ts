import type {Environment} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {ago} from '../../lib/output.js'
import {enc, projectFlag, resolveProjectRef} from '../../lib/scope.js'

export default class Envs extends MezuCommand<typeof Envs> {
  static override summary = 'List the environments of a project.'
  static override aliases = ['envs:list']
  static override examples = ['<%= config.bin %> envs --project shop', '<%= config.bin %> envs list --json']
  static override flags = {...projectFlag}

  async run(): Promise<{items: Environment[]}> {
    const items = await this.api().all<Environment>(`projects/${enc(resolveProjectRef(this.flags.project))}/environments`)
    this.table(items, [
      {header: 'NAME', get: (e) => e.name},
      {header: 'ID', get: (e) => e.id},
      {header: 'CREATED', get: (e) => ago(e.createdAt)},
    ])
    return {items}
  }
}
