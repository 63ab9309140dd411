import {Args} from '@oclif/core'
import {MezuCommand} from '../../lib/base-command.js'
import {enc, projectFlag, resolveProjectRef} from '../../lib/scope.js'

export default class EnvsDelete extends MezuCommand<typeof EnvsDelete> {
  static override summary = 'Delete an environment and the routes in it.'
  static override examples = ['<%= config.bin %> envs delete staging --project shop']
  static override args = {env: Args.string({description: 'environment name or id', required: true})}
  static override flags = {...projectFlag}

  async run(): Promise<{deleted: string}> {
    await this.api().delete(`projects/${enc(resolveProjectRef(this.flags.project))}/environments/${enc(this.args.env)}`)
    this.log(`Deleted environment ${this.args.env}.`)
    return {deleted: this.args.env}
  }
}
