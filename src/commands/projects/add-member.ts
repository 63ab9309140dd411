import {Args} from '@oclif/core'
import type {User} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {enc} from '../../lib/scope.js'

export default class ProjectsAddMember extends MezuCommand<typeof ProjectsAddMember> {
  static override summary = 'Let a member-role user reach a project.'
  static override examples = ['<%= config.bin %> projects add-member shop dev@example.com', '<%= config.bin %> projects add-member shop dev@example.com --json']
  static override args = {
    project: Args.string({description: 'project name or id', required: true}),
    email: Args.string({description: 'email of an existing user', required: true}),
  }

  async run(): Promise<User> {
    const user = await this.api().post<User>(`projects/${enc(this.args.project)}/members`, {email: this.args.email})
    this.log(`${user.email} is now a member of ${this.args.project}.`)
    return user
  }
}
