import {Args} from '@oclif/core'
import type {Policy} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {details} from '../../lib/output.js'
import {enc, projectFlag, resolveProjectRef} from '../../lib/scope.js'

export default class PoliciesGet extends MezuCommand<typeof PoliciesGet> {
  static override summary = 'Show a policy and its rules.'
  static override examples = ['<%= config.bin %> policies get staff --project shop --json']
  static override args = {policy: Args.string({description: 'policy name or id', required: true})}
  static override flags = {...projectFlag}

  async run(): Promise<Policy> {
    const p = await this.api().get<Policy>(`projects/${enc(resolveProjectRef(this.flags.project))}/policies/${enc(this.args.policy)}`)
    const rules = (side: 'allow' | 'deny'): Array<[string, unknown]> => [
      [`${side} emails`, p[side].emails.join(' ')], [`${side} directories`, p[side].directories.join(' ')],
      [`${side} service accounts`, p[side].serviceAccounts.join(' ')], [`${side} ips`, p[side].ips.join(' ')],
    ]
    this.log(details([['name', p.name], ['id', p.id], ['public', p.public], ...rules('allow'), ...rules('deny'), ['updated', p.updatedAt]]))
    return p
  }
}
