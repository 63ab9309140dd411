import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {setTimeout as delay} from 'node:timers/promises'
import test from 'ava'
import {BIN} from '../helpers/cli.js'
import {startOrigin} from '../helpers/origin.js'
import {startTestPlatform} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {TunnelConnection} from '../../src/warpgate/connection.js'
import {register} from '../../src/warpgate/registration.js'
import {ownerCli} from '../helpers/session.js'
import {edgeRequest, registrationToken} from '../helpers/tunnel.js'

test('mezu tunnel drains on SIGTERM: the slow request in flight finishes, new ones are not sent to it, and it exits 0', async (t) => {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  await addRoute(platform, {...scope, hostname: 'slow.mezu.localhost', service: 'slow'})
  const owner = await ownerCli(t, platform)
  const created = await owner.json(['warpgates', 'create', '--name', 'slow', '--project', 'demo', '--env', 'prod'])
  t.regex(created.token, /^mezu_wg_[A-Za-z0-9_-]{43}$/)
  t.is(created.warpgate.status, 'pending')

  const child = spawn(process.execPath, [BIN, 'tunnel', origin.url, '--json', '--connections', '2', '--grace', '30s'], {
    env: {...process.env, CI: '1', MEZU_API_URL: platform.apiUrl, MEZU_CA_FILE: platform.caPath, MEZU_WARPGATE_TOKEN: created.token, MEZU_CONFIG_DIR: platform.dir},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.teardown(() => child.kill('SIGKILL'))
  const events: any[] = []
  const waiters: Array<() => void> = []
  let stderr = ''
  let buffered = ''
  child.stderr.on('data', (d) => (stderr += d))
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (d: string) => {
    buffered += d
    let i
    while ((i = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, i)
      try {
        events.push(JSON.parse(line))
      } catch {
        events.push({type: 'not-json', line})
      }
      buffered = buffered.slice(i + 1)
      for (const w of waiters.splice(0)) w()
    }
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const eventLike = (match: (e: any) => boolean, what: string) => new Promise<any>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} event; stderr: ${stderr}`)), 20_000)
    const check = () => {
      const e = events.find(match)
      if (e) {
        clearTimeout(timer)
        resolve(e)
      } else waiters.push(check)
    }
    check()
  })
  await eventLike((e) => e.type === 'connected' && e.connections === 2, 'second connection')

  const listed = await owner.json(['warpgates', 'list', '--project', 'demo'])
  const live = listed.items.find((w: any) => w.id === created.warpgate.id)
  t.is(live.status, 'connected')
  t.is(live.connections, 2)
  t.deepEqual(live.remoteIps, ['127.0.0.1'])
  t.is(live.version, JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version)

  const slow = edgeRequest(platform, 'slow.mezu.localhost', '/slow?ms=2000')
  const deadline = Date.now() + 10_000
  while (!origin.seen.some((s) => s.url === '/slow?ms=2000')) {
    if (Date.now() > deadline) throw new Error('the slow request never reached the origin')
    await new Promise((r) => setTimeout(r, 20))
  }
  child.kill('SIGTERM')
  await eventLike((e) => e.type === 'draining', 'draining')
  // Once the edge acknowledged the drain, a new request finds no connection to take it.
  let fresh = await edgeRequest(platform, 'slow.mezu.localhost', '/hello')
  while (fresh.status === 200 && Date.now() < deadline + 10_000) fresh = await edgeRequest(platform, 'slow.mezu.localhost', '/hello')
  t.is(fresh.status, 503)
  const finished = await slow
  t.is(finished.status, 200)
  t.is(finished.text, 'slow done\n')
  t.is(await exited, 0, stderr)
  t.deepEqual(events.map((e) => e.type).slice(-2), ['stopped', 'exit'])
  t.false(events.some((e) => e.type === 'not-json'), 'every stdout line is one JSON event')
  t.true(events.some((e) => e.type === 'request' && e.path === '/slow?ms=2000' && e.status === 200))

  const after = await owner.json(['warpgates', 'get', created.warpgate.id])
  t.is(after.status, 'disconnected')
  t.truthy(after.lastSeenAt)
  const revoked = await owner.json(['warpgates', 'revoke', 'slow', '--project', 'demo'])
  t.is(revoked.status, 'revoked')
  const again = await owner.run(['warpgates', 'revoke', created.warpgate.id, '--json'])
  t.is(again.code, 1)
  t.is(JSON.parse(again.stderr).error.code, 'conflict')
})

test('a drain that comes while a connection is still dialling closes it: it never comes up afterwards', async (t) => {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  const {token} = await registrationToken(platform, scope, 'early')
  const creds = await register({apiUrl: platform.apiUrl, caPem: platform.caPem}, token)
  const conn = new TunnelConnection({
    tunnelUrl: creds.info.tunnelUrl, caPem: creds.caPem, certPem: creds.certPem, keyPem: creds.keyPem,
    handler: {serveStream: (s) => s.reset()}, hello: {version: 'test', service: 'early', connection: 0}, health: () => ({healthy: true}),
  })
  t.teardown(() => conn.close())
  let ready = false
  conn.once('ready', () => (ready = true))
  const served = conn.serve()
  // the TLS handshake needs I/O, so the drain lands before it
  await conn.drain(1000)
  const reason = await Promise.race([served, delay(10_000).then(() => undefined)])
  t.truthy(reason, 'serve() ended: the connection did not stay up after the drain')
  t.like(reason, {kind: 'drained', established: false})
  t.false(ready)
})
