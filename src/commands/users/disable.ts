import {Args} from '@oclif/core'
import type {UserStatusChange} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {enc} from '../../lib/scope.js'

export default class UsersDisable extends MezuCommand<typeof UsersDisable> {
  static override summary = 'Disable a user: every session of theirs ends at once and they cannot log in.'
  static override examples = ['<%= config.bin %> users disable ada@example.com', '<%= config.bin %> users disable ada@example.com --json']
  static override args = {user: Args.string({description: 'email or id', required: true})}

  async run(): Promise<UserStatusChange> {
    const res = await this.api().post<UserStatusChange>(`users/${enc(this.args.user)}/disable`)
    this.log(`${res.user.email} is now ${res.user.status}${res.revokedSessions ? ` (${res.revokedSessions} session(s) revoked)` : ''}.`)
    return res
  }
}
