import {Args} from '@oclif/core'
import {MezuCommand} from '../../lib/base-command.js'
import {enc} from '../../lib/scope.js'

export default class ServiceAccountsDelete extends MezuCommand<typeof ServiceAccountsDelete> {
  static override summary = 'Delete a service account and its keys.'
  static override examples = ['<%= config.bin %> service-accounts delete old-bot --json']
  static override args = {account: Args.string({description: 'account name or id', required: true})}

  async run(): Promise<{deleted: string}> {
    await this.api().delete(`service-accounts/${enc(this.args.account)}`)
    this.log(`Deleted service account ${this.args.account}.`)
    return {deleted: this.args.account}
  }
}
