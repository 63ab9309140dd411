import {Flags} from '@oclif/core'
import type {RouteCreated} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {optionalEnvRef, routeDetails, routeFlags} from '../../lib/route-flags.js'
import {resolveProjectRef, scopeFlags} from '../../lib/scope.js'
import {sizeFlag} from '../../lib/size.js'

export default class RoutesCreate extends MezuCommand<typeof RoutesCreate> {
  static override summary = 'Publish a service at a hostname (and path); prints its public URL.'
  static override description = 'A bare label becomes LABEL.<domain>; without --policy any signed-in user may pass.'
  static override examples = [
    '<%= config.bin %> routes create --hostname shop --service web --project shop --env production',
    '<%= config.bin %> routes create --hostname shop.example.com --path /api --service api --policy staff --body-limit 10MB --json',
  ]

  static override flags = {
    ...scopeFlags,
    ...routeFlags,
    hostname: Flags.string({description: routeFlags.hostname.description, required: true}),
    service: Flags.string({description: routeFlags.service.description, required: true}),
  }

  async run(): Promise<RouteCreated> {
    const f = this.flags
    const route = await this.api().post<RouteCreated>('routes', {
      project: resolveProjectRef(f.project), env: optionalEnvRef(f.env), hostname: f.hostname, path: f.path, service: f.service, policy: f.policy,
      bodyLimitBytes: sizeFlag('body-limit', f['body-limit']), rateLimitPerMinute: f['rate-limit'],
    })
    this.log(`Created route ${route.url}`)
    this.log(routeDetails(route))
    for (const w of route.warnings ?? []) this.logToStderr(`Warning: ${w}`)
    return route
  }
}
