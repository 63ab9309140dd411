import {Args} from '@oclif/core'
import type {Route} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {routeDetails} from '../../lib/route-flags.js'
import {enc} from '../../lib/scope.js'

export default class RoutesGet extends MezuCommand<typeof RoutesGet> {
  static override summary = 'Show a route and its public URL.'
  static override examples = ['<%= config.bin %> routes get shop.mezu.localhost/api', '<%= config.bin %> routes get rte_0123456789abcdefghjk --json']
  static override args = {route: Args.string({description: 'route id, or HOSTNAME[/PATH]', required: true})}

  async run(): Promise<Route> {
    const route = await this.api().get<Route>(`routes/${enc(this.args.route)}`)
    this.log(routeDetails(route))
    return route
  }
}
