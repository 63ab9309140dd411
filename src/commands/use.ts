import {Args} from '@oclif/core'
import type {Environment, Project} from '../lib/api-types/index.js'
import {MezuCommand} from '../lib/base-command.js'
import {writeSettings} from '../lib/credentials.js'
import {enc} from '../lib/scope.js'

export default class Use extends MezuCommand<typeof Use> {
  static override summary = 'Set the project (and environment) later commands use by default.'
  static override examples = ['<%= config.bin %> use shop', '<%= config.bin %> use shop/staging']
  static override args = {target: Args.string({description: 'PROJECT or PROJECT/ENV', required: true})}

  async run() {
    const [projectRef, envRef, ...rest] = this.args.target.split('/')
    if (rest.length > 0 || !projectRef) this.error('expected PROJECT or PROJECT/ENV', {exit: 2})
    const api = this.api()
    const project = await api.get<Project>(`projects/${enc(projectRef)}`)
    const env = envRef ? await api.get<Environment>(`projects/${enc(project.id)}/environments/${enc(envRef)}`) : undefined
    writeSettings({apiUrl: this.apiUrl(), project: project.name, env: env?.name})
    this.log(`Now using ${project.name}${env ? `/${env.name}` : ''}.`)
    return {project, environment: env ?? null}
  }
}
