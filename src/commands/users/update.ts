import {Args, Flags} from '@oclif/core'
import type {User} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {MezuError} from '../../lib/errors.js'
import {enc} from '../../lib/scope.js'
import {checkChoice, ROLES} from '../../lib/users-flags.js'

export default class UsersUpdate extends MezuCommand<typeof UsersUpdate> {
  static override summary = 'Change a user\'s name, email or role.'
  static override description = 'Only owners change owners, and the last active owner cannot be demoted.'
  static override examples = ['<%= config.bin %> users update ada@example.com --role admin', '<%= config.bin %> users update ada@example.com --name "Ada King" --json']
  static override args = {user: Args.string({description: 'email or id', required: true})}
  static override flags = {
    name: Flags.string({description: 'new display name'}),
    email: Flags.string({description: 'new email'}),
    role: Flags.string({description: 'new role: owner, admin or member'}),
  }

  async run(): Promise<User> {
    const {name, email, role} = this.flags
    if (name === undefined && email === undefined && role === undefined) throw new MezuError('usage', 'nothing to change: pass --name, --email or --role')
    const body = {name, email, role: checkChoice('role', role, ROLES)}
    const user = await this.api().patch<User>(`users/${enc(this.args.user)}`, body)
    this.log(`Updated ${user.email} (${user.role}, ${user.status}).`)
    return user
  }
}
