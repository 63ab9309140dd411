import {Flags} from '@oclif/core'
import type {AuditEntry, Page} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'

export default class Audit extends MezuCommand<typeof Audit> {
  static override summary = 'Read the audit log, newest first: who changed what, when, from where.'
  static override aliases = ['audit:list']
  static override examples = ['<%= config.bin %> audit --limit 20', '<%= config.bin %> audit list --action project. --limit 20 --json']
  static override flags = {
    limit: Flags.integer({description: 'how many entries', default: 50, min: 1, max: 500}),
    action: Flags.string({description: 'only actions starting with this (e.g. project., user.delete)'}),
    actor: Flags.string({description: 'only this actor (email, account name or id)'}),
  }

  async run(): Promise<{items: AuditEntry[]}> {
    const page = await this.api().get<Page<AuditEntry>>('audit', {limit: this.flags.limit, action: this.flags.action, actor: this.flags.actor})
    this.table(page.items, [
      {header: 'TIME', get: (e) => e.at},
      {header: 'ACTOR', get: (e) => e.actor.name ?? e.actor.kind},
      {header: 'ACTION', get: (e) => e.action},
      {header: 'TARGET', get: (e) => e.target.name ?? e.target.id ?? e.target.type},
      {header: 'FROM', get: (e) => e.ip},
    ])
    return {items: page.items}
  }
}
