import {Args} from '@oclif/core'
import {MezuCommand} from '../../lib/base-command.js'
import {enc} from '../../lib/scope.js'

export default class ProjectsRemoveMember extends MezuCommand<typeof ProjectsRemoveMember> {
  static override summary = 'Take a user\'s membership of a project away.'
  static override examples = ['<%= config.bin %> projects remove-member shop dev@example.com', '<%= config.bin %> projects remove-member shop usr_0123456789abcdefghjk --json']
  static override args = {
    project: Args.string({description: 'project name or id', required: true}),
    user: Args.string({description: 'email or id of the user', required: true}),
  }

  async run(): Promise<{project: string; removed: string}> {
    await this.api().delete(`projects/${enc(this.args.project)}/members/${enc(this.args.user)}`)
    this.log(`${this.args.user} is no longer a member of ${this.args.project}.`)
    return {project: this.args.project, removed: this.args.user}
  }
}
