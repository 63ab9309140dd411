import {MezuError} from '../lib/errors.js'
import type {ListenAddress} from '../lib/listen-address.js'
import {serveWarpgateMetrics} from './metrics-server.js'
import {RegistrationError, type Credentials} from './registration.js'
import type {ServiceTarget} from './service-config.js'
import {serviceIdentityEnv} from './service-env.js'
import {ServiceProcess} from './service-process.js'
import {loadState, saveState} from './state-file.js'
import {Warpgate, type WarpgateEvent} from './warpgate.js'

export interface RunTunnelOptions {
  target: ServiceTarget
  apiUrl: string
  caPem: string
  /** the one-time registration token; asked for only when `statePath` holds no usable identity */
  token: () => Promise<string | undefined>
  /** `--state`: the identity to come back as, saved again at registration and after each renewal */
  statePath?: string
  connections: number
  requireAssertion: boolean
  /** how long in-flight requests may take on the first signal */
  graceMs: number
  onEvent: (e: WarpgateEvent) => void
  /** a line for the person or the log (the service died, ...) */
  onNotice: (message: string) => void
  /** `--metrics-addr`: serve the Warpgate's counters locally once it is connected; absent = listen on nothing */
  metricsAddr?: ListenAddress
  /** runs once the tunnel is up (e.g. ensure routes); a signal during it still drains afterwards */
  afterStart?: (creds: Credentials) => Promise<void>
}

/**
 * One tunnel from start to exit, shared by `mezu tunnel` and the lean `mezu-warpgate` runtime:
 * register, start the service (told where the platform keys are), then connect, so the edge never
 * sends the service a request before it answers. The first SIGINT/SIGTERM/SIGHUP drains (no new streams,
 * in-flight ones get `graceMs`), a second one stops at once; the service is stopped on the way out.
 * Signals are caught from the start: one arriving while the tunnel is still coming up must still
 * stop the service, not kill this process and orphan the service in its own process group.
 */
export async function runTunnel(opts: RunTunnelOptions): Promise<{warpgateId: string; requests: number}> {
  const {target} = opts
  const saved = opts.statePath ? loadState(opts.statePath, opts.apiUrl) : undefined
  const credentials = saved?.credentials
  const token = credentials ? undefined : await opts.token()
  if (!credentials && !token) throw new MezuError('usage', `no registration token${saved ? ` and no saved identity (${saved.reason})` : ''}: set MEZU_WARPGATE_TOKEN or pass --token (from \`mezu warpgates create\`)`, 2)
  if (saved && !credentials) opts.onNotice(`registering with the token: ${saved.reason}`)
  let signals = 0
  const starting = new AbortController()
  let onSignal = () => {
    signals++
    starting.abort()
  }
  const signalled = () => onSignal()
  process.on('SIGINT', signalled)
  process.on('SIGTERM', signalled)
  // A closed terminal sends SIGHUP, whose default would end this process without stopping the
  // service (it is in its own process group, so the terminal's hangup does not reach it).
  process.on('SIGHUP', signalled)
  const wg = new Warpgate({
    apiUrl: opts.apiUrl, caPem: opts.caPem, token, credentials, edges: saved?.edges, originUrl: target.url, connections: opts.connections, requireAssertion: opts.requireAssertion,
    graceMs: opts.graceMs,
  })
  let requests = 0
  const save = (creds: Credentials) => {
    if (!opts.statePath) return
    try {
      saveState(opts.statePath, opts.apiUrl, creds, wg.edges)
    } catch (error) {
      opts.onNotice(`cannot save the Warpgate state to ${opts.statePath}: ${(error as Error).message}`)
    }
  }
  wg.on('event', (e) => {
    if (e.type === 'request') requests++
    // the edge list too, so a restart dials the edges last heard of
    if ((e.type === 'renewed' || e.type === 'edges') && wg.credentials) save(wg.credentials)
    opts.onEvent(e)
  })
  const refused = (error: Error) => error instanceof RegistrationError ? new MezuError(error.code, `registration refused: ${error.message}`) : error
  const creds = await wg.register().catch((error: Error) => {
    throw refused(error)
  })
  // A token is burnt by registering: save at once, so a crash from here on does not need a new one.
  if (!credentials) save(creds)
  const done = () => ({warpgateId: creds.info.warpgateId, requests})
  if (signals > 0) return done()
  const identity = target.command && target.cwd ? serviceIdentityEnv(creds) : undefined
  const service = target.command && target.cwd
    ? await ServiceProcess.start({name: target.name, command: target.command, cwd: target.cwd, env: {...identity?.env, ...target.env}, url: target.url, healthcheck: target.healthcheck, readyTimeoutMs: target.readyTimeoutMs, signal: starting.signal}).catch((error: Error) => {
      identity?.remove()
      if (signals > 0) return null
      throw error
    })
    : undefined
  if (service === null || signals > 0) {
    await service?.stop()
    identity?.remove()
    return done()
  }
  service?.on('exit', (e) => {
    if (e.expected) return
    opts.onNotice(`service "${target.name}" exited (${e.signal ?? e.code}); stopping the tunnel`)
    process.kill(process.pid, 'SIGTERM')
  })
  await wg.start().catch(async (error: Error) => {
    await service?.stop()
    identity?.remove()
    throw refused(error)
  })
  const metrics = opts.metricsAddr ? await serveWarpgateMetrics(wg, opts.metricsAddr).catch(async (error: Error) => {
    await wg.stop()
    await service?.stop()
    identity?.remove()
    throw new MezuError('usage', `cannot listen on --metrics-addr ${opts.metricsAddr!.host}:${opts.metricsAddr!.port}: ${error.message}`, 2)
  }) : undefined
  if (metrics) opts.onEvent({type: 'metrics', url: metrics.url})
  await opts.afterStart?.(creds)
  await new Promise<void>((resolve) => {
    const step = () => void (signals <= 1 ? wg.drain(opts.graceMs) : wg.stop()).then(resolve)
    onSignal = () => {
      signals++
      step()
    }
    if (signals > 0) step()
  })
  await metrics?.close()
  await service?.stop()
  identity?.remove()
  return done()
}
