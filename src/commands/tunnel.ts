import {Args, Flags} from '@oclif/core'
import {MezuCommand} from '../lib/base-command.js'
import {parseDuration} from '../lib/duration.js'
import {MezuError} from '../lib/errors.js'
import {resolveEnvRef, resolveProjectRef, scopeFlags} from '../lib/scope.js'
import {ensureRoute, publicUrl, registrationTokenFor} from '../lib/tunnel-setup.js'
import {describeEvent, resolveServiceTarget, runTunnel} from '../warpgate/index.js'

export default class Tunnel extends MezuCommand<typeof Tunnel> {
  static override summary = 'Publish a local service through a Warpgate: outbound-only mutual-TLS tunnel to the edge.'
  static override description = 'TARGET is a service directory holding mezu.json (its `command` is started and stopped with the tunnel, its `routes` ensured), a port (3000) or a URL (http://127.0.0.1:3000). Ctrl-C, SIGTERM or SIGHUP (a closed terminal) drains: the edge stops sending new requests, in-flight ones finish (--grace), then it exits 0. With --json every event is one JSON line.'
  static override examples = [
    '<%= config.bin %> tunnel ./hello --project demo --env prod',
    '<%= config.bin %> tunnel 3000 --name hello --route hello.mezu.localhost --project demo --env prod',
    '<%= config.bin %> tunnel ./hello --require-assertion',
    'MEZU_WARPGATE_TOKEN=mezu_wg_… <%= config.bin %> tunnel http://127.0.0.1:8080 --connections 4 --json',
    '<%= config.bin %> tunnel ./hello --state ~/.local/state/mezu/hello.json',
  ]
  static override args = {target: Args.string({description: 'service directory (mezu.json), port or URL of the local service', required: true})}
  static override flags = {
    ...scopeFlags,
    name: Flags.string({char: 'n', description: 'service name (default: from TARGET)'}),
    connections: Flags.integer({description: 'tunnel connections to keep to each edge', default: 2, min: 1, max: 16}),
    route: Flags.string({description: 'public hostname to route to this service (created or reused)', multiple: true}),
    token: Flags.string({description: 'one-time registration token (default: create one, when logged in)', env: 'MEZU_WARPGATE_TOKEN'}),
    grace: Flags.string({description: 'how long in-flight requests may take to finish on shutdown', default: '30s'}),
    state: Flags.string({description: 'file (0600) keeping the Warpgate\'s key and certificate, so a restart comes back as the same Warpgate without a new token', env: 'MEZU_WARPGATE_STATE'}),
    quiet: Flags.boolean({char: 'q', description: 'no line per request (connection events only)'}),
    'require-assertion': Flags.boolean({description: 'verify each request\'s Mezu-Jwt-Assertion (platform keys, audience = its host, expiry) and answer 401/403 JSON itself when it does not verify; public routes pass (the edge signs an anonymous assertion)'}),
  }

  // Under --json every event is one line, the closing summary included.
  override logJson(json: unknown): void {
    process.stdout.write(JSON.stringify(json) + '\n')
  }

  async run(): Promise<{type: 'exit'; warpgateId: string; requests: number}> {
    const target = resolveServiceTarget(this.args.target, {name: this.flags.name})
    const graceMs = parseDuration(this.flags.grace)
    if (graceMs === undefined) throw new MezuError('usage', `--grace must be a duration like 30s or 2m, got "${this.flags.grace}"`, 2)
    const apiUrl = this.apiUrl()
    const caPem = this.caPem(apiUrl)
    const json = this.jsonEnabled()
    // mezu.json routes keep their path and policy; --route HOST is HOST/ with no policy
    const routes = [...(this.flags.route ?? []).map((hostname) => ({hostname})), ...(target.routes ?? [])]
    const result = await runTunnel({
      target, apiUrl, caPem, statePath: this.flags.state, graceMs, connections: this.flags.connections, requireAssertion: this.flags['require-assertion'],
      // created on the fly for a logged-in user, unless --state brings the Warpgate back
      token: async () => (await registrationTokenFor(() => this.api(), this.flags, target.name)).token,
      onEvent: (e) => {
        if (e.type === 'request' && this.flags.quiet) return
        if (json) this.logJson(e)
        else this.log(describeEvent(e, routes.length > 0))
      },
      onNotice: (message) => this.logToStderr(message),
      afterStart: async (creds) => {
        for (const route of routes) {
          const r = await ensureRoute(this.api(), {...route, project: resolveProjectRef(this.flags.project), env: resolveEnvRef(this.flags.env), service: creds.info.service})
          const event = {type: 'route', hostname: r.hostname, url: publicUrl(creds.info.edgeUrl, r.hostname), reused: r.reused}
          if (json) this.logJson(event)
          else this.log(`Public URL: ${event.url}${r.reused ? ' (existing route)' : ''}`)
        }
      },
    })
    return {type: 'exit', ...result}
  }
}
