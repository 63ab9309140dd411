import {Args} from '@oclif/core'
import type {CreateUserResponse} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {enc} from '../../lib/scope.js'

export default class UsersInvite extends MezuCommand<typeof UsersInvite> {
  static override summary = 'Issue a new invitation to an invited user (earlier codes stop working).'
  static override examples = ['<%= config.bin %> users invite ada@example.com', '<%= config.bin %> users invite ada@example.com --json']
  static override args = {user: Args.string({description: 'email or id', required: true})}

  async run(): Promise<CreateUserResponse> {
    const res = await this.api().post<CreateUserResponse>(`users/${enc(this.args.user)}/invite`)
    this.log(`Invitation code for ${res.user.email} (shown once, valid until ${res.invite.expiresAt}):\n  ${res.invite.code}\n${res.invite.link}`)
    return res
  }
}
