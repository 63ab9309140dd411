import {Args, Flags} from '@oclif/core'
import type {CreateServiceAccountResponse} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'

export default class ServiceAccountsCreate extends MezuCommand<typeof ServiceAccountsCreate> {
  static override summary = 'Create a service account and print its API key (shown once: keep it as a secret).'
  static override examples = [
    '<%= config.bin %> service-accounts create ci-deployer --scope routes:write --scope projects:read --project shop',
    '<%= config.bin %> service-accounts create nightly --scope routes:read --expires 30d --json',
  ]

  static override args = {name: Args.string({description: 'account name', required: true})}
  static override flags = {
    scope: Flags.string({description: 'a scope like routes:write (repeat for more)', multiple: true, required: true}),
    project: Flags.string({description: 'limit the account to this project (name or id)'}),
    expires: Flags.string({description: 'when the account expires: a duration (30d, 12h) or an ISO date'}),
    description: Flags.string({description: 'a line about what the account is for'}),
  }

  async run(): Promise<CreateServiceAccountResponse> {
    const f = this.flags
    const r = await this.api().post<CreateServiceAccountResponse>('service-accounts', {name: this.args.name, scopes: f.scope, project: f.project, expires: f.expires, description: f.description})
    this.log(`Created service account ${r.serviceAccount.name} (${r.serviceAccount.id}).`)
    this.log(`API key (shown once, keep it secret): ${r.apiKey}`)
    return r
  }
}
