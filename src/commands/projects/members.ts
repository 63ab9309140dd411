import {Args} from '@oclif/core'
import type {User} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {enc} from '../../lib/scope.js'

export default class ProjectsMembers extends MezuCommand<typeof ProjectsMembers> {
  static override summary = 'List the users who are members of a project (owners and admins reach every project anyway).'
  static override examples = ['<%= config.bin %> projects members shop', '<%= config.bin %> projects members shop --json']
  static override args = {project: Args.string({description: 'project name or id', required: true})}

  async run(): Promise<{items: User[]}> {
    const items = await this.api().all<User>(`projects/${enc(this.args.project)}/members`)
    this.table(items, [
      {header: 'EMAIL', get: (u) => u.email},
      {header: 'ROLE', get: (u) => u.role},
      {header: 'ID', get: (u) => u.id},
    ])
    return {items}
  }
}
