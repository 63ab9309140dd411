import {setTimeout as delay} from 'node:timers/promises'
import test, {type ExecutionContext} from 'ava'
import {BIN, WARPGATE_BIN} from '../helpers/cli.js'
import {startOrigin} from '../helpers/origin.js'
import {tempDir} from '../helpers/platform.js'
import {publishThroughApi, startPlatformProcess} from '../helpers/platform-process.js'
import {edgeRequest, scaffoldHello, startTunnelCli, type TunnelCli, waitUntilServed} from '../helpers/tunnel.js'

// The real binaries against a real `mezu platform start` child that dies: a connector must outlive
// the platform and come back by itself (an in-process Warpgate hid that it exited with code 13).

type Target = 'port' | 'service directory'

/** Waits until the Warpgate reported `n` more reconnect attempts after event index `from`. */
function moreAttempts(wg: TunnelCli, from: number, n: number, ms: number) {
  return wg.waitForEvent(() => wg.events.slice(from).filter((e) => e.type === 'reconnecting').length >= n, `${n} reconnect attempts`, ms)
}

async function outlivesThePlatform(t: ExecutionContext, command: string[], target: Target, death: NodeJS.Signals, downMs: number) {
  const dataDir = tempDir(t)
  const first = await startPlatformProcess(t, dataDir)
  const {ports, domain} = first.summary
  const host = `back.${domain}`
  const service = target === 'port' ? 'back' : 'hello'
  const {token} = await publishThroughApi(first, host, service)
  const origin = target === 'port' ? String((await startOrigin(t)).port) : await scaffoldHello(t)
  const env = {MEZU_WARPGATE_TOKEN: token, MEZU_API_URL: first.summary.apiUrl, MEZU_CA_FILE: first.summary.caPath}
  const wg = await startTunnelCli(t, [origin], env, 2, command)
  const edge = {ports, caPem: first.caPem}
  await waitUntilServed(edge, host)
  t.is((await edgeRequest(edge, host, '/hello')).status, 200)

  await first.kill(death)
  const lostAt = wg.events.length
  await wg.waitForEvent((e) => e.type === 'disconnected' && e.connections === 0, 'both connections lost')
  // Exit 13 came right after the second "reconnecting": several attempts prove it stays.
  await moreAttempts(wg, lostAt, 4, 30_000)
  if (downMs) await delay(downMs)
  t.false(wg.events.some((e) => e.type === 'exit'), 'still running while the platform is down')

  const backFrom = wg.events.length
  const again = await startPlatformProcess(t, dataDir, ports)
  // Backoff is capped at 10 s with full jitter: both connections are back well within 20 s.
  await wg.waitForEvent((e) => e.type === 'connected' && e.connections === 2 && wg.events.indexOf(e) >= backFrom, 'both connections back', 20_000)
  await waitUntilServed({ports: again.summary.ports, caPem: again.caPem}, host)
  const r = await edgeRequest({ports: again.summary.ports, caPem: again.caPem}, host, '/hello')
  t.is(r.status, 200, r.text)
  t.is(await wg.stop(), 0, wg.stderr())
}

test('mezu-warpgate with a port target keeps retrying while the platform is SIGKILLed and serves again once it restarts', async (t) => {
  await outlivesThePlatform(t, [WARPGATE_BIN], 'port', 'SIGKILL', 0)
})

test('mezu tunnel with a port target outlives a platform stopped with SIGTERM and serves again once it restarts', async (t) => {
  await outlivesThePlatform(t, [BIN, 'tunnel'], 'port', 'SIGTERM', 0)
})

test('mezu tunnel with a service directory outlives a SIGKILLed platform, keeps its service, and serves again once it restarts', async (t) => {
  await outlivesThePlatform(t, [BIN, 'tunnel'], 'service directory', 'SIGKILL', 0)
})

test('mezu-warpgate stays up through 60 s without a platform and serves within seconds of its return', async (t) => {
  await outlivesThePlatform(t, [WARPGATE_BIN], 'port', 'SIGKILL', 60_000)
})
