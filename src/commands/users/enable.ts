import {Args} from '@oclif/core'
import type {UserStatusChange} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {enc} from '../../lib/scope.js'

export default class UsersEnable extends MezuCommand<typeof UsersEnable> {
  static override summary = 'Enable a disabled user again (an invited user stays invited).'
  static override examples = ['<%= config.bin %> users enable ada@example.com', '<%= config.bin %> users enable ada@example.com --json']
  static override args = {user: Args.string({description: 'email or id', required: true})}

  async run(): Promise<UserStatusChange> {
    const res = await this.api().post<UserStatusChange>(`users/${enc(this.args.user)}/enable`)
    this.log(`${res.user.email} is now ${res.user.status}${res.revokedSessions ? ` (${res.revokedSessions} session(s) revoked)` : ''}.`)
    return res
  }
}
