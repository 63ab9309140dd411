import {MEZU_VERSION} from '../protocol/version.js'
import {readFileSync} from 'node:fs'
import {parseArgs} from 'node:util'
import {normaliseApiUrl} from '../lib/api-url.js'
import {readCaFile} from '../lib/ca-pin.js'
import {parseDuration} from '../lib/duration.js'
import {MezuError, toErrorBody} from '../lib/errors.js'
import {parseListenAddress} from '../lib/listen-address.js'
import {describeEvent} from './describe.js'
import {LOG_LEVELS, type LogLevel, logEvent, warpgateLogger} from './log.js'
import {runTunnel} from './run.js'
import {resolveTarget} from './service-config.js'

const USAGE = `Run a Warpgate on a server: the lean runtime of \`mezu tunnel\`, without the CLI.
Registers with a one-time token from \`mezu warpgates create\`, starts the service a mezu.json
names, keeps the tunnel up and drains on SIGTERM, SIGINT or SIGHUP (a second signal stops at once).

USAGE
  $ mezu-warpgate TARGET [--state FILE] [--connections N] [--grace 30s] [--name N] [--require-assertion] [--quiet] [--json]
                  [--log-level info] [--metrics-addr HOST:PORT]
  $ mezu-warpgate --version

TARGET is a service directory holding mezu.json, a port (3000) or a URL (http://127.0.0.1:3000).
Routes are not created here: point one at the service with \`mezu routes create\`.
--connections N connections (default 2) are kept to each edge the platform names; edges that
come or go are followed without a restart.

stdout carries the events (a line each for people, or NDJSON with --json); stderr carries JSON log
lines (pino's format) at --log-level (silent, error, warn, info, debug; default info). The Warpgate reports
its counters to the edge, which serves them; --metrics-addr HOST:PORT (:PORT = 127.0.0.1) also
serves them here, at /metrics, with /healthz and /readyz.

ENVIRONMENT (or the flag of the same name)
  MEZU_WARPGATE_TOKEN       --token       one-time registration token (mezu_wg_...)
  MEZU_WARPGATE_TOKEN_FILE  --token-file  a file holding that token (systemd LoadCredential=)
  MEZU_API_URL              --api-url     control-plane address, https://host:port
  MEZU_CA_FILE              --ca-file     PEM file of the platform CA (\`mezu platform trust\`)
  MEZU_WARPGATE_STATE       --state       file (0600) keeping the Warpgate's key and certificate, so a
                                          restart comes back as the same Warpgate without a new token

EXAMPLE
  $ MEZU_WARPGATE_TOKEN=mezu_wg_... MEZU_API_URL=https://mezu.example:7443 MEZU_CA_FILE=ca.pem \\
    mezu-warpgate 8080 --state /var/lib/mezu/warpgate.json --json
`

/** The same words as `mezu --version` (oclif's), from the package both binaries ship in. */
function versionInfo(): {version: string; platform: string; node: string} {
  return {version: MEZU_VERSION, platform: `${process.platform}-${process.arch}`, node: process.version}
}

const usage = (message: string) => new MezuError('usage', message, 2)

/**
 * The whole program. Kept apart from the oclif CLI on purpose: a server's Warpgate is a long-running
 * daemon, and oclif and got would be most of its memory (about 66 MiB against 55 idle).
 */
