import {Args, Flags} from '@oclif/core'
import type {Route} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {MezuError} from '../../lib/errors.js'
import {routeDetails, routeFlags} from '../../lib/route-flags.js'
import {enc} from '../../lib/scope.js'
import {sizeFlag} from '../../lib/size.js'

export default class RoutesUpdate extends MezuCommand<typeof RoutesUpdate> {
  static override summary = 'Change a route\'s hostname, path, service, policy or limits.'
  static override examples = [
    '<%= config.bin %> routes update shop.mezu.localhost --policy staff',
    '<%= config.bin %> routes update rte_0123456789abcdefghjk --no-policy --rate-limit 600 --json',
  ]

  static override args = {route: Args.string({description: 'route id, or HOSTNAME[/PATH]', required: true})}
  static override flags = {
    ...routeFlags,
    policy: Flags.string({description: routeFlags.policy.description, exclusive: ['no-policy']}),
    'no-policy': Flags.boolean({description: 'remove the policy: any signed-in user may pass', exclusive: ['policy']}),
  }

  async run(): Promise<Route> {
    const f = this.flags
    const body = {
      hostname: f.hostname, path: f.path, service: f.service, policy: f['no-policy'] ? null : f.policy,
      bodyLimitBytes: sizeFlag('body-limit', f['body-limit']), rateLimitPerMinute: f['rate-limit'],
    }
    if (Object.values(body).every((v) => v === undefined)) throw new MezuError('usage', 'nothing to change: give at least one of --hostname, --path, --service, --policy, --no-policy, --body-limit, --rate-limit')
    const route = await this.api().patch<Route>(`routes/${enc(this.args.route)}`, body)
    this.log(`Updated route ${route.url}`)
    this.log(routeDetails(route))
    return route
  }
}
