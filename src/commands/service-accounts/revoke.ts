import {Args} from '@oclif/core'
import type {ServiceAccount} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {enc} from '../../lib/scope.js'

export default class ServiceAccountsRevoke extends MezuCommand<typeof ServiceAccountsRevoke> {
  static override summary = 'Revoke a service account: every key it has stops working at once.'
  static override examples = ['<%= config.bin %> service-accounts revoke ci-deployer --json']
  static override args = {account: Args.string({description: 'account name or id', required: true})}

  async run(): Promise<ServiceAccount> {
    const a = await this.api().post<ServiceAccount>(`service-accounts/${enc(this.args.account)}/revoke`)
    this.log(`Revoked service account ${a.name}.`)
    return a
  }
}
