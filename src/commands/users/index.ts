import {Flags} from '@oclif/core'
import type {Page, User} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {ago} from '../../lib/output.js'
import {ROLES} from '../../lib/users-flags.js'

export default class Users extends MezuCommand<typeof Users> {
  static override summary = 'List the users of the platform, oldest first; filter by role, status or directory.'
  static override aliases = ['users:list']
  static override examples = [
    '<%= config.bin %> users',
    '<%= config.bin %> users list --role admin --status active',
    '<%= config.bin %> users list --directory eng/platform --limit 20 --json',
  ]

  static override flags = {
    limit: Flags.integer({description: 'at most this many users (default: all)', min: 1, max: 500}),
    role: Flags.string({description: 'only users with this role', options: [...ROLES]}),
    status: Flags.string({description: 'only users with this status', options: ['active', 'invited', 'disabled']}),
    directory: Flags.string({description: 'only direct members of this directory (path or id)'}),
  }

  async run(): Promise<{items: User[]}> {
    const {limit, role, status, directory} = this.flags
    const query = {role, status, directory}
    const items = limit ? (await this.api().get<Page<User>>('users', {...query, limit})).items : await this.api().all<User>('users', query)
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
