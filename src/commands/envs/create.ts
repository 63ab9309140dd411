import {Args} from '@oclif/core'
import type {Environment} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {enc, projectFlag, resolveProjectRef} from '../../lib/scope.js'

export default class EnvsCreate extends MezuCommand<typeof EnvsCreate> {
  static override summary = 'Create an environment in a project.'
  static override examples = ['<%= config.bin %> envs create staging --project shop']
  static override args = {name: Args.string({description: 'environment name', required: true})}
  static override flags = {...projectFlag}

  async run(): Promise<Environment> {
    const env = await this.api().post<Environment>(`projects/${enc(resolveProjectRef(this.flags.project))}/environments`, {name: this.args.name})
    this.log(`Created environment ${env.name} (${env.id}).`)
    return env
  }
}
