import type {ServiceAccount} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {ago} from '../../lib/output.js'

export default class ServiceAccounts extends MezuCommand<typeof ServiceAccounts> {
  static override summary = 'List service accounts (metadata only; keys are never shown again).'
  static override aliases = ['service-accounts:list']
  static override examples = ['<%= config.bin %> service-accounts', '<%= config.bin %> service-accounts list --json']

  async run(): Promise<{items: ServiceAccount[]}> {
    const items = await this.api().all<ServiceAccount>('service-accounts')
    this.table(items, [
      {header: 'NAME', get: (a) => a.name},
      {header: 'ID', get: (a) => a.id},
      {header: 'STATUS', get: (a) => a.status},
      {header: 'SCOPES', get: (a) => a.scopes.join(' ')},
      {header: 'PROJECT', get: (a) => a.projectId},
      {header: 'EXPIRES', get: (a) => (a.expiresAt ? ago(a.expiresAt) : 'never')},
    ])
    return {items}
  }
}
