import {join} from 'node:path'
import test from 'ava'
import {mezu, WARPGATE_BIN} from '../helpers/cli.js'
import {startOrigin} from '../helpers/origin.js'
import {publishThroughApi, startPlatformProcess} from '../helpers/platform-process.js'
import {tempDir} from '../helpers/platform.js'
import {httpGet, scrape, total} from '../helpers/prometheus.js'
import {edgeRequest, startTunnelCli, waitUntilServed} from '../helpers/tunnel.js'

test('mezu platform start --metrics-addr 127.0.0.1:0 prints metricsUrl under --json, serves /metrics, /healthz and /readyz there, and logs JSON lines on stderr', async (t) => {
  const p = await startPlatformProcess(t, join(tempDir(t), 'data'), undefined, {args: ['--metrics-addr', '127.0.0.1:0', '--log-level', 'info']})
  const url = p.summary.metricsUrl!
  t.regex(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
  const s = await scrape(url)
  t.is(s.types.get('mezu_edge_requests_total'), 'counter')
  t.true(total(s, 'process_resident_memory_bytes') > 0)
  const ready = await httpGet(url.replace('/metrics', '/readyz'))
  t.is(ready.status, 200, ready.text)
  t.true(JSON.parse(ready.text).ready)
  t.is((await httpGet(url.replace('/metrics', '/healthz'))).status, 200)
  const lines = p.stderr().split('\n').filter(Boolean)
  t.true(lines.length > 0)
  for (const line of lines) t.notThrows(() => JSON.parse(line), line)
  t.true(lines.some((l) => JSON.parse(l).msg === 'metrics listening'))
})

test('a malformed --metrics-addr exits 2 naming the flag and the setting, before anything starts', async (t) => {
  const dir = tempDir(t)
  for (const bad of ['9464', 'localhost:', 'host:99999']) {
    const r = await mezu(['platform', 'start', '--data-dir', join(dir, 'data'), '--metrics-addr', bad, '--json'])
    t.is(r.code, 2, r.stderr)
    t.regex(JSON.parse(r.stderr).error.message, /^--metrics-addr: metricsAddr must be HOST:PORT like 127\.0\.0\.1:9464/)
  }
})

test('mezu-warpgate reports its counters to the edge, which exposes them by Warpgate id; --metrics-addr serves them locally and --log-level debug logs each request as a JSON line', async (t) => {
  const p = await startPlatformProcess(t, join(tempDir(t), 'data'), undefined, {args: ['--metrics-addr', '127.0.0.1:0']})
  const host = 'counted.mezu.localhost'
  const {token, warpgateId} = await publishThroughApi(p, host, 'counted')
  const origin = await startOrigin(t)
  const env = {MEZU_WARPGATE_TOKEN: token, MEZU_API_URL: p.summary.apiUrl, MEZU_CA_FILE: p.summary.caPath}
  const wg = await startTunnelCli(t, [String(origin.port), '--metrics-addr', '127.0.0.1:0', '--log-level', 'debug'], env, 1, [WARPGATE_BIN])
  const local = (await wg.waitForEvent((e) => e.type === 'metrics', 'the metrics event')).url as string
  t.regex(local, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
  const edge = {caPem: p.caPem, ports: p.summary.ports}
  await waitUntilServed(edge, host)
  for (let i = 0; i < 3; i++) t.is((await edgeRequest(edge, host, '/hello')).status, 200)
  await wg.waitForEvent((e) => e.type === 'request' && e.path === '/hello', 'a request event')
  const mine = await scrape(local)
  t.true(total(mine, 'mezu_warpgate_requests_total') >= 3)
  t.is(total(mine, 'mezu_warpgate_tunnel_connections'), 1)
  t.is((await httpGet(local.replace('/metrics', '/readyz'))).status, 200)
  // the edge gets them with the next report (every 10 s)
  const deadline = Date.now() + 25_000
  let atEdge = 0
  while (atEdge < 3 && Date.now() < deadline) {
    atEdge = total(await scrape(p.summary.metricsUrl!), 'mezu_warpgate_requests_total', {warpgate: warpgateId})
    if (atEdge < 3) await new Promise((r) => setTimeout(r, 250))
  }
  t.true(atEdge >= 3, `the edge shows ${atEdge} requests for ${warpgateId}`)
  const logs = wg.stderr().split('\n').filter(Boolean).map((l) => JSON.parse(l))
  t.true(logs.some((l) => l.level === 20 && l.event === 'request' && l.path === '/hello'), 'debug lines for requests')
  t.true(logs.some((l) => l.level === 30 && l.msg === 'tunnel connection up'))
  t.is(await wg.stop(), 0, wg.stderr())
})
