import {X509Certificate} from 'node:crypto'
import {existsSync, mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {type AddressInfo, isIP} from 'node:net'
import {join} from 'node:path'
import type {Server as TlsServer} from 'node:tls'
import pino, {type Logger} from 'pino'
import {isWildcardHost, type PlatformConfig, urlHostname} from './config.js'
import type {ControlContext, WarpgateLive} from './control/context.js'
import type {FastifyInstance} from 'fastify'
import {getEdge, listEdges, recordEdgeSeen} from './store/config/edges.js'
import {ChangeFeed} from './control/feed.js'
import {DeviceLogins} from './control/device-logins.js'
import {LoginLimiter} from './control/login-limiter.js'
import {buildControlServer} from './control/server.js'
import {StoreConfigSource} from './control/edge-config.js'
import {EdgeChannelServer, edgeCsrfKey} from './control/edge-channel.js'
import {renewEdgeCertificate} from './control/routes/edges.js'
import {type DataPlane, type EdgePlugins, startDataPlane} from './data-plane.js'

export type {EdgePlugins} from './data-plane.js'
// `mezu platform start --role edge`: commands reach the platform through this module
export {startEdgeNode} from './edge-node.js'
import {PostgresFeedListener} from './control/pg-feed.js'
import {createEdgeAuthority} from './control/edge-identity.js'
import {RequestLog} from './edge/request-log.js'
import {WarpgateAdmission} from './control/warpgate-admission.js'
import {MutableTunnelDirectory} from './edge/tunnel/directory.js'
import {touchWarpgate} from './store/config/warpgates.js'
import {CA_CERT_FILE, initDataDir, type InitResult} from './init.js'
import {issueServerCert, type ServerCert} from './pki/ca.js'
import {CONTROL_URI} from '../src/protocol/identity.js'
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
  role: 'all' | 'control'
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
  /** the edge nodes' channel (their live state, `mezu edges list`) */
  edgeChannel: EdgeChannelServer
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
  // Issued at every start, so a data directory from before the control mark gets it on restart.
  const apiCert = await issueServerCert(ca, {...names, uris: [CONTROL_URI]})
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
  // --role control: no edge here; the snapshot is still built, for the edge nodes' channel
  let data: Awaited<ReturnType<typeof startLocalEdge>> | undefined
  let source: StoreConfigSource | undefined
  /** undoes what started so far; returns the error to throw */
  const failed = async (error: unknown) => {
    await data?.stop()
    source?.close()
    await api.close()
    await stores.close()
    return error
  }
  try {
    source = await StoreConfigSource.create(ctx, ctx.feed, config.domain)
    if (config.role === 'all') data = await startLocalEdge(ctx, names, fileCerts.edge, opts.edge ?? {}, metrics, source)
    else ctx.requestLog = new RequestLog(10_000)
  } catch (error) {
    throw await failed(error)
  }
  const publicEdgePort = config.advertise.edgePort ?? data?.edgePort ?? config.edgePort
  ctx.urls.edge = `https://${config.domain}${publicEdgePort === 443 ? '' : `:${publicEdgePort}`}`
  const localTunnels = data ? config.advertise.tunnelUrls?.map((u) => (new URL(u).port ? u : `${u}:${data!.tunnelPort}`)) ?? [`tls://${urlHost}:${data.tunnelPort}`] : []
  ctx.urls.tunnels = localTunnels
  ctx.urls.tunnel = ctx.urls.tunnels[0] ?? ''
  if (localTunnels.length > 0) tunnelDirectory.set([{edge: LOCAL_EDGE_ID, urls: localTunnels}])
  if (data) await data.setPublicEdgePort(publicEdgePort)
  else await source.setEdgePort(publicEdgePort)
  let channel: EdgeChannelServer
  try {
    channel = await attachEdgeChannel(api, ctx, source, tunnelDirectory)
  } catch (error) {
    throw await failed(error)
  }
  const files = config.certificates
  let edgeCert = fileCerts.edge && {leaf: fileCerts.edge.leaf, source: files.edge!.certFile}
  if (edgeCert) ctx.edgeCertificate = () => edgeCert!
  reportUncoveredRoutes(ctx, source.get().routes)
  const watch = (pair: NonNullable<typeof files.edge>, first: LoadedCert, use: (c: LoadedCert) => void, what: string) => watchers.push(new CertFileWatcher(pair, {
    checkIntervalMs: files.checkIntervalMs,
    since: first.signature,
    onChange(c) {
      use(c)
      log.info({certFile: pair.certFile, serial: c.leaf.serialNumber, validTo: c.leaf.validTo}, `${what} certificate reloaded`)
    },
    onError: (err) => log.error({err, certFile: pair.certFile, keyFile: pair.keyFile}, `the changed ${what} certificate cannot be used; the previous one stays in use`),
  }))
  if (files.edge && fileCerts.edge && data) {
    const pair = files.edge
    const edge = data.edge
    watch(pair, fileCerts.edge, (c) => {
      edge.setCertificate(c)
      edgeCert = {leaf: c.leaf, source: pair.certFile}
      reportUncoveredRoutes(ctx, source.get().routes)
    }, 'edge')
  }
  if (files.api && fileCerts.api) {
    const server = api.server as unknown as TlsServer
    // the CA stays: edge nodes' client certificates are verified against it
    watch(files.api, fileCerts.api, (c) => server.setSecureContext({key: c.key, cert: c.cert, minVersion: 'TLSv1.3', ca: [ca.certPem]}), 'API')
  }

  // A user erased by another control plane: wipe their key if this process holds it in memory.
  ctx.feed.subscribe((e) => {
    if (e.kind === 'user' && e.action === 'deleted' && e.id) stores.ctx.userCiphers.destroy(e.id)
  })
  // Several control planes on one PostgreSQL: their changes reach this edge through LISTEN/NOTIFY.
  const pgFeed = stores.postgres && new PostgresFeedListener(stores.postgres, ctx.feed, () => configVersion(stores.ctx), source.get().version, log)
  await pgFeed?.start()
  const feedLag = new FeedLag(() => configVersion(stores.ctx), () => source.feedVersion)
  const checks: Array<[string, Check]> = [
    ...storeChecks(stores),
    ...(data ? [['edge', listening(data.edge.server, 'edge')], ['tunnel', listening(data.tunnel.server, 'tunnel')]] as Array<[string, Check]> : []),
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
    pool: data?.pool,
    edgeConfigVersion: () => source.feedVersion,
    storeConfigVersion: () => feedLag.storeVersionSeen,
    sample: () => feedLag.sample(),
    configLagSeconds: () => feedLag.seconds(),
    routes: () => source.get().routes,
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
    await access?.close()
    await pgFeed?.close()
    channel.close()
    throw await failed(error)
  }

  const lockPath = join(config.dataDir, LOCK_FILE)
  const running: RunningPlatform = {
    role: config.role === 'control' ? 'control' : 'all',
    apiUrl: ctx.urls.api,
    edgeUrl: ctx.urls.edge,
    tunnelUrl: ctx.urls.tunnel,
    metricsUrl,
    tunnelUrls: ctx.urls.tunnels,
    ports: {api: apiPort, edge: data?.edgePort ?? null, tunnel: data?.tunnelPort ?? null, ...(config.acme.email && {acmeHttp: data?.acme?.httpPort ?? null})},
    dataDir: config.dataDir,
    caPath,
    caPem: ca.certPem,
    domain: config.domain,
    init,
    ctx,
    edgeSource: source,
    edgeChannel: channel,
    tunnelDirectory,
    metrics,
    ready,
    async stop() {
      await pgFeed?.close()
      await metricsServer?.close()
      for (const w of watchers) w.close()
      channel.close()
      await data?.stop()
      source.close()
      await api.close()
      offAccess?.()
      await access?.close()
      await stores.close()
      rmSync(lockPath, {force: true})
    },
  }
  writeFileSync(lockPath, JSON.stringify({pid: process.pid, role: running.role, apiUrl: running.apiUrl, edgeUrl: running.edgeUrl, tunnelUrl: running.tunnelUrl, tunnelUrls: running.tunnelUrls, metricsUrl, domain: config.domain, startedAt: new Date().toISOString()}, null, 2) + '\n', {mode: 0o600})
  return running
}

