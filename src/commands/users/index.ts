import type {User} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {ago} from '../../lib/output.js'

export default class Users extends MezuCommand<typeof Users> {
  static override summary = 'List the users of the platform.'
  static override aliases = ['users:list']
  static override examples = ['<%= config.bin %> users', '<%= config.bin %> users list --json']

  async run(): Promise<{items: User[]}> {
    const items = await this.api().all<User>('users')
    this.table(items, [
      {header: 'EMAIL', get: (u) => u.email},
      {header: 'NAME', get: (u) => u.name},
      {header: 'ROLE', get: (u) => u.role},
      {header: 'STATUS', get: (u) => u.status},
      {header: 'CREATED', get: (u) => ago(u.createdAt)},
    ])
    return {items}
  }
}
