import {Args, Flags} from '@oclif/core'
import type {DeletePolicyResult} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {enc, projectFlag, resolveProjectRef} from '../../lib/scope.js'

export default class PoliciesDelete extends MezuCommand<typeof PoliciesDelete> {
  static override summary = 'Delete a policy; one that routes use needs --force (they then admit any signed-in user).'
  static override examples = ['<%= config.bin %> policies delete staff --project shop', '<%= config.bin %> policies delete staff --force --json']
  static override args = {policy: Args.string({description: 'policy name or id', required: true})}
  static override flags = {...projectFlag, force: Flags.boolean({description: 'delete even if routes use it'})}

  async run(): Promise<DeletePolicyResult> {
    const r = await this.api().delete<DeletePolicyResult>(`projects/${enc(resolveProjectRef(this.flags.project))}/policies/${enc(this.args.policy)}`, {force: this.flags.force || undefined})
    this.log(`Deleted policy ${this.args.policy}.${r.detachedRoutes.length ? ` These routes now admit any signed-in user: ${r.detachedRoutes.join(', ')}` : ''}`)
    return r
  }
}