/**
 * The in-process edge: the data plane fed by this control plane's store-backed snapshot and
 * Warpgate admission list, both kept current by the change feed.
 */
async function startLocalEdge(ctx: ControlContext, names: {dns: string[]; ips: string[]}, fileCert: LoadedCert | undefined, plugins: EdgePlugins, metrics: PlatformMetrics | undefined, source: StoreConfigSource) {
  const {config} = ctx
  // The tunnel always serves the private CA's certificate: Warpgates pin that CA.
  const caCert: ServerCert = await issueServerCert(ctx.ca, {dns: [`*.${config.domain}`, `auth.${config.domain}`, ...names.dns.filter((d) => d !== `*.${config.domain}`)], ips: names.ips})
  const served = {leaf: new X509Certificate(caCert.certPem), source: 'the private platform CA'}
  ctx.edgeCertificate = () => served
  const admission = await WarpgateAdmission.create(ctx.cdb, ctx.feed)
  // not awaited: the tunnel must not wait on the store to open or close a connection
  const touch = (id: string) => {
    touchWarpgate(ctx.cdb, id).catch((error: unknown) => ctx.log.warn({err: error, warpgateId: id}, 'could not record last seen'))
  }
  // The request ring is shared by the edge (writer) and the control API (`mezu logs`).
  const requestLog = ctx.requestLog ?? new RequestLog(10_000)
  ctx.requestLog = requestLog
  let data: DataPlane
  try {
    data = await startDataPlane({
      config, log: ctx.log, tls: {key: caCert.keyPem, cert: caCert.chainPem}, fileCert, caPem: ctx.ca.certPem,
      source, authority: createEdgeAuthority(ctx), events: ctx.feed, admission, requestLog, metrics, plugins,
      csrfKey: edgeCsrfKey(ctx),
      // ACME (issue 9): certificates by SNI for route hosts and auth.<domain>, challenges on the edge port and
      // --acme-http-port. Loaded only when on: acme-client (axios, node-forge) takes most of a second to import.
      acme: config.acme.email ? (await import('./control/acme/start.js')).startAcme.bind(null, ctx, source) : undefined,
      onWarpgate: (id) => touch(id),
      directory: ctx.tunnelDirectory,
    })
  } catch (error) {
    admission.close()
    throw error
  }
  const pool = data.pool
  const local = {live: (id: string) => pool.live(id)}
  ctx.warpgatesLive = local
  await source.setEdgePort(data.edgePort)
  return {
    ...data,
    source,
    /** the port end users see (an advertised one behind a port mapping): route URLs and login redirects use it */
    async setPublicEdgePort(port: number) {
      data.setPublicEdgePort(port)
      await source.setEdgePort(port)
    },
    async stop() {
      await data.stop()
      admission.close()
    },
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

/** The edge nodes' channel on the API server: admits enrolled, unrevoked edges and records when they were seen. */
async function attachEdgeChannel(api: FastifyInstance, ctx: ControlContext, source: StoreConfigSource, directory: MutableTunnelDirectory): Promise<EdgeChannelServer> {
  const local = ctx.urls.tunnels
  const channel = await EdgeChannelServer.attach(api, ctx, source, createEdgeAuthority(ctx), {
    async admit(edgeId) {
      const e = await getEdge(ctx.cdb, edgeId)
      return e && e.enrolledAt !== null && e.revokedAt === null ? {name: e.name} : undefined
    },
    localTunnels: () => local,
    seen: (edgeId, info) => recordEdgeSeen(ctx.cdb, edgeId, info),
    renew: (edgeId, params) => renewEdgeCertificate(ctx, edgeId, params),
    // on PostgreSQL other control planes may hold some edges' channels: the store says which serve
    recorded: ctx.stores.postgres
      ? async () => (await listEdges(ctx.cdb))
        .filter((e) => e.revokedAt === null && e.lastSeenAt !== null)
        .map((e) => ({edgeId: e.id, lastSeenAt: e.lastSeenAt!, tunnelUrls: e.tunnelUrls}))
      : undefined,
  })
  ctx.edgesLive = channel
  // Warpgates registering or renewing are given every serving edge's tunnel addresses
  channel.onEdgesChanged((edges) => {
    ctx.urls.tunnels = [...new Set([...local, ...edges.flatMap((e) => e.urls)])]
    ctx.urls.tunnel = ctx.urls.tunnels[0] ?? ''
    directory.set(edges)
  })
  // `mezu warpgates list`: connections at this process's edge and at every edge node, together
  const inProcess = ctx.warpgatesLive
  ctx.warpgatesLive = {live: (id) => mergeLive(inProcess?.live(id), channel.warpgateLive(id))}
  return channel
}

function mergeLive(a: WarpgateLive | undefined, b: WarpgateLive | undefined): WarpgateLive | undefined {
  if (!a || !b) return a ?? b
  return {
    connections: a.connections + b.connections, healthy: a.healthy || b.healthy, remoteIps: [...new Set([...a.remoteIps, ...b.remoteIps])],
    version: a.version ?? b.version,
    connectedSince: a.connectedSince === null || b.connectedSince === null ? a.connectedSince ?? b.connectedSince : Math.min(a.connectedSince, b.connectedSince),
  }
}
