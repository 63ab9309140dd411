import {Flags} from '@oclif/core'
import pino from 'pino'
import {localStatus, SETTINGS} from '../../../platform/admin.js'
import {startEdgeNode, startPlatform} from '../../../platform/server.js'
import {MezuCommand} from '../../lib/base-command.js'
import {MezuError} from '../../lib/errors.js'
import {loadPlatformConfig} from '../../lib/platform-config.js'
import {details} from '../../lib/output.js'
import {configFileFlag, dataDirFlag, settingFlags} from '../../lib/platform-flags.js'
import {readStdin} from '../../lib/prompt.js'

export default class PlatformStart extends MezuCommand<typeof PlatformStart> {
  static override summary = 'Run the control plane and the edge in the foreground (initialises an empty data directory first).'
  static override description = 'Settings come from flags, then MEZU_PLATFORM_* variables, then the config file (--config, else <data-dir>/platform.yaml), then defaults; `mezu platform config` shows them. Ports 0 pick any free port. Under --json one JSON line with the addresses is printed once the platform listens. SIGINT, SIGTERM or SIGHUP shut it down cleanly.'
  static override examples = [
    '<%= config.bin %> platform start',
    '<%= config.bin %> platform start --api-port 0 --edge-port 0 --tunnel-port 0 --json',
    '<%= config.bin %> platform start --domain mezu.example.com --host 0.0.0.0 --advertise-tunnel-url tls://mezu.example.com:7444 --advertise-api-url https://mezu.example.com:7443',
    '<%= config.bin %> platform start --domain mezu.example.com --host 0.0.0.0 --advertise-tunnel-url tls://203.0.113.10:7444 --advertise-edge-port 443 --tls-cert fullchain.pem --tls-key privkey.pem',
    '<%= config.bin %> platform start --config /etc/mezu/platform.yaml',
    '<%= config.bin %> platform start --domain example.com --host 0.0.0.0 --advertise-tunnel-url tls://example.com:7444 --edge-port 443 --acme-email ops@example.com --acme-http-port 80',
    '<%= config.bin %> platform start --metrics-addr 127.0.0.1:9464 --access-log /var/log/mezu/access.jsonl --log-level warn',
    '<%= config.bin %> platform start --role control --store postgres://mezu@db.example.com/mezu',
    '<%= config.bin %> platform start --role edge --data-dir /var/lib/mezu-edge --control-url https://control.example.com:7443 --join-token mezu_edge_…',
  ]

  static override get updateNotice() {
    return false
  }

  static override flags = {
    ...dataDirFlag,
    ...configFileFlag,
    ...settingFlags(SETTINGS),
    'admin-email': Flags.string({description: 'first owner, when the data directory is empty', default: 'admin@mezu.localhost'}),
    'admin-password-stdin': Flags.boolean({description: 'read the first owner\'s password from stdin (empty data directory only)'}),
  }

  async run() {
    const f = this.flags
    const {config} = loadPlatformConfig(f)
    const running = localStatus(config.dataDir)
    if (running.running) throw new MezuError('platform', `the platform is already running from ${config.dataDir} (pid ${running.pid}, ${running.apiUrl})`)
    const adminPassword = f['admin-password-stdin'] ? await readStdin() : undefined
    const log = pino({level: config.logLevel, redact: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.token']}, pino.destination(2))
    if (config.role === 'edge') return this.runEdge(config, log)
    let platform
    try {
      platform = await startPlatform(config, {log, adminEmail: f['admin-email'], adminPassword})
    } catch (error) {
      throw new MezuError('platform', `cannot start the platform from ${config.dataDir}: ${(error as Error).message}`)
    }
    // Caught before the summary is printed: a signal right after it must still stop cleanly.
    const stopped = new Promise<void>((resolve) => {
      const stop = () => resolve()
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
      // a closed terminal: without this, the default would end the process without a clean stop
      process.once('SIGHUP', stop)
    })
    const summary = {
      apiUrl: platform.apiUrl,
      edgeUrl: platform.edgeUrl,
      tunnelUrl: platform.tunnelUrl,
      tunnelUrls: platform.tunnelUrls,
      metricsUrl: platform.metricsUrl,
      ports: platform.ports,
      domain: platform.domain,
      dataDir: platform.dataDir,
      caPath: platform.caPath,
      pid: process.pid,
      ...(platform.init ? {initialized: {adminEmail: platform.init.adminEmail, generatedPassword: platform.init.generatedPassword ?? null}} : {}),
    }
    if (this.jsonEnabled()) {
      process.stdout.write(JSON.stringify(summary) + '\n')
    } else {
      if (platform.init) {
        this.log(`Initialised ${platform.dataDir}; owner ${platform.init.adminEmail}${platform.init.generatedPassword ? `, password (shown once): ${platform.init.generatedPassword}` : ''}`)
      }
      this.log(details([
        ['control API', platform.apiUrl],
        ['edge', platform.edgeUrl ?? '-'],
        ['tunnel', platform.tunnelUrls.join(', ') || '-'],
        ...(platform.metricsUrl ? [['metrics', platform.metricsUrl] as [string, string]] : []),
        ['CA certificate', platform.caPath],
      ]))
      this.log(`\nLog in: mezu login --api-url ${platform.apiUrl} --ca-file ${platform.caPath}\nStop with Ctrl-C.`)
    }
    await stopped
    await platform.stop()
  }

  /** --role edge: enrol (first start), connect to the control plane, serve until a signal or a revocation. */
  private async runEdge(config: Parameters<typeof startEdgeNode>[0], log: pino.Logger) {
    let edge
    try {
      edge = await startEdgeNode(config, {log})
    } catch (error) {
      throw new MezuError('platform', `cannot start the edge from ${config.dataDir}: ${(error as Error).message}`)
    }
    const stopped = new Promise<{refused?: string}>((resolve) => {
      const stop = () => resolve({})
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
      process.once('SIGHUP', stop)
      void edge.refused.then((why) => resolve({refused: why}))
    })
    const summary = {role: 'edge', edgeId: edge.edgeId, name: edge.name, edgeUrl: edge.edgeUrl, tunnelUrl: edge.tunnelUrl, tunnelUrls: edge.tunnelUrls, metricsUrl: edge.metricsUrl, ports: edge.ports, controlUrl: edge.controlUrl, domain: edge.domain, dataDir: edge.dataDir, caPath: edge.caPath, pid: process.pid}
    if (this.jsonEnabled()) {
      process.stdout.write(JSON.stringify(summary) + '\n')
    } else {
      this.log(details([
        ['edge node', `${edge.name} (${edge.edgeId})`],
        ['control plane', edge.controlUrl],
        ['edge', edge.edgeUrl],
        ['tunnel', edge.tunnelUrls.join(', ')],
        ...(edge.metricsUrl ? [['metrics', edge.metricsUrl] as [string, string]] : []),
      ]))
      this.log('\nStop with Ctrl-C.')
    }
    const {refused} = await stopped
    await edge.stop()
    if (refused) throw new MezuError('platform', `edge ${edge.name} (${edge.edgeId}) stopped serving: ${refused}`)
  }
}
