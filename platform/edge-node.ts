import {randomBytes} from 'node:crypto'
import {rmSync, writeFileSync} from 'node:fs'
import {isIP} from 'node:net'
import {join} from 'node:path'
import pino, {type Logger} from 'pino'
import {isWildcardHost, type PlatformConfig, urlHostname} from './config.js'
import {type DataPlane, startDataPlane} from './data-plane.js'
import {RequestLog} from './edge/request-log.js'
import type {Admission} from './edge/tunnel/admission.js'
import {MutableTunnelDirectory} from './edge/tunnel/directory.js'
import {ControlChannel} from './edge/remote/control-channel.js'
import {EdgeCertRenewer} from './edge/remote/cert-renewal.js'
import {EDGE_LOCK_FILE, enrolEdge, type EdgeNodeState, loadEdgeState} from './edge/remote/enrol.js'
import type {EdgeWarpgateLive, WireWarpgate} from './edge/remote/messages.js'
import {remoteAuthority} from './edge/remote/remote-authority.js'
import {MetricsServer} from './metrics/metrics-server.js'
import {PlatformMetrics} from './metrics/platform-metrics.js'
import {loadCertPair} from './pki/cert-files.js'
import {type Check, listening, type ReadinessReport, runChecks} from './readiness.js'
import {KeyedHasher, loadSodium} from './store/crypto.js'
import {parseListenAddress} from '../src/lib/listen-address.js'
import {MEZU_VERSION} from '../src/protocol/version.js'
import {AccessLog} from './access-log.js'

export {EDGE_LOCK_FILE}

export interface RunningEdgeNode {
  role: 'edge'
  edgeId: string
  name: string
  edgeUrl: string
  tunnelUrl: string
  tunnelUrls: string[]
  metricsUrl: string | null
  ports: {edge: number; tunnel: number}
  dataDir: string
  caPath: string
  domain: string
  controlUrl: string
  channel: ControlChannel
  data: DataPlane
  ready(): Promise<ReadinessReport>
  /** resolves, with the reason, once the edge stopped by itself: its control plane revoked or refused it */
  refused: Promise<string>
  stop(): Promise<void>
}

/**
 * The composition root of `mezu platform start --role edge`: enrol on the first start (join
 * token), connect the control channel, and serve the data plane from the channel's snapshot. No
 * store, no master key: only its own keys, its certificate and what the channel brings.
 */
