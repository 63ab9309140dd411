import {Args} from '@oclif/core'
import {MezuCommand} from '../../lib/base-command.js'
import {enc} from '../../lib/scope.js'

export default class RoutesDelete extends MezuCommand<typeof RoutesDelete> {
  static override summary = 'Delete a route: the edge stops serving it at once.'
  static override examples = ['<%= config.bin %> routes delete shop.mezu.localhost/api', '<%= config.bin %> routes delete rte_0123456789abcdefghjk --json']
  static override args = {route: Args.string({description: 'route id, or HOSTNAME[/PATH]', required: true})}

  async run(): Promise<{deleted: string}> {
    await this.api().delete(`routes/${enc(this.args.route)}`)
    this.log(`Deleted route ${this.args.route}.`)
    return {deleted: this.args.route}
  }
}
