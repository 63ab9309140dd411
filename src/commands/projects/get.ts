import {Args} from '@oclif/core'
import type {Environment, Project} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {details} from '../../lib/output.js'
import {enc} from '../../lib/scope.js'

export default class ProjectsGet extends MezuCommand<typeof ProjectsGet> {
  static override summary = 'Show a project and its environments.'
  static override examples = ['<%= config.bin %> projects get shop', '<%= config.bin %> projects get prj_0123456789abcdefghjk --json']
  static override args = {project: Args.string({description: 'project name or id', required: true})}

  async run(): Promise<Project & {environments: Environment[]}> {
    const api = this.api()
    const project = await api.get<Project>(`projects/${enc(this.args.project)}`)
    const environments = await api.all<Environment>(`projects/${enc(project.id)}/environments`)
    this.log(details([
      ['name', project.name],
      ['id', project.id],
      ['description', project.description],
      ['environments', environments.map((e) => e.name).join(', ')],
      ['created', project.createdAt],
    ]))
    return {...project, environments}
  }
}
