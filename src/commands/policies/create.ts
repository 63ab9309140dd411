import {Args, Flags} from '@oclif/core'
import type {Policy} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {ruleFlags, rulesFromFlags} from '../../lib/policy-flags.js'
import {enc, projectFlag, resolveProjectRef} from '../../lib/scope.js'

export default class PoliciesCreate extends MezuCommand<typeof PoliciesCreate> {
  static override summary = 'Create an access policy; without --public only the people and accounts it allows get in.'
  static override description = 'Deny wins over allow; a bare IP becomes /32 or /128.'
  static override examples = [
    '<%= config.bin %> policies create staff --allow-directory eng --deny-ip 203.0.113.0/24 --project shop',
    '<%= config.bin %> policies create open --public --json',
  ]

  static override args = {name: Args.string({description: 'policy name', required: true})}
  static override flags = {...projectFlag, public: Flags.boolean({description: 'let anyone in (deny rules still apply)'}), ...ruleFlags}

  async run(): Promise<Policy> {
    const body = {name: this.args.name, public: this.flags.public || undefined, ...rulesFromFlags(this.flags)}
    const policy = await this.api().post<Policy>(`projects/${enc(resolveProjectRef(this.flags.project))}/policies`, body)
    this.log(`Created policy ${policy.name} (${policy.id}).`)
    return policy
  }
}
