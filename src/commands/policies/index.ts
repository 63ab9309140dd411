import type {Policy} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {enc, projectFlag, resolveProjectRef} from '../../lib/scope.js'

export default class Policies extends MezuCommand<typeof Policies> {
  static override summary = 'List the access policies of a project.'
  static override aliases = ['policies:list']
  static override examples = ['<%= config.bin %> policies --project shop', '<%= config.bin %> policies list --json']
  static override flags = {...projectFlag}

  async run(): Promise<{items: Policy[]}> {
    const items = await this.api().all<Policy>(`projects/${enc(resolveProjectRef(this.flags.project))}/policies`)
    const n = (r: Policy['allow']) => r.emails.length + r.directories.length + r.serviceAccounts.length + r.ips.length
    this.table(items, [
      {header: 'NAME', get: (p) => p.name},
      {header: 'ID', get: (p) => p.id},
      {header: 'PUBLIC', get: (p) => (p.public ? 'yes' : 'no')},
      {header: 'ALLOW RULES', get: (p) => n(p.allow)},
      {header: 'DENY RULES', get: (p) => n(p.deny)},
    ])
    return {items}
  }
}
