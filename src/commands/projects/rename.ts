import {Args} from '@oclif/core'
import type {Project} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {enc} from '../../lib/scope.js'

export default class ProjectsRename extends MezuCommand<typeof ProjectsRename> {
  static override summary = 'Rename a project.'
  static override examples = ['<%= config.bin %> projects rename shop store']
  static override args = {
    project: Args.string({description: 'project name or id', required: true}),
    name: Args.string({description: 'new name', required: true}),
  }

  async run(): Promise<Project> {
    const project = await this.api().patch<Project>(`projects/${enc(this.args.project)}`, {name: this.args.name})
    this.log(`Renamed project to ${project.name}.`)
    return project
  }
}
