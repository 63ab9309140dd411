import {Args, Flags} from '@oclif/core'
import type {EraseUserResponse} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {confirmOrRefuse} from '../../lib/confirm.js'
import {enc} from '../../lib/scope.js'

export default class UsersDelete extends MezuCommand<typeof UsersDelete> {
  static override summary = 'Erase a user: their profile, sessions, memberships and login history; the audit log keeps only that an erasure happened.'
  static override description = 'Audit entries naming them are anonymised and both stores are checkpointed and vacuumed, so no deleted bytes remain; without a terminal it needs --yes.'
  static override examples = ['<%= config.bin %> users delete ada@example.com', '<%= config.bin %> users delete ada@example.com --yes --json']
  static override args = {user: Args.string({description: 'email or id', required: true})}
  static override flags = {yes: Flags.boolean({char: 'y', description: 'do not ask for confirmation (needed without a terminal)'})}

  async run(): Promise<EraseUserResponse> {
    await confirmOrRefuse({yes: this.flags.yes, canPrompt: this.canPrompt(), question: `Erase ${this.args.user} and everything about them? This cannot be undone.`})
    const res = await this.api().delete<EraseUserResponse>(`users/${enc(this.args.user)}`)
    this.log(`Erased ${res.erased.email}: ${res.removed.sessions} session(s), ${res.removed.loginHistory} login record(s), ${res.removed.memberships} membership(s); ${res.anonymisedAuditEntries} audit entries anonymised.`)
    if (res.policiesUpdated.length > 0) this.log(`The email is replaced by an address that matches nobody in ${res.policiesUpdated.length} policy(ies): ${res.policiesUpdated.join(', ')}.`)
    return res
  }
}
