import type {Route} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {scopeFlags} from '../../lib/scope.js'

export default class Routes extends MezuCommand<typeof Routes> {
  static override summary = 'List routes (all you can reach, or those of --project / --env).'
  static override description = 'A route is named by id or HOSTNAME[/PATH].'
  static override aliases = ['routes:list']
  static override examples = ['<%= config.bin %> routes', '<%= config.bin %> routes list --project shop --env production --json']
  static override flags = {...scopeFlags}

  async run(): Promise<{items: Route[]}> {
    const items = await this.api().all<Route>('routes', {project: this.flags.project, env: this.flags.project ? this.flags.env : undefined})
    this.table(items, [
      {header: 'URL', get: (r) => r.url},
      {header: 'SERVICE', get: (r) => r.service},
      {header: 'POLICY', get: (r) => r.policyId ?? 'signed-in'},
      {header: 'ID', get: (r) => r.id},
    ])
    return {items}
  }
}
