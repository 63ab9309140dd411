import {Args} from '@oclif/core'
import type {UserDetails} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {details} from '../../lib/output.js'
import {enc} from '../../lib/scope.js'

export default class UsersGet extends MezuCommand<typeof UsersGet> {
  static override summary = 'Show a user: status, role, directories and the last logins.'
  static override examples = ['<%= config.bin %> users get ada@example.com', '<%= config.bin %> users get usr_0123456789abcdefghjk --json']
  static override args = {user: Args.string({description: 'email or id', required: true})}

  async run(): Promise<UserDetails> {
    const u = await this.api().get<UserDetails>(`users/${enc(this.args.user)}`)
    this.log(details([
      ['email', u.email], ['name', u.name], ['id', u.id], ['role', u.role], ['status', u.status],
      ['directories', u.directories.map((d) => d.path).join(', ')], ['active sessions', u.activeSessions], ['created', u.createdAt],
    ]))
    this.log('\nLast logins:')
    this.table(u.lastLogins, [
      {header: 'TIME', get: (l) => l.at}, {header: 'IP', get: (l) => l.ip}, {header: 'USER AGENT', get: (l) => l.userAgent},
      {header: 'METHOD', get: (l) => l.method}, {header: 'RESULT', get: (l) => l.result},
    ])
    return u
  }
}
