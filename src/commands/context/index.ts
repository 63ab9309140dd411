import {type ContextSummary, summariseContexts} from '../../lib/contexts.js'
import {MezuCommand} from '../../lib/base-command.js'

export default class Context extends MezuCommand<typeof Context> {
  static override summary = 'List the platforms you are logged in to (contexts); * marks the current one.'
  static override aliases = ['context:list']
  static override examples = ['<%= config.bin %> context', '<%= config.bin %> context list --json', 'MEZU_CONTEXT=prod <%= config.bin %> routes']

  async run(): Promise<{current: string | null; items: ContextSummary[]}> {
    const res = summariseContexts()
    this.table(res.items, [
      {header: 'CURRENT', get: (c) => (c.current ? '*' : '')},
      {header: 'NAME', get: (c) => c.name},
      {header: 'API URL', get: (c) => c.apiUrl},
      {header: 'USER', get: (c) => (c.loggedIn ? c.principal : '(logged out)')},
      {header: 'PROJECT', get: (c) => (c.project ? `${c.project}${c.env ? `/${c.env}` : ''}` : '')},
    ])
    return res
  }
}
