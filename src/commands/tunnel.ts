import {Args, Flags} from '@oclif/core'
import {MezuCommand} from '../lib/base-command.js'
import {parseDuration} from '../lib/duration.js'
import {MezuError} from '../lib/errors.js'
import {resolveEnvRef, resolveProjectRef, scopeFlags} from '../lib/scope.js'
import {ensureRoute, publicUrl, registrationTokenFor} from '../lib/tunnel-setup.js'
import {RegistrationError, resolveServiceTarget, ServiceProcess, serviceIdentityEnv, Warpgate, type WarpgateEvent} from '../warpgate/warpgate.js'

export default class Tunnel extends MezuCommand<typeof Tunnel> {
  static override summary = 'Publish a local service through a Warpgate: outbound-only mutual-TLS tunnel to the edge.'
  static override description = 'TARGET is a service directory holding mezu.json (its `command` is started and stopped with the tunnel, its `routes` ensured), a port (3000) or a URL (http://127.0.0.1:3000). Ctrl-C or SIGTERM drains: the edge stops sending new requests, in-flight ones finish (--grace), then it exits 0. With --json every event is one JSON line.'
  static override examples = [
    '<%= config.bin %> tunnel ./hello --project demo --env prod',
    '<%= config.bin %> tunnel 3000 --name hello --route hello.mezu.localhost --project demo --env prod',
    '<%= config.bin %> tunnel ./hello --require-assertion',
    'MEZU_WARPGATE_TOKEN=mezu_wg_… <%= config.bin %> tunnel http://127.0.0.1:8080 --connections 4 --json',
  ]
  static override args = {target: Args.string({description: 'service directory (mezu.json), port or URL of the local service', required: true})}
  static override flags = {
    ...scopeFlags,
    name: Flags.string({char: 'n', description: 'service name (default: from TARGET)'}),
    connections: Flags.integer({description: 'tunnel connections to keep', default: 2, min: 1, max: 16}),
    route: Flags.string({description: 'public hostname to route to this service (created or reused)', multiple: true}),
    token: Flags.string({description: 'one-time registration token (default: create one, when logged in)', env: 'MEZU_WARPGATE_TOKEN'}),
    grace: Flags.string({description: 'how long in-flight requests may take to finish on shutdown', default: '30s'}),
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
    const name = target.name
    // Signals are caught from the start: one arriving while the tunnel is still coming up (or just
    // as its URL is printed) must still drain and stop the service, not kill this process and
    // orphan the service in its own process group.
    let signals = 0
    const starting = new AbortController()
    let onSignal = () => {
      signals++
      starting.abort()
    }
    const signalled = () => onSignal()
    process.on('SIGINT', signalled)
    process.on('SIGTERM', signalled)
    const apiUrl = this.apiUrl()
    const {token} = await registrationTokenFor(() => this.api(), this.flags, name)
    const wg = new Warpgate({apiUrl, caPem: this.caPem(apiUrl), token, originUrl: target.url, connections: this.flags.connections, requireAssertion: this.flags['require-assertion']})
    const json = this.jsonEnabled()
    // mezu.json routes keep their path and policy; --route HOST is HOST/ with no policy
    const routes = [...(this.flags.route ?? []).map((hostname) => ({hostname})), ...(target.routes ?? [])]
    let requests = 0
    wg.on('event', (e) => {
      if (e.type === 'request') {
        requests++
        if (this.flags.quiet) return
      }
      if (json) this.logJson(e)
      else this.log(describe(e, routes.length > 0))
    })
    const refused = (error: Error) => error instanceof RegistrationError ? new MezuError(error.code, `registration refused: ${error.message}`) : error
    // Register, start the service (told where the platform keys are), then connect: the edge
    // never sends the service a request before it answers.
    const creds = await wg.register().catch((error: Error) => {
      throw refused(error)
    })
    if (signals > 0) return {type: 'exit', warpgateId: creds.info.warpgateId, requests}
    const identity = target.command && target.cwd ? serviceIdentityEnv(creds) : undefined
    const service = target.command && target.cwd
      ? await ServiceProcess.start({name, command: target.command, cwd: target.cwd, env: {...identity?.env, ...target.env}, url: target.url, healthcheck: target.healthcheck, readyTimeoutMs: target.readyTimeoutMs, signal: starting.signal}).catch((error: Error) => {
        identity?.remove()
        if (signals > 0) return null
        throw error
      })
      : undefined
    if (service === null || signals > 0) {
      await service?.stop()
      identity?.remove()
      return {type: 'exit', warpgateId: creds.info.warpgateId, requests}
    }
    service?.on('exit', (e) => {
      if (e.expected) return
      this.logToStderr(`service "${name}" exited (${e.signal ?? e.code}); stopping the tunnel`)
      process.kill(process.pid, 'SIGTERM')
    })
    await wg.start().catch(async (error: Error) => {
      await service?.stop()
      identity?.remove()
      throw refused(error)
    })
    for (const route of routes) {
      const r = await ensureRoute(this.api(), {...route, project: resolveProjectRef(this.flags.project), env: resolveEnvRef(this.flags.env), service: creds.info.service})
      const event = {type: 'route', hostname: r.hostname, url: publicUrl(creds.info.edgeUrl, r.hostname), reused: r.reused}
      if (json) this.logJson(event)
      else this.log(`Public URL: ${event.url}${r.reused ? ' (existing route)' : ''}`)
    }
    await new Promise<void>((resolve) => {
      // The first signal drains; a second one stops at once.
      const step = () => void (signals <= 1 ? wg.drain(graceMs) : wg.stop()).then(resolve)
      onSignal = () => {
        signals++
        step()
      }
      if (signals > 0) step()
    })
    await service?.stop()
    identity?.remove()
    return {type: 'exit', warpgateId: creds.info.warpgateId, requests}
  }
}

/** `routing`: routes are about to be ensured, so their URLs follow and no hint is needed. */
function describe(e: WarpgateEvent, routing: boolean): string {
  switch (e.type) {
    case 'registered': {
      const hint = routing ? [] : [`No route points at "${e.service}" yet: add one with --route HOST`]
      return [`Warpgate ${e.warpgateId} serving "${e.service}" (certificate until ${e.expiresAt})`, ...(e.urls.length ? e.urls.map((u) => `Public URL: ${u}`) : hint)].join('\n')
    }
    case 'connected': return `connection ${e.connection} up (${e.connections} live)`
    case 'disconnected': return `connection ${e.connection} down: ${e.reason.detail} (${e.connections} live)`
    case 'reconnecting': return `connection ${e.connection} retrying in ${(e.inMs / 1000).toFixed(1)}s`
    case 'renewed': return `certificate renewed, valid until ${e.expiresAt}`
    case 'renew-failed': return `certificate renewal failed: ${e.message}`
    case 'assertion-keys-unavailable': return `cannot fetch the platform keys from ${e.jwksUrl} (${e.message}); requests get 503 until it can`
    case 'health': return `service ${e.healthy ? 'healthy' : `unhealthy: ${e.reason ?? ''}`}`
    case 'request': return `${e.method} ${e.path} ${e.status} ${e.durationMs}ms${e.error ? ` (${e.error})` : ''}`
    case 'draining': return `draining: in-flight requests have ${e.graceMs / 1000}s to finish`
    case 'stopped': return 'stopped'
  }
}
