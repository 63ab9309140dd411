import {Flags} from '@oclif/core'
import type {WarpgateCreated} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {resolveEnvRef, resolveProjectRef, scopeFlags} from '../../lib/scope.js'

export default class WarpgatesCreate extends MezuCommand<typeof WarpgatesCreate> {
  static override summary = 'Register a Warpgate and print its one-time registration token.'
  static override examples = [
    '<%= config.bin %> warpgates create --name hello --project shop --env prod',
    'MEZU_WARPGATE_TOKEN=$(<%= config.bin %> warpgates create --name api --json | jq -r .token) <%= config.bin %> tunnel 3000',
  ]
  static override flags = {
    ...scopeFlags,
    name: Flags.string({char: 'n', description: 'Warpgate name; also the service name routes point at (default: "default")'}),
    service: Flags.string({description: 'service name routes point at, when it differs from --name'}),
  }

  async run(): Promise<WarpgateCreated> {
    const created = await this.api().post<WarpgateCreated>('warpgates', {
      project: resolveProjectRef(this.flags.project), environment: resolveEnvRef(this.flags.env), name: this.flags.name, service: this.flags.service,
    })
    this.log(`Created Warpgate ${created.warpgate.name} (${created.warpgate.id}) for service "${created.warpgate.service}".`)
    this.log(`Registration token (shown once, works once):\n\n  ${created.token}\n`)
    this.log(`Start it with: MEZU_WARPGATE_TOKEN=<token> mezu tunnel <port or URL>`)
    return created
  }
}
