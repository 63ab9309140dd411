import {existsSync, rmSync, writeFileSync} from 'node:fs'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import pino, {type Logger} from 'pino'
import type {PlatformConfig} from './config.js'
import type {ControlContext} from './control/context.js'
import {ChangeFeed} from './control/feed.js'
import {LoginLimiter} from './control/login-limiter.js'
import {buildControlServer} from './control/server.js'
import {CA_CERT_FILE, initDataDir, type InitResult} from './init.js'
import {issueServerCert} from './pki/ca.js'
import {loadCa} from './store/config/ca.js'
import {openStores, storesExist} from './store/stores.js'

export const LOCK_FILE = 'platform.json'

export interface RunningPlatform {
  apiUrl: string
  edgeUrl: string | null
  tunnelUrl: string | null
  ports: {api: number; edge: number | null; tunnel: number | null}
  dataDir: string
  caPath: string
  caPem: string
  domain: string
  /** Set when start had to initialise an empty data directory. */
  init?: InitResult
  ctx: ControlContext
  stop(): Promise<void>
}

/**
 * The composition root of `mezu platform start`: open the stores, start the control plane and
 * the edge in this process, and wire the change feed between them.
 */
export async function startPlatform(config: PlatformConfig, opts: {log?: Logger; adminEmail?: string; adminPassword?: string} = {}): Promise<RunningPlatform> {
  const log = opts.log ?? pino({level: 'silent'})
  let init: InitResult | undefined
  if (!storesExist(config.dataDir)) {
    init = await initDataDir({dataDir: config.dataDir, masterKey: config.masterKey, adminEmail: opts.adminEmail ?? `admin@${config.domain}`, adminPassword: opts.adminPassword, passwordStrength: config.passwordStrength})
  }
  const stores = await openStores(config.dataDir, {masterKey: config.masterKey, passwordStrength: config.passwordStrength})
  const cdb = {db: stores.config, cipher: stores.cipher, hasher: stores.hasher}
  const idb = {db: stores.identity, cipher: stores.cipher, hasher: stores.hasher}
  const ca = loadCa(cdb)
  if (!ca) {
    stores.close()
    throw new Error(`${config.dataDir} has no platform CA; it was not initialised by mezu platform init`)
  }
  const caPath = join(config.dataDir, CA_CERT_FILE)
  if (!existsSync(caPath)) writeFileSync(caPath, ca.certPem, {mode: 0o644})
  const ctx: ControlContext = {
    config, stores, idb, cdb, ca, log,
    feed: new ChangeFeed(),
    limiter: new LoginLimiter(config.loginLimit),
    urls: {api: '', edge: '', tunnel: ''},
  }
  const dns = ['localhost', config.domain, `*.${config.domain}`]
  const ips = ['127.0.0.1', '::1']
  if (config.host !== '127.0.0.1' && config.host !== '0.0.0.0' && config.host !== '::') (/^[\d.:]+$/.test(config.host) ? ips : dns).push(config.host)
  const apiCert = await issueServerCert(ca, {dns, ips})
  const api = await buildControlServer(ctx, {key: apiCert.keyPem, cert: apiCert.chainPem})
  try {
    await api.listen({host: config.host, port: config.apiPort})
  } catch (error) {
    stores.close()
    throw error
  }
  const apiPort = (api.server.address() as AddressInfo).port
  const urlHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host
  ctx.urls.api = `https://${urlHost.includes(':') ? `[${urlHost}]` : urlHost}:${apiPort}`

  const lockPath = join(config.dataDir, LOCK_FILE)
  const running: RunningPlatform = {
    apiUrl: ctx.urls.api,
    edgeUrl: null,
    tunnelUrl: null,
    ports: {api: apiPort, edge: null, tunnel: null},
    dataDir: config.dataDir,
    caPath,
    caPem: ca.certPem,
    domain: config.domain,
    init,
    ctx,
    async stop() {
      await api.close()
      stores.close()
      rmSync(lockPath, {force: true})
    },
  }
  writeFileSync(lockPath, JSON.stringify({pid: process.pid, apiUrl: running.apiUrl, edgeUrl: running.edgeUrl, tunnelUrl: running.tunnelUrl, domain: config.domain, startedAt: new Date().toISOString()}, null, 2) + '\n', {mode: 0o600})
  return running
}
