import {Flags} from '@oclif/core'
import type {SessionListItem} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {ago} from '../../lib/output.js'

export default class Sessions extends MezuCommand<typeof Sessions> {
  static override summary = 'List active sessions (yours, or everyone\'s for owners and admins).'
  static override aliases = ['sessions:list']
  static override examples = ['<%= config.bin %> sessions', '<%= config.bin %> sessions list --user ada@example.com --json']
  static override flags = {user: Flags.string({description: 'only this user\'s sessions (email or id)'})}

  async run(): Promise<{items: SessionListItem[]}> {
    const items = await this.api().all<SessionListItem>('sessions', {user: this.flags.user})
    this.table(items, [
      {header: 'ID', get: (s) => s.id},
      {header: 'USER', get: (s) => s.userEmail ?? s.userId},
      {header: 'CLIENT', get: (s) => s.client},
      {header: 'IP', get: (s) => s.ip},
      {header: 'CREATED', get: (s) => ago(s.createdAt)},
      {header: 'LAST USED', get: (s) => ago(s.lastUsedAt)},
      {header: 'EXPIRES', get: (s) => ago(s.expiresAt)},
    ])
    return {items}
  }
}
