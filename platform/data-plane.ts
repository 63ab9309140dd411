import type {Logger} from 'pino'
import type {PlatformConfig} from './config.js'
import type {ConfigSource} from './edge/config-source.js'
import type {EdgeAuthority} from './edge/edge-authority.js'
import type {Gate as IdentityGate} from './edge/gate.js'
import {createIdentityEdge, identityLimits} from './edge/identity-edge.js'
import type {ChangeEvents} from './edge/identity-snapshot.js'
import {Pages} from './edge/pages.js'
import type {Gate} from './edge/pipeline.js'
import type {RequestLog} from './edge/request-log.js'
import {EdgeServer, type EdgeServerOptions} from './edge/server.js'
import {TunnelListener} from './edge/tunnel/listener.js'
import {TunnelPool} from './edge/tunnel/pool.js'
import type {LoadedCert} from './pki/cert-files.js'
import type {Admission} from './edge/tunnel/admission.js'
import type {TunnelDirectory} from './edge/tunnel/directory.js'
import type {PlatformMetrics} from './metrics/platform-metrics.js'

/** The edge pipeline's pluggable steps (gate: issue 5; pages and request log: the periphery). */
export type EdgePlugins = Pick<EdgeServerOptions, 'gate' | 'pages' | 'requestLog'>

/** ACME, when the edge runs beside the control plane (certificates are ordered through its store). */
export interface AcmeHandle {
  manager: EdgeServerOptions['certificates']
  httpPort?: number | null
  listen(): Promise<void>
  stop(): Promise<void>
}

export interface DataPlaneDeps {
  config: PlatformConfig
  log: Logger
  /** the private CA's server certificate for the tunnel listener (Warpgates pin the CA) and, without operator files, the edge */
  tls: {key: string; cert: string}
  /** the operator's edge certificate files, when given */
  fileCert?: LoadedCert
  /** the platform CA: the issuer of Warpgate client certificates */
  caPem: string
  source: ConfigSource
  authority: EdgeAuthority
  events: ChangeEvents
  admission: Admission
  requestLog: RequestLog
  metrics?: PlatformMetrics
  plugins?: EdgePlugins
  /** the CSRF key all edges share */
  csrfKey?: Buffer
  acme?: (publicPort: () => number) => AcmeHandle
  /** every edge's tunnel addresses, sent to each Warpgate on connect and on change */
  directory?: TunnelDirectory
  /** a Warpgate's connection opened or closed (last-seen bookkeeping) */
  onWarpgate?(id: string, up: boolean): void
}

export type DataPlane = Awaited<ReturnType<typeof startDataPlane>>

/**
 * The edge (end-user listener) and the tunnel listener, fed by a configuration snapshot and a
 * Warpgate admission list: in the control-plane process from the store and its change feed, at a
 * remote edge from the control channel. Nothing here knows which.
 */
export async function startDataPlane(deps: DataPlaneDeps) {
  const {config, log, metrics} = deps
  const pool = new TunnelPool()
  // Revocation closes live connections at once; the admission list already refuses new ones.
  const offRevoked = deps.admission.onRevoked((id) => pool.closeWarpgate(id))
  pool.on('open', (s) => {
    deps.onWarpgate?.(s.peer.warpgateId, true)
    log.info({warpgateId: s.peer.warpgateId, remoteIp: s.remoteIp, version: s.version}, 'tunnel connection up')
    s.on('health', (healthy) => log.info({warpgateId: s.peer.warpgateId, healthy}, 'Warpgate service health changed'))
  })
  pool.on('close', (s) => {
    deps.onWarpgate?.(s.peer.warpgateId, false)
    log.info({warpgateId: s.peer.warpgateId, remoteIp: s.remoteIp}, 'tunnel connection down')
  })
  const tunnel = new TunnelListener({
    host: config.host, port: config.tunnelPort, tls: deps.tls, caPem: deps.caPem, pool, directory: deps.directory,
    admit: (id) => {
      const w = deps.admission.admit(id)
      return w && {warpgateId: w.id, name: w.name, projectId: w.projectId, environmentId: w.environmentId, service: w.service}
    },
    onRefused: (reason, ip) => {
      metrics?.tunnelRefused()
      log.info({reason, ip}, 'tunnel connection refused')
    },
  })
  const pages = Pages.load()
  // Issue 5's identity-aware step: login on auth.<domain>, policy, signed identity to the origin.
  let boundEdgePort = config.edgePort
  // auth.<domain> (login, JWKS) is served even when a test plugs in its own gate.
  const identity = createIdentityEdge({
    source: deps.source, authority: deps.authority, events: deps.events, limits: identityLimits(config), publicPort: () => boundEdgePort,
    observer: metrics, csrfKey: deps.csrfKey,
  })
  const acme = deps.acme?.(() => boundEdgePort)
  const edge = new EdgeServer({
    host: config.host, port: config.edgePort, tls: deps.fileCert ?? deps.tls, limits: config.edge, source: deps.source, pool, certificates: acme?.manager,
    pages: (req, problem) => pages.error(req, problem),
    requestLog: deps.requestLog,
    observer: metrics,
    gate: identityGate(identity.gate), auth: {host: `auth.${config.domain}`, handler: identity.login},
    ...deps.plugins,
  })
  let edgePort: number
  let tunnelPort: number
  try {
    edgePort = await edge.listen()
    tunnelPort = await tunnel.listen()
    await acme?.listen()
  } catch (error) {
    await acme?.stop()
    await edge.close()
    await tunnel.close()
    identity.close()
    offRevoked()
    throw error
  }
  boundEdgePort = edgePort
  let stopped = false
  return {
    edgePort, tunnelPort, pool, edge, tunnel, acme,
    /** the port end users see (an advertised one behind a port mapping): login redirects use it */
    setPublicEdgePort(port: number) {
      boundEdgePort = port
    },
    async stop() {
      if (stopped) return
      stopped = true
      offRevoked()
      await acme?.stop()
      await tunnel.close()
      pool.closeAll()
      await edge.close()
      identity.close()
    },
  }
}

/** Adapts the identity gate to the pipeline: it also names inbound headers to drop and the target. */
function identityGate(gate: IdentityGate): Gate {
  return async (req, route, clientIp) => {
    const r = await gate(req, route, clientIp)
    if (r.action === 'respond') return r
    for (const name of r.removeHeaders) delete req.headers[name]
    return {action: 'forward', setHeaders: r.setHeaders, target: r.target}
  }
}
