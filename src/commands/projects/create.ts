import {Args, Flags} from '@oclif/core'
import type {Project} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'

export default class ProjectsCreate extends MezuCommand<typeof ProjectsCreate> {
  static override summary = 'Create a project.'
  static override examples = ['<%= config.bin %> projects create shop', '<%= config.bin %> projects create shop --description "web shop" --json']
  static override args = {name: Args.string({description: 'project name', required: true})}
  static override flags = {description: Flags.string({description: 'a line about the project'})}

  async run(): Promise<Project> {
    const project = await this.api().post<Project>('projects', {name: this.args.name, description: this.flags.description})
    this.log(`Created project ${project.name} (${project.id}).`)
    return project
  }
}