export async function startEdgeNode(config: PlatformConfig, opts: {log?: Logger} = {}): Promise<RunningEdgeNode> {
  const log = opts.log ?? pino({level: 'silent'})
  const fileCert = config.certificates.edge && loadCertPair(config.certificates.edge)
  const controlUrl = config.controlUrl!
  let state = loadEdgeState(config.dataDir)
  if (state && state.controlUrl !== controlUrl) {
    log.info({was: state.controlUrl, now: controlUrl}, 'the control plane address changed; the enrolment stays')
    state = {...state, controlUrl}
  }
  if (!state) {
    if (!config.joinToken) throw new Error(`${config.dataDir} holds no enrolment: pass --join-token from \`mezu edges create\` on the first start`)
    state = await enrolEdge({
      dataDir: config.dataDir, controlUrl, joinToken: config.joinToken, ...certificateNames(config),
      ...(config.advertise.tunnelUrls && {tunnelUrls: config.advertise.tunnelUrls}),
    })
    log.info({edgeId: state.edgeId, name: state.name}, 'enrolled with the control plane')
  }
  const s: EdgeNodeState = state
  const metricsAddr = config.metricsAddr === undefined ? undefined : parseListenAddress(config.metricsAddr, 'metricsAddr')
  if (typeof metricsAddr === 'string') throw new Error(metricsAddr)
  const metrics = metricsAddr ? new PlatformMetrics() : undefined

  let data: DataPlane | undefined
  let publicUrls = {edgeUrl: null as string | null, tunnelUrls: [] as string[]}
  const channel: ControlChannel = new ControlChannel({
    controlUrl, tls: {key: s.keyPem, cert: s.certPem, ca: s.caPem}, signingKey: s.signingKey, log,
    status: (): ReturnType<ConstructorParameters<typeof ControlChannel>[0]['status']> => ({version: MEZU_VERSION, edgeUrl: publicUrls.edgeUrl, tunnelUrls: publicUrls.tunnelUrls, warpgates: data ? warpgatesLive(data, channel.warpgates) : []}),
  })
  log.info({controlUrl}, 'connecting to the control plane')
  await channel.start()
  const sodium = await loadSodium()
  const hasher = new KeyedHasher(sodium, randomBytes(32), Buffer.from(channel.secrets!.tokenHashKey, 'base64'))
  const admission = new ChannelAdmission(channel)
  // Warpgates connected here learn of every other edge through this edge too
  const directory = new MutableTunnelDirectory(channel.tunnelEdges)
  channel.on('edges', (edges) => directory.set(edges))
  const requestLog = new RequestLog(10_000)
  const offLog = requestLog.subscribe((e) => channel.log(e))
  const access = config.accessLog ? new AccessLog(config.accessLog) : undefined
  const offAccess = access && requestLog.subscribe((e) => access.write(e))
  const domainConfig = {...config, domain: channel.get().domain}
  try {
    data = await startDataPlane({
      config: domainConfig, log, tls: {key: s.keyPem, cert: s.certPem}, fileCert, caPem: s.caPem,
      source: channel, authority: remoteAuthority(channel, (t) => hasher.tokenHash(t).toString('hex')), events: channel,
      admission, requestLog, metrics, csrfKey: Buffer.from(channel.secrets!.csrfKey, 'base64'),
      onWarpgate: () => channel.reportStatus(),
      directory,
    })
  } catch (error) {
    channel.close()
    offLog()
    offAccess?.()
    throw error
  }
  const dp = data
  const urlHost = isWildcardHost(config.host) ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host
  const publicEdgePort = config.advertise.edgePort ?? dp.edgePort
  dp.setPublicEdgePort(publicEdgePort)
  const domain = domainConfig.domain
  const edgeUrl = `https://${domain}${publicEdgePort === 443 ? '' : `:${publicEdgePort}`}`
  const tunnelUrls = config.advertise.tunnelUrls?.map((u) => (new URL(u).port ? u : `${u}:${dp.tunnelPort}`)) ?? [`tls://${urlHost}:${dp.tunnelPort}`]
  publicUrls = {edgeUrl, tunnelUrls}
  channel.reportStatus()

  // Listeners serve the renewed certificate to new connections; the channel presents it on its next connect.
  const renewer = new EdgeCertRenewer({
    channel, dataDir: config.dataDir, state: s, names: certificateNames(config), log,
    apply: (next) => {
      dp.tunnel.setCertificate({key: next.keyPem, cert: next.certPem})
      if (!fileCert) dp.edge.setCertificate({key: next.keyPem, cert: next.certPem})
      channel.setTls({key: next.keyPem, cert: next.certPem})
    },
  })
  renewer.start()

  const checks: Array<[string, Check]> = [
    ['edge', listening(dp.edge.server, 'edge')],
    ['tunnel', listening(dp.tunnel.server, 'tunnel')],
    // Warpgates refuse an expired certificate: the edge cannot serve them any more
    ['certificate', () => (renewer.expiresAt() > Date.now() ? {ok: true} : {ok: false, message: `the edge certificate expired at ${new Date(renewer.expiresAt()).toISOString()} before it could be renewed over the control channel`})],
    // the edge still serves its last snapshot; this says it may be stale
    ['control-channel', () => (channel.connected ? {ok: true} : {ok: false, message: `the control plane has been unreachable since ${new Date(channel.disconnectedSince ?? Date.now()).toISOString()}; serving the configuration of version ${channel.get().version}`})],
  ]
  const ready = () => runChecks(checks)
  metrics?.attach({
    pool: dp.pool,
    edgeConfigVersion: () => channel.get().version,
    storeConfigVersion: () => channel.get().version,
    sample: async () => {},
    configLagSeconds: () => (channel.connected ? 0 : (Date.now() - (channel.disconnectedSince ?? Date.now())) / 1000),
    routes: () => channel.get().routes,
  })
  let metricsServer: MetricsServer | undefined
  let metricsUrl: string | null = null
  if (metrics && metricsAddr) {
    metricsServer = new MetricsServer({...metricsAddr, metrics: () => metrics.metrics(), ready})
    metricsUrl = await metricsServer.listen()
  }
  const lockPath = join(config.dataDir, EDGE_LOCK_FILE)
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    renewer.stop()
    await metricsServer?.close()
    channel.close()
    await dp.stop()
    offLog()
    offAccess?.()
    await access?.close()
    rmSync(lockPath, {force: true})
  }
  const refused = new Promise<string>((resolve) => channel.once('refused', (why: string) => {
    log.warn({edgeId: s.edgeId, reason: why}, 'this edge stops serving')
    void stop().then(() => resolve(why))
  }))
  writeFileSync(lockPath, JSON.stringify({pid: process.pid, role: 'edge', edgeId: s.edgeId, edgeUrl, tunnelUrls, controlUrl, startedAt: new Date().toISOString()}, null, 2) + '\n', {mode: 0o600})
  return {
    role: 'edge', edgeId: s.edgeId, name: s.name, edgeUrl, tunnelUrl: tunnelUrls[0], tunnelUrls, metricsUrl,
    ports: {edge: dp.edgePort, tunnel: dp.tunnelPort}, dataDir: config.dataDir, caPath: join(config.dataDir, 'ca.pem'), domain, controlUrl,
    channel, data: dp, ready, refused, stop,
  }
}

/** The admission list as the control channel keeps it. */
class ChannelAdmission implements Admission {
  private admitted = new Map<string, WireWarpgate>()
  private readonly listeners = new Set<(id: string) => void>()

  constructor(channel: ControlChannel) {
    this.set(channel.warpgates, [])
    channel.on('warpgates', (items, revoked) => this.set(items, revoked))
  }

  private set(items: WireWarpgate[], revoked: string[]): void {
    const before = this.admitted
    this.admitted = new Map(items.map((w) => [w.id, w]))
    // a Warpgate that left the list (revoked, or its project deleted) loses its connections here too
    for (const id of new Set([...revoked, ...[...before.keys()].filter((id) => !this.admitted.has(id))])) for (const fn of this.listeners) fn(id)
  }

  admit(id: string): WireWarpgate | undefined {
    return this.admitted.get(id)
  }

  onRevoked(fn: (id: string) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }
}

function warpgatesLive(data: DataPlane, admitted: readonly WireWarpgate[]): EdgeWarpgateLive[] {
  const out: EdgeWarpgateLive[] = []
  for (const w of admitted) {
    const live = data.pool.live(w.id)
    if (live) out.push({id: w.id, ...live})
  }
  return out
}

/** Names this edge's certificate must carry besides the platform's: its bound host and advertised tunnel hosts. */
function certificateNames(config: PlatformConfig): {dns: string[]; ips: string[]} {
  const dns = new Set<string>()
  const ips = new Set<string>()
  const add = (host: string) => (isIP(host) ? ips : dns).add(host.toLowerCase())
  if (!isWildcardHost(config.host)) add(config.host)
  for (const url of config.advertise.tunnelUrls ?? []) add(urlHostname(url))
  return {dns: [...dns], ips: [...ips]}
}
