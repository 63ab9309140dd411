import {Args, Flags} from '@oclif/core'
import type {ServiceAccount} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {enc} from '../../lib/scope.js'

export default class ServiceAccountsRotateKey extends MezuCommand<typeof ServiceAccountsRotateKey> {
  static override summary = 'Issue a new API key; the old one stops working now, or after --grace.'
  static override examples = ['<%= config.bin %> service-accounts rotate-key ci-deployer', '<%= config.bin %> service-accounts rotate-key ci-deployer --grace 1h --json']
  static override args = {account: Args.string({description: 'account name or id', required: true})}
  static override flags = {grace: Flags.string({description: 'keep the old key valid this long (e.g. 1h) so CI can roll without downtime'})}

  async run(): Promise<{serviceAccount: ServiceAccount; apiKey: string; previousKeyValidUntil: string | null}> {
    const r = await this.api().post<{serviceAccount: ServiceAccount; apiKey: string; previousKeyValidUntil: string | null}>(`service-accounts/${enc(this.args.account)}/rotate`, {grace: this.flags.grace})
    this.log(`New API key for ${r.serviceAccount.name} (shown once, keep it secret): ${r.apiKey}`)
    this.log(r.previousKeyValidUntil ? `The previous key works until ${r.previousKeyValidUntil}.` : 'The previous key no longer works.')
    return r
  }
}
