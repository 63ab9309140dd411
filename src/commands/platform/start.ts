import {resolve} from 'node:path'
import {Flags} from '@oclif/core'
import pino from 'pino'
import {buildConfig, ConfigError, DEFAULTS, defaultDataDir, localStatus} from '../../../platform/admin.js'
import {startPlatform} from '../../../platform/server.js'
import {MezuCommand} from '../../lib/base-command.js'
import {MezuError} from '../../lib/errors.js'
import {details} from '../../lib/output.js'
import {dataDirFlag} from '../../lib/platform-flags.js'
import {readStdin} from '../../lib/prompt.js'

export default class PlatformStart extends MezuCommand<typeof PlatformStart> {
  static override summary = 'Run the control plane and the edge in the foreground (initialises an empty data directory first).'
  static override description = 'Ports are flags; 0 picks any free port. Under --json one JSON line with the addresses is printed once the platform listens. SIGINT, SIGTERM or SIGHUP shut it down cleanly.'
  static override examples = [
    '<%= config.bin %> platform start',
    '<%= config.bin %> platform start --api-port 0 --edge-port 0 --tunnel-port 0 --json',
    '<%= config.bin %> platform start --domain mezu.example.com --host 0.0.0.0 --advertise-tunnel-url tls://mezu.example.com:7444 --advertise-api-url https://mezu.example.com:7443',
    '<%= config.bin %> platform start --domain mezu.example.com --host 0.0.0.0 --advertise-tunnel-url tls://203.0.113.10:7444 --advertise-edge-port 443 --tls-cert fullchain.pem --tls-key privkey.pem',
  ]

  static override flags = {
    ...dataDirFlag,
    host: Flags.string({description: 'address to listen on', default: DEFAULTS.host}),
    'api-port': Flags.integer({description: 'control API port (0 = any free port)', default: DEFAULTS.apiPort, min: 0, max: 65535}),
    'edge-port': Flags.integer({description: 'end-user HTTPS port (0 = any free port)', default: DEFAULTS.edgePort, min: 0, max: 65535}),
    'tunnel-port': Flags.integer({description: 'Warpgate tunnel port (0 = any free port)', default: DEFAULTS.tunnelPort, min: 0, max: 65535}),
    domain: Flags.string({description: 'the domain routes live under', default: DEFAULTS.domain}),
    'admin-email': Flags.string({description: 'first owner, when the data directory is empty', default: 'admin@mezu.localhost'}),
    'admin-password-stdin': Flags.boolean({description: 'read the first owner\'s password from stdin (empty data directory only)'}),
    'log-level': Flags.option({options: ['silent', 'error', 'warn', 'info', 'debug'] as const, default: 'info'})(),
    // Addresses and certificates (issue 9); kept together so the settings file can take them over.
    'advertise-api-url': Flags.string({description: 'control API address handed out (links, `start --json`), e.g. https://mezu.example.com:7443'}),
    'advertise-tunnel-url': Flags.string({description: 'tunnel address Warpgates dial, e.g. tls://203.0.113.10:7444 (repeat for several addresses of this edge; required with a wildcard --host)', multiple: true}),
    'advertise-edge-port': Flags.integer({description: 'port in public route URLs, e.g. 443 when a port mapping sits in front of --edge-port', min: 1, max: 65535}),
    'tls-cert': Flags.string({description: 'PEM certificate (chain allowed) the edge serves instead of the private CA\'s; re-read when it changes', dependsOn: ['tls-key']}),
    'tls-key': Flags.string({description: 'PEM private key for --tls-cert', dependsOn: ['tls-cert']}),
    'api-tls-cert': Flags.string({description: 'PEM certificate (chain allowed) the control API serves instead of the private CA\'s; re-read when it changes', dependsOn: ['api-tls-key']}),
    'api-tls-key': Flags.string({description: 'PEM private key for --api-tls-cert', dependsOn: ['api-tls-cert']}),
  }

  async run() {
    const f = this.flags
    let config
    try {
      config = buildConfig({
        dataDir: f['data-dir'] ?? defaultDataDir(process.env),
        masterKey: process.env.MEZU_MASTER_KEY || undefined,
        host: f.host,
        apiPort: f['api-port'],
        edgePort: f['edge-port'],
        tunnelPort: f['tunnel-port'],
        domain: f.domain.toLowerCase(),
        advertise: {apiUrl: f['advertise-api-url'], tunnelUrls: f['advertise-tunnel-url'], edgePort: f['advertise-edge-port']},
        certificates: {
          edge: f['tls-cert'] ? {certFile: resolve(f['tls-cert']), keyFile: resolve(f['tls-key']!)} : undefined,
          api: f['api-tls-cert'] ? {certFile: resolve(f['api-tls-cert']), keyFile: resolve(f['api-tls-key']!)} : undefined,
          checkIntervalMs: DEFAULTS.certificateCheckIntervalMs,
        },
      })
    } catch (error) {
      if (error instanceof ConfigError) throw new MezuError('usage', error.message, 2)
      throw error
    }
    const running = localStatus(config.dataDir)
    if (running.running) throw new MezuError('platform', `the platform is already running from ${config.dataDir} (pid ${running.pid}, ${running.apiUrl})`)
    const adminPassword = f['admin-password-stdin'] ? await readStdin() : undefined
    const log = pino({level: f['log-level'], redact: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.token']}, pino.destination(2))
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
        ['CA certificate', platform.caPath],
      ]))
      this.log(`\nLog in: mezu login --api-url ${platform.apiUrl} --ca-file ${platform.caPath}\nStop with Ctrl-C.`)
    }
    await stopped
    await platform.stop()
  }
}