export async function main(argv: string[]): Promise<number> {
  let json = argv.includes('--json')
  try {
    const {values, positionals} = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: {
        connections: {type: 'string', default: '2'}, grace: {type: 'string', default: '30s'}, name: {type: 'string', short: 'n'},
        'require-assertion': {type: 'boolean'}, quiet: {type: 'boolean', short: 'q'}, json: {type: 'boolean'}, help: {type: 'boolean', short: 'h'}, version: {type: 'boolean', short: 'v'},
        token: {type: 'string'}, 'token-file': {type: 'string'}, 'api-url': {type: 'string'}, 'ca-file': {type: 'string'}, state: {type: 'string'},
        'log-level': {type: 'string', default: 'info'}, 'metrics-addr': {type: 'string'},
      },
    })
    json = values.json ?? false
    if (values.help) {
      process.stdout.write(USAGE)
      return 0
    }
    if (values.version) {
      const v = versionInfo()
      process.stdout.write(json ? JSON.stringify(v) + '\n' : `mezu-warpgate/${v.version} ${v.platform} node-${v.node}\n`)
      return 0
    }
    if (positionals.length !== 1) throw usage(positionals.length ? `one TARGET expected, got ${positionals.length}` : 'TARGET is missing: a service directory, a port or a URL')
    const connections = Number(values.connections)
    if (!Number.isInteger(connections) || connections < 1 || connections > 16) throw usage(`--connections must be an integer from 1 to 16, got "${values.connections}"`)
    const graceMs = parseDuration(values.grace!)
    if (graceMs === undefined) throw usage(`--grace must be a duration like 30s or 2m, got "${values.grace}"`)
    const level = values['log-level'] as LogLevel
    if (!LOG_LEVELS.includes(level)) throw usage(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${values['log-level']}"`)
    const metricsAddr = values['metrics-addr'] === undefined ? undefined : parseListenAddress(values['metrics-addr'], '--metrics-addr')
    if (typeof metricsAddr === 'string') throw usage(metricsAddr)
    const log = warpgateLogger(level)
    const tokenFile = values['token-file'] ?? process.env.MEZU_WARPGATE_TOKEN_FILE
    if (tokenFile && (values.token ?? process.env.MEZU_WARPGATE_TOKEN)) throw usage('give the token once: --token (MEZU_WARPGATE_TOKEN) or --token-file (MEZU_WARPGATE_TOKEN_FILE), not both')
    const token = tokenFile ? readTokenFile(tokenFile) : values.token ?? process.env.MEZU_WARPGATE_TOKEN
    if (token && !token.startsWith('mezu_wg_')) throw usage('--token (MEZU_WARPGATE_TOKEN) must be a Warpgate registration token starting with mezu_wg_')
    const apiUrlText = values['api-url'] ?? process.env.MEZU_API_URL
    if (!apiUrlText) throw usage('no platform address: set MEZU_API_URL or pass --api-url')
    const caFile = values['ca-file'] ?? process.env.MEZU_CA_FILE
    if (!caFile) throw usage('no platform CA: set MEZU_CA_FILE or pass --ca-file (the file `mezu platform trust` names)')
    const apiUrl = normaliseApiUrl(apiUrlText)
    const target = resolveTarget(positionals[0], {name: values.name})
    if (target.routes?.length) log.warn({routes: target.routes.length}, `mezu.json lists ${target.routes.length} route(s); mezu-warpgate does not create routes (mezu tunnel or mezu routes create does)`)
    const result = await runTunnel({
      target, apiUrl, caPem: readCaFile(caFile), token: async () => token, statePath: values.state ?? process.env.MEZU_WARPGATE_STATE, graceMs, connections, requireAssertion: values['require-assertion'] ?? false,
      metricsAddr,
      onEvent: (e) => {
        logEvent(log, e)
        if (e.type === 'request' && values.quiet) return
        process.stdout.write((json ? JSON.stringify(e) : describeEvent(e, false)) + '\n')
      },
      onNotice: (message) => log.warn(message),
    })
    if (json) process.stdout.write(JSON.stringify({type: 'exit', ...result}) + '\n')
    return 0
  } catch (error) {
    // node:util's parse errors (unknown flag, missing value) are usage errors too
    const parseError = typeof (error as {code?: unknown}).code === 'string' && (error as {code: string}).code.startsWith('ERR_PARSE_ARGS')
    const {body, exit} = toErrorBody(parseError ? usage((error as Error).message) : error)
    process.stderr.write(json ? JSON.stringify(body) + '\n' : `Error: ${body.error.message}\n${exit === 2 ? 'See \'mezu-warpgate --help\'.\n' : ''}`)
    return exit
  }
}

function readTokenFile(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim()
  } catch (error) {
    throw new MezuError('bad_input', `cannot read the token file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
}
