import {Flags} from '@oclif/core'
import type {CreateUserResponse} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {checkChoice, ROLES} from '../../lib/users-flags.js'

export default class UsersCreate extends MezuCommand<typeof UsersCreate> {
  static override summary = 'Create a user and print their one-time invitation (code and link).'
  static override examples = [
    '<%= config.bin %> users create --email ada@example.com --name "Ada Lovelace"',
    '<%= config.bin %> users create --email ops@example.com --role admin --directory eng/sre --json',
  ]

  static override flags = {
    email: Flags.string({description: 'the user\'s email (their login)', required: true}),
    name: Flags.string({description: 'display name'}),
    role: Flags.string({description: 'role on the platform: owner, admin or member', default: 'member'}),
    directory: Flags.string({description: 'directory (id, path or unique name) to add the user to; repeatable', multiple: true}),
  }

  async run(): Promise<CreateUserResponse> {
    const f = this.flags
    const role = checkChoice('role', f.role, ROLES)
    const res = await this.api().post<CreateUserResponse>('users', {email: f.email, name: f.name, role, directories: f.directory})
    this.log(`Created ${res.user.email} (${res.user.role}, invited).`)
    this.log(`Invitation code (shown once, valid until ${res.invite.expiresAt}):\n  ${res.invite.code}`)
    this.log(`They set a password with:  mezu login --invite ${res.invite.code}\nor in a browser:  ${res.invite.link}`)
    return res
  }
}
