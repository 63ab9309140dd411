import {Args, Flags} from '@oclif/core'
import {MezuCommand} from '../../lib/base-command.js'
import {enc} from '../../lib/scope.js'

export default class ProjectsDelete extends MezuCommand<typeof ProjectsDelete> {
  static override summary = 'Delete a project (with --force also its environments, routes and policies).'
  static override examples = ['<%= config.bin %> projects delete old-shop', '<%= config.bin %> projects delete old-shop --force --json']
  static override args = {project: Args.string({description: 'project name or id', required: true})}
  static override flags = {force: Flags.boolean({description: 'also delete everything inside the project'})}

  async run(): Promise<{deleted: string}> {
    await this.api().delete(`projects/${enc(this.args.project)}`, {force: this.flags.force || undefined})
    this.log(`Deleted project ${this.args.project}.`)
    return {deleted: this.args.project}
  }
}
