import {type ChildProcess, execFile, spawn} from 'node:child_process'
import {once} from 'node:events'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import test from 'ava'
import {api, loginToken} from '../helpers/api.js'
import {WARPGATE_BIN} from '../helpers/cli.js'
import {createNetnsLink, netnsProblem} from '../helpers/netns.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, tempDir} from '../helpers/platform.js'
import {publishThroughApi, startPlatformProcess} from '../helpers/platform-process.js'
import {startTunnelCli, waitUntilServed} from '../helpers/tunnel.js'

// A Warpgate on "another machine": a network namespace whose only way to the platform is a veth
// pair, so it can use nothing but the address the platform advertises.

/** An origin inside the namespace on its own loopback; it answers with the addresses it sees. */
async function startOriginIn(ns: string, kill: (child: ChildProcess) => void): Promise<number> {
  const script = `
    const http = require('node:http'), os = require('node:os')
    const server = http.createServer((req, res) => {
      const ips = Object.values(os.networkInterfaces()).flat().filter((a) => a.family === 'IPv4').map((a) => a.address)
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({path: req.url, ips}))
    })
    server.listen(0, '127.0.0.1', () => console.log(server.address().port))
    process.on('SIGTERM', () => process.exit(0))`
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], {stdio: ['ignore', 'pipe', 'inherit']})
  kill(child)
  const [line] = (await once(createInterface({input: child.stdout!}), 'line')) as [string]
  return Number(line)
}

function curl(args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', ...args], {timeout: 20_000}, (error, stdout, stderr) => resolve({code: error ? 1 : 0, stdout, stderr}))
  })
}

const problem = netnsProblem()
const title = 'a Warpgate in another network namespace reaches a platform bound to 0.0.0.0 only through an advertised tunnel address, moving past one it cannot reach, and an end user reaches its origin through the edge'

if (problem) {
  test.skip(`${title} (skipped: ${problem})`, () => {})
} else {
  test.serial(title, async (t) => {
    const link = createNetnsLink(t)
    const children: ChildProcess[] = []
    // registered after the namespace's teardown, so it runs first: nothing is left inside
    t.teardown(() => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
    })
    const platform = await startPlatformProcess(t, join(tempDir(t), 'data'), {api: 0, edge: 0, tunnel: 0}, {args: [
      '--host', '0.0.0.0',
      // the first address leads nowhere from inside the namespace (its own loopback): the Warpgate must move on to the second
      '--advertise-tunnel-url', 'tls://127.0.0.1', '--advertise-tunnel-url', `tls://${link.hostIp}`,
    ]})
    const {ports} = platform.summary
    t.deepEqual(platform.summary.tunnelUrls, [`tls://127.0.0.1:${ports.tunnel}`, `tls://${link.hostIp}:${ports.tunnel}`], 'an advertised address without a port takes the bound tunnel port')
    t.is(platform.summary.tunnelUrl, `tls://127.0.0.1:${ports.tunnel}`)

    const host = 'far.mezu.localhost'
    const {token, warpgateId} = await publishThroughApi(platform, host, 'far')
    const originPort = await startOriginIn(link.name, (c) => children.push(c))
    const env = {MEZU_WARPGATE_TOKEN: token, MEZU_API_URL: `https://${link.hostIp}:${ports.api}`, MEZU_CA_FILE: platform.summary.caPath}
    const wg = await startTunnelCli(t, [String(originPort)], env, 2, [WARPGATE_BIN], ['ip', 'netns', 'exec', link.name])
    t.like(wg.events.find((e) => e.type === 'registered'), {warpgateId, service: 'far'})
    t.true(wg.events.some((e) => e.type === 'disconnected' && e.connection === 0 && !e.reason.established), 'slot 0 first tried the unreachable address')

    const edge = {caPem: platform.caPem, ports: {edge: ports.edge}}
    await waitUntilServed(edge, host)
    const res = await curl(['--cacert', platform.summary.caPath, '--resolve', `${host}:${ports.edge}:127.0.0.1`, `https://${host}:${ports.edge}/from-the-host`])
    t.is(res.code, 0, res.stderr)
    const body = JSON.parse(res.stdout) as {path: string; ips: string[]}
    t.is(body.path, '/from-the-host')
    t.true(body.ips.includes(link.nsIp), `the origin answered from inside the namespace (${body.ips.join(', ')})`)

    // the edge saw the Warpgate's connections arrive over the veth pair
    const owner = await loginToken(platform.summary.apiUrl, platform.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
    const view = await api(platform.summary.apiUrl, platform.caPem, 'GET', `/v1/warpgates/${warpgateId}`, {token: owner})
    t.is(view.body.connections, 2)
    t.deepEqual(view.body.remoteIps, [link.nsIp])
    t.is(await wg.stop(), 0, wg.stderr())
  })
}
