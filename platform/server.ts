import {X509Certificate} from 'node:crypto'
import {existsSync, mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {type AddressInfo, isIP} from 'node:net'
import {join} from 'node:path'
import type {Server as TlsServer} from 'node:tls'
import pino, {type Logger} from 'pino'
import {isWildcardHost, type PlatformConfig, urlHostname} from './config.js'
import type {ControlContext} from './control/context.js'
import {ChangeFeed} from './control/feed.js'
import {DeviceLogins} from './control/device-logins.js'
import {LoginLimiter} from './control/login-limiter.js'
import {buildControlServer} from './control/server.js'
import {StoreConfigSource} from './control/edge-config.js'
import {PostgresFeedListener} from './control/pg-feed.js'
import {Pages} from './edge/pages.js'
import {createIdentityEdge, identityLimits} from './edge/identity-edge.js'
import type {Gate as IdentityGate} from './edge/gate.js'
import type {Gate} from './edge/pipeline.js'
import {createEdgeAuthority} from './control/edge-identity.js'
import {RequestLog} from './edge/request-log.js'
import {WarpgateAdmission} from './control/warpgate-admission.js'
import {EdgeServer, type EdgeServerOptions} from './edge/server.js'
import {MutableTunnelDirectory} from './edge/tunnel/directory.js'
import {TunnelListener} from './edge/tunnel/listener.js'
import {TunnelPool} from './edge/tunnel/pool.js'
import {touchWarpgate} from './store/config/warpgates.js'
import {CA_CERT_FILE, initDataDir, type InitResult} from './init.js'
import {issueServerCert, type ServerCert} from './pki/ca.js'
import {CertFileWatcher, coversHost, loadCertPair, type LoadedCert} from './pki/cert-files.js'
import {listRoutes} from './store/config/routes.js'
import {loadCa} from './store/config/ca.js'
import {openStores, storesInitialized, writeStoreMarker} from './store/stores.js'
import {configVersion} from './store/config/meta.js'
import {parseListenAddress} from '../src/lib/listen-address.js'
import {LOCAL_EDGE_ID} from '../src/protocol/tunnel.js'
import {AccessLog} from './access-log.js'
import {MetricsServer} from './metrics/metrics-server.js'
import {PlatformMetrics} from './metrics/platform-metrics.js'
import {type Check, FeedLag, listening, type ReadinessReport, runChecks, storeChecks} from './readiness.js'

export const LOCK_FILE = 'platform.json'

export interface RunningPlatform {
  apiUrl: string
  edgeUrl: string | null
  tunnelUrl: string | null
  /** http://HOST:PORT/metrics of the metrics listener; null when --metrics-addr was not given */
  metricsUrl: string | null
  /** every advertised tunnel address (tunnelUrl is the first) */
  tunnelUrls: string[]
  ports: {api: number; edge: number | null; tunnel: number | null; acmeHttp?: number | null}
  dataDir: string
  caPath: string
  caPem: string
  domain: string
  /** Set when start had to initialise an empty data directory. */
  init?: InitResult
  ctx: ControlContext
  /** Every edge's tunnel addresses as Warpgates are told them (ctx.tunnelDirectory); this process's edge is `local`. */
  tunnelDirectory: MutableTunnelDirectory
  /** The snapshot the edge serves from, brought up to date by every feed event (tests wait on its version). */
  edgeSource: StoreConfigSource
  /** the metrics of this platform (its own Registry); undefined when metrics are off */
  metrics?: PlatformMetrics
  /** what /readyz answers */
  ready(): Promise<ReadinessReport>
  stop(): Promise<void>
}

/**
 * The composition root of `mezu platform start`: open the stores, start the control plane and
 * the edge in this process, and wire the change feed between them.
 */
export async function startPlatform(config: PlatformConfig, opts: {log?: Logger; adminEmail?: string; adminPassword?: string; edge?: EdgePlugins} = {}): Promise<RunningPlatform> {
  const log = opts.log ?? pino({level: 'silent'})
  // The operator's certificate files are checked before anything is created or bound.
  const fileCerts = {
    edge: config.certificates.edge && loadCertPair(config.certificates.edge),
    api: config.certificates.api && loadCertPair(config.certificates.api),
  }
  let init: InitResult | undefined
  if (!(await storesInitialized(config.dataDir, config.store))) {
    init = await initDataDir({dataDir: config.dataDir, masterKey: config.masterKey, adminEmail: opts.adminEmail ?? `admin@${config.domain}`, adminPassword: opts.adminPassword, passwordStrength: config.passwordStrength, store: config.store})
  }
  const stores = await openStores(config.dataDir, {masterKey: config.masterKey, passwordStrength: config.passwordStrength, store: config.store})
  const cdb = stores.ctx
  const idb = stores.ctx
  const ca = await loadCa(cdb)
  if (!ca) {
    await stores.close()
    throw new Error(`${config.dataDir} has no platform CA; it was not initialised by mezu platform init`)
  }
  // A second control plane on a shared PostgreSQL starts with a data directory of its own, maybe new.
  mkdirSync(config.dataDir, {recursive: true, mode: 0o700})
  if (config.store.url) writeStoreMarker(config.dataDir, config.store.url)
  const caPath = join(config.dataDir, CA_CERT_FILE)
  if (!existsSync(caPath)) writeFileSync(caPath, ca.certPem, {mode: 0o644})
  // Metrics are off unless a listener is asked for: then nothing is counted at all.
  const metricsAddr = config.metricsAddr === undefined ? undefined : parseListenAddress(config.metricsAddr, 'metricsAddr')
  if (typeof metricsAddr === 'string') throw new Error(metricsAddr)
  const metrics = metricsAddr ? new PlatformMetrics() : undefined
  const ctx: ControlContext = {
    config, stores, idb, cdb, ca, log,
    feed: new ChangeFeed((err, event) => log.error({err, event}, 'a change-feed listener failed')),
    passwordLimiter: new LoginLimiter(config.loginLimit),
    codeLimiter: new LoginLimiter(config.loginLimit),
    deviceLogins: new DeviceLogins((secret) => stores.hasher.tokenHash(secret), config.deviceLogin),
    urls: {api: '', edge: '', tunnel: '', tunnels: []},
    metrics,
  }
  // Filled in once the tunnel port is bound; the in-process edge is the only one it knows of.
  const tunnelDirectory = new MutableTunnelDirectory()
  ctx.tunnelDirectory = tunnelDirectory
  const names = serverNames(config)
  const apiCert = await issueServerCert(ca, names)
  const api = await buildControlServer(ctx, fileCerts.api ?? {key: apiCert.keyPem, cert: apiCert.chainPem})
  try {
    await api.listen({host: config.host, port: config.apiPort})
  } catch (error) {
    await stores.close()
    throw error
  }
  const apiPort = (api.server.address() as AddressInfo).port
  // A wildcard bind is reached locally on loopback; other machines use the advertised addresses.
  const urlHost = bracketed(isWildcardHost(config.host) ? '127.0.0.1' : config.host)
  ctx.urls.api = config.advertise.apiUrl ?? `https://${urlHost}:${apiPort}`

  const watchers: CertFileWatcher[] = []
  let data: Awaited<ReturnType<typeof startDataPlane>>
  try {
    data = await startDataPlane(ctx, names, fileCerts.edge, opts.edge ?? {}, metrics)
  } catch (error) {
    await api.close()
    await stores.close()
    throw error
  }
  const publicEdgePort = config.advertise.edgePort ?? data.edgePort
  ctx.urls.edge = `https://${config.domain}${publicEdgePort === 443 ? '' : `:${publicEdgePort}`}`
  ctx.urls.tunnels = config.advertise.tunnelUrls?.map((u) => (new URL(u).port ? u : `${u}:${data.tunnelPort}`)) ?? [`tls://${urlHost}:${data.tunnelPort}`]
  ctx.urls.tunnel = ctx.urls.tunnels[0]
  tunnelDirectory.set([{edge: LOCAL_EDGE_ID, urls: ctx.urls.tunnels}])
  await data.setPublicEdgePort(publicEdgePort)
  const files = config.certificates
  let edgeCert = fileCerts.edge && {leaf: fileCerts.edge.leaf, source: files.edge!.certFile}
  if (edgeCert) ctx.edgeCertificate = () => edgeCert!
  reportUncoveredRoutes(ctx, data.source.get().routes)
  const watch = (pair: NonNullable<typeof files.edge>, first: LoadedCert, use: (c: LoadedCert) => void, what: string) => watchers.push(new CertFileWatcher(pair, {
    checkIntervalMs: files.checkIntervalMs,
    since: first.signature,
    onChange(c) {
      use(c)
      log.info({certFile: pair.certFile, serial: c.leaf.serialNumber, validTo: c.leaf.validTo}, `${what} certificate reloaded`)
    },
    onError: (err) => log.error({err, certFile: pair.certFile, keyFile: pair.keyFile}, `the changed ${what} certificate cannot be used; the previous one stays in use`),
  }))
  if (files.edge && fileCerts.edge) {
    const pair = files.edge
    watch(pair, fileCerts.edge, (c) => {
      data.edge.setCertificate(c)
      edgeCert = {leaf: c.leaf, source: pair.certFile}
      reportUncoveredRoutes(ctx, data.source.get().routes)
    }, 'edge')
  }
  if (files.api && fileCerts.api) {
    const server = api.server as unknown as TlsServer
    watch(files.api, fileCerts.api, (c) => server.setSecureContext({key: c.key, cert: c.cert, minVersion: 'TLSv1.3'}), 'API')
  }

  // A user erased by another control plane: wipe their key if this process holds it in memory.
  ctx.feed.subscribe((e) => {
    if (e.kind === 'user' && e.action === 'deleted' && e.id) stores.ctx.userCiphers.destroy(e.id)
  })
  // Several control planes on one PostgreSQL: their changes reach this edge through LISTEN/NOTIFY.
  const pgFeed = stores.postgres && new PostgresFeedListener(stores.postgres, ctx.feed, () => configVersion(stores.ctx), data.source.get().version, log)
  await pgFeed?.start()
  const feedLag = new FeedLag(() => configVersion(stores.ctx), () => data.source.feedVersion)
  const checks: Array<[string, Check]> = [
    ...storeChecks(stores),
    ['edge', listening(data.edge.server, 'edge')],
    ['tunnel', listening(data.tunnel.server, 'tunnel')],
    // a change on its way is fine; an edge that stays behind for 5 s is not being fed
    ['config-feed', feedLag.check(5000)],
  ]
  let wasReady = true
  const ready = async () => {
    const report = await runChecks(checks)
    if (report.ready !== wasReady) log[report.ready ? 'info' : 'warn']({failing: report.failing}, report.ready ? 'ready again' : 'not ready')
    wasReady = report.ready
    return report
  }
  ctx.readiness = ready
  metrics?.attach({
    pool: data.pool,
    edgeConfigVersion: () => data.source.feedVersion,
    storeConfigVersion: () => feedLag.storeVersionSeen,
    sample: () => feedLag.sample(),
    configLagSeconds: () => feedLag.seconds(),
    routes: () => data.source.get().routes,
  })
  let metricsServer: MetricsServer | undefined
  let metricsUrl: string | null = null
  const access = config.accessLog ? new AccessLog(config.accessLog) : undefined
  const offAccess = access && ctx.requestLog?.subscribe((e) => access.write(e))
  try {
    if (metrics && metricsAddr) {
      metricsServer = new MetricsServer({...metricsAddr, metrics: () => metrics.metrics(), ready})
      metricsUrl = await metricsServer.listen()
      log.info({metricsUrl}, 'metrics listening')
    }
  } catch (error) {
    for (const w of watchers) w.close()
    offAccess?.()
    await data.stop()
    await api.close()
    await access?.close()
    await stores.close()
    throw error
  }

  const lockPath = join(config.dataDir, LOCK_FILE)
  const running: RunningPlatform = {
    apiUrl: ctx.urls.api,
    edgeUrl: ctx.urls.edge,
    tunnelUrl: ctx.urls.tunnel,
    metricsUrl,
    tunnelUrls: ctx.urls.tunnels,
    ports: {api: apiPort, edge: data.edgePort, tunnel: data.tunnelPort, ...(config.acme.email && {acmeHttp: data.acme?.httpPort ?? null})},
    dataDir: config.dataDir,
    caPath,
    caPem: ca.certPem,
    domain: config.domain,
    init,
    ctx,
    tunnelDirectory,
    edgeSource: data.source,
    metrics,
    ready,
    async stop() {
      await pgFeed?.close()
      await metricsServer?.close()
      for (const w of watchers) w.close()
      await data.stop()
      await api.close()
      offAccess?.()
      await access?.close()
      await stores.close()
      rmSync(lockPath, {force: true})
    },
  }
  writeFileSync(lockPath, JSON.stringify({pid: process.pid, apiUrl: running.apiUrl, edgeUrl: running.edgeUrl, tunnelUrl: running.tunnelUrl, tunnelUrls: running.tunnelUrls, metricsUrl, domain: config.domain, startedAt: new Date().toISOString()}, null, 2) + '\n', {mode: 0o600})
  return running
}

/** The edge pipeline's pluggable steps (gate: issue 5; pages and request log: the periphery). */
export type EdgePlugins = Pick<EdgeServerOptions, 'gate' | 'pages' | 'requestLog'>

/**
 * The edge (end-user listener) and the tunnel listener, fed by an in-memory configuration snapshot
 * and the Warpgate admission list; both kept current by the change feed.
 */
async function startDataPlane(ctx: ControlContext, names: {dns: string[]; ips: string[]}, fileCert: LoadedCert | undefined, plugins: EdgePlugins, metrics: PlatformMetrics | undefined) {
  const {config} = ctx
  // The tunnel always serves the private CA's certificate: Warpgates pin that CA.
  const caCert: ServerCert = await issueServerCert(ctx.ca, {dns: [`*.${config.domain}`, `auth.${config.domain}`, ...names.dns.filter((d) => d !== `*.${config.domain}`)], ips: names.ips})
  const tls = {key: caCert.keyPem, cert: caCert.chainPem}
  const served = {leaf: new X509Certificate(caCert.certPem), source: 'the private platform CA'}
  ctx.edgeCertificate = () => served
  const admission = await WarpgateAdmission.create(ctx.cdb, ctx.feed)
  const pool = new TunnelPool()
  const source = await StoreConfigSource.create(ctx, ctx.feed, config.domain)
  // Revocation closes live connections at once; the admission list already refuses new ones.
  const offRevoked = admission.onRevoked((id) => pool.closeWarpgate(id))
  // not awaited: the tunnel must not wait on the store to open or close a connection
  const touch = (id: string) => {
    touchWarpgate(ctx.cdb, id).catch((error: unknown) => ctx.log.warn({err: error, warpgateId: id}, 'could not record last seen'))
  }
  pool.on('open', (s) => {
    touch(s.peer.warpgateId)
    ctx.log.info({warpgateId: s.peer.warpgateId, remoteIp: s.remoteIp, version: s.version}, 'tunnel connection up')
    s.on('health', (healthy) => ctx.log.info({warpgateId: s.peer.warpgateId, healthy}, 'Warpgate service health changed'))
  })
  pool.on('close', (s) => {
    touch(s.peer.warpgateId)
    ctx.log.info({warpgateId: s.peer.warpgateId, remoteIp: s.remoteIp}, 'tunnel connection down')
  })
  ctx.warpgatesLive = {live: (id) => pool.live(id)}
  const tunnel = new TunnelListener({
    host: config.host, port: config.tunnelPort, tls, caPem: ctx.ca.certPem, pool, directory: ctx.tunnelDirectory,
    admit: (id) => {
      const w = admission.admit(id)
      return w && {warpgateId: w.id, name: w.name, projectId: w.projectId, environmentId: w.environmentId, service: w.service}
    },
    onRefused: (reason, ip) => {
      metrics?.tunnelRefused()
      ctx.log.info({reason, ip}, 'tunnel connection refused')
    },
  })
  // The request ring is shared by the edge (writer) and the control API (`mezu logs`).
  const requestLog = new RequestLog(10_000)
  ctx.requestLog = requestLog
  const pages = Pages.load()
  // Issue 5's identity-aware step: login on auth.<domain>, policy, signed identity to the origin.
  let boundEdgePort = config.edgePort
  // auth.<domain> (login, JWKS) is served even when a test plugs in its own gate.
  const identity = createIdentityEdge({
    source, authority: createEdgeAuthority(ctx), events: ctx.feed, limits: identityLimits(config), publicPort: () => boundEdgePort,
    observer: metrics,
  })
  // ACME (issue 9): certificates by SNI for route hosts and auth.<domain>, challenges on the edge port and
  // --acme-http-port. Loaded only when on: acme-client (axios, node-forge) takes most of a second to import.
  const acme = config.acme.email ? (await import('./control/acme/start.js')).startAcme(ctx, source, () => boundEdgePort) : undefined
  const edge = new EdgeServer({
    host: config.host, port: config.edgePort, tls: fileCert ?? tls, limits: config.edge, source, pool, certificates: acme?.manager,
    pages: (req, problem) => pages.error(req, problem),
    requestLog,
    observer: metrics,
    gate: identityGate(identity.gate), auth: {host: `auth.${config.domain}`, handler: identity.login},
    ...plugins,
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
    throw error
  }
  boundEdgePort = edgePort
  await source.setEdgePort(edgePort)
  let stopped = false
  return {
    edgePort, tunnelPort, pool, edge, tunnel, source, acme,
    /** the port end users see (an advertised one behind a port mapping): route URLs and login redirects use it */
    async setPublicEdgePort(port: number) {
      boundEdgePort = port
      await source.setEdgePort(port)
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
      source.close()
      admission.close()
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

/**
 * The names the private CA's server certificates carry: loopback, the domain, the bound host and
 * every advertised host, so a client pinning the CA accepts whichever address it was given.
 */
function serverNames(config: PlatformConfig): {dns: string[]; ips: string[]} {
  const dns = new Set(['localhost', config.domain, `*.${config.domain}`])
  const ips = new Set(['127.0.0.1', '::1'])
  const add = (host: string) => (isIP(host) ? ips : dns).add(host.toLowerCase())
  if (!isWildcardHost(config.host)) add(config.host)
  for (const url of [config.advertise.apiUrl, ...(config.advertise.tunnelUrls ?? [])]) if (url) add(urlHostname(url))
  return {dns: [...dns], ips: [...ips]}
}

function bracketed(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

/** A log line for each route host (and the login host) the edge's certificate does not name: browsers would refuse it. */
function reportUncoveredRoutes(ctx: ControlContext, routes: ReadonlyArray<{hostname: string}>): void {
  const current = ctx.edgeCertificate?.()
  // With ACME every route host and the login host get certificates of their own.
  if (!current || ctx.config.acme.email) return
  for (const host of new Set([`auth.${ctx.config.domain}`, ...routes.map((r) => r.hostname)])) {
    if (!coversHost(current.leaf, host)) ctx.log.warn({host, certificate: current.source}, `the edge certificate does not cover route host ${host}; browsers will refuse it`)
  }
}
