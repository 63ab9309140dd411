import {Args, Flags} from '@oclif/core'
import type {Policy} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {MezuError} from '../../lib/errors.js'
import {ruleFlags, rulesFromFlags} from '../../lib/policy-flags.js'
import {enc, projectFlag, resolveProjectRef} from '../../lib/scope.js'

export default class PoliciesUpdate extends MezuCommand<typeof PoliciesUpdate> {
  static override summary = 'Change a policy: each list you give replaces that list; lists you leave out stay.'
  static override examples = [
    '<%= config.bin %> policies update staff --allow-email ada@example.com --allow-email bob@example.com',
    '<%= config.bin %> policies update open --no-public --json',
  ]

  static override args = {policy: Args.string({description: 'policy name or id', required: true})}
  static override flags = {
    ...projectFlag,
    name: Flags.string({description: 'rename the policy'}),
    public: Flags.boolean({description: 'let anyone in (--no-public to require the allow rules)', allowNo: true}),
    ...ruleFlags,
  }

  async run(): Promise<Policy> {
    const body = {name: this.flags.name, public: this.flags.public, ...rulesFromFlags(this.flags)}
    if (Object.values(body).every((v) => v === undefined)) throw new MezuError('usage', 'nothing to change: give --name, --public/--no-public or allow/deny flags')
    const p = await this.api().patch<Policy>(`projects/${enc(resolveProjectRef(this.flags.project))}/policies/${enc(this.args.policy)}`, body)
    this.log(`Updated policy ${p.name}.`)
    return p
  }
}
