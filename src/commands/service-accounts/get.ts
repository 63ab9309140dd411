import {Args} from '@oclif/core'
import type {ServiceAccount} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {details} from '../../lib/output.js'
import {enc} from '../../lib/scope.js'

export default class ServiceAccountsGet extends MezuCommand<typeof ServiceAccountsGet> {
  static override summary = 'Show a service account (never its key).'
  static override examples = ['<%= config.bin %> service-accounts get ci-deployer --json']
  static override args = {account: Args.string({description: 'account name or id', required: true})}

  async run(): Promise<ServiceAccount> {
    const a = await this.api().get<ServiceAccount>(`service-accounts/${enc(this.args.account)}`)
    this.log(details([
      ['name', a.name], ['id', a.id], ['status', a.status], ['scopes', a.scopes.join(' ')], ['project', a.projectId],
      ['description', a.description], ['created', a.createdAt], ['expires', a.expiresAt ?? 'never'], ['revoked', a.revokedAt],
    ]))
    return a
  }
}
