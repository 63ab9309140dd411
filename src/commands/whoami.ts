import type {WhoAmI} from '../lib/api-types/index.js'
import {MezuCommand} from '../lib/base-command.js'
import {selectedContext} from '../lib/credentials.js'
import {details} from '../lib/output.js'

export default class Whoami extends MezuCommand<typeof Whoami> {
  static override summary = 'Show who you are on the platform, and the project and environment in use.'
  static override examples = ['<%= config.bin %> whoami', '<%= config.bin %> whoami --json']

  async run() {
    const me = await this.api().get<WhoAmI>('me')
    const s = selectedContext() ?? {name: undefined, project: undefined, env: undefined}
    const p = me.principal
    this.log(details([
      ['platform', this.apiUrl()],
      ['context', s.name],
      [p.kind === 'user' ? 'user' : 'service account', p.name],
      [p.kind === 'user' ? 'role' : 'scopes', p.kind === 'user' ? p.role : (p.scopes ?? []).join(' ')],
      ['project', process.env.MEZU_PROJECT ?? s.project],
      ['environment', process.env.MEZU_ENV ?? s.env],
    ]))
    return {...me, apiUrl: this.apiUrl(), context: s.name ?? null, project: process.env.MEZU_PROJECT ?? s.project ?? null, env: process.env.MEZU_ENV ?? s.env ?? null}
  }
}
