import {Args, Flags} from '@oclif/core'
import type {SessionRevokeResult} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {MezuError} from '../../lib/errors.js'
import {enc} from '../../lib/scope.js'

export default class SessionsRevoke extends MezuCommand<typeof SessionsRevoke> {
  static override summary = 'Revoke one session, all of a user\'s (--user), or every session but your own (--all).'
  static override examples = [
    '<%= config.bin %> sessions revoke ses_0123456789abcdefghjk',
    '<%= config.bin %> sessions revoke --user ada@example.com',
    '<%= config.bin %> sessions revoke --all --json',
  ]

  static override args = {id: Args.string({description: 'session id'})}
  static override flags = {
    user: Flags.string({description: 'revoke every session of this user (email or id)', exclusive: ['all']}),
    all: Flags.boolean({description: 'revoke every session except the one you are using', exclusive: ['user']}),
  }

  async run(): Promise<SessionRevokeResult> {
    const {id} = this.args
    const {user, all} = this.flags
    if ([id, user, all || undefined].filter((x) => x !== undefined).length !== 1) throw new MezuError('usage', 'give exactly one of: a session ID, --user EMAIL, --all')
    const api = this.api()
    const result = id ? (await api.delete(`sessions/${enc(id)}`), {revoked: [id], kept: null}) : await api.post<SessionRevokeResult>('sessions/revoke', user ? {user} : {all: true})
    this.log(`Revoked ${result.revoked.length} session(s).${result.kept ? ` Kept yours (${result.kept}).` : ''}`)
    return result
  }
}
