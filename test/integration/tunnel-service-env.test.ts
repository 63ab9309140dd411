import {spawn} from 'node:child_process'
import {mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import test from 'ava'
import {BIN} from '../helpers/cli.js'
import {startTestPlatform, tempDir} from '../helpers/platform.js'
import {ownerCli} from '../helpers/session.js'
import {edgeRequest, freePort, startTunnelCli, waitUntilServed} from '../helpers/tunnel.js'

// Answers GET /env with what it was told about the platform's keys.
const ENV_SERVER = `import http from 'node:http'
import {readFileSync} from 'node:fs'
http.createServer((req, res) => res.end(JSON.stringify({
  issuer: process.env.MEZU_ISSUER, jwksUrl: process.env.MEZU_JWKS_URL, ca: readFileSync(process.env.NODE_EXTRA_CA_CERTS, 'utf8'),
}))).listen(Number(process.env.PORT), '127.0.0.1')
`

async function serviceDir(t: any, command: string[], routes?: unknown[]): Promise<string> {
  const dir = join(tempDir(t), 'svc')
  mkdirSync(dir)
  writeFileSync(join(dir, 'server.mjs'), ENV_SERVER)
  writeFileSync(join(dir, 'mezu.json'), JSON.stringify({name: 'svc', port: await freePort(), command, ...(routes ? {routes} : {})}))
  return dir
}

/** A failing test must not leave the service it is about running. */
function killIfAlive(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // stopped, as it should be
  }
}

/** `mezu tunnel DIR --json` in project demo/prod with TMPDIR set, as a child the test watches. */
async function spawnTunnel(t: any, dir: string): Promise<{child: ReturnType<typeof spawn>; tmp: string; stderr: () => string; exited: Promise<number | null>}> {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  await owner.json(['projects', 'create', 'demo'])
  await owner.json(['envs', 'create', 'prod', '--project', 'demo'])
  const tmp = tempDir(t)
  const child = spawn(process.execPath, [BIN, 'tunnel', dir, '--project', 'demo', '--env', 'prod', '--json'], {env: {...process.env, ...owner.env, CI: '1', TMPDIR: tmp, MEZU_TOKEN: '', MEZU_WARPGATE_TOKEN: ''}, stdio: ['ignore', 'pipe', 'pipe']})
  t.teardown(() => child.kill('SIGKILL'))
  let err = ''
  child.stderr!.on('data', (d) => (err += d))
  return {child, tmp, stderr: () => err, exited: new Promise((resolve) => child.on('exit', resolve))}
}

test('mezu tunnel DIR tells its service the issuer, the JWKS URL and the platform CA, and removes the CA file when it exits', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  await owner.json(['projects', 'create', 'demo'])
  await owner.json(['envs', 'create', 'prod', '--project', 'demo'])
  const open = await owner.json(['policies', 'create', 'open', '--public', '--project', 'demo'])
  const tmp = tempDir(t)
  const host = `svc.${platform.domain}`
  // mezu.json names the route's policy: public, so the test can ask without signing in
  const dir = await serviceDir(t, ['node', 'server.mjs'], [{hostname: host, policy: 'open'}, {hostname: host, path: '/api/', policy: 'open'}])
  const tunnel = await startTunnelCli(t, [dir, '--project', 'demo', '--env', 'prod'], {...owner.env, TMPDIR: tmp})
  t.is(readdirSync(tmp).length, 1, 'one private directory for the CA file')
  await tunnel.waitForEvent((e) => e.type === 'route' && tunnel.events.filter((x) => x.type === 'route').length === 2, 'both routes')
  await waitUntilServed(platform, host)
  const routes = await owner.json(['routes', 'list', '--project', 'demo', '--env', 'prod'])
  t.deepEqual(routes.items.map((r: any) => [r.hostname, r.pathPrefix, r.policyId]).sort(), [[host, '/', open.id], [host, '/api', open.id]], 'the routes have the path and policy mezu.json names')
  const res = await edgeRequest(platform, host, '/env')
  t.is(res.status, 200, res.text)
  const told = JSON.parse(res.text)
  t.like(told, {issuer: `https://auth.${platform.domain}`, jwksUrl: `https://auth.${platform.domain}:${platform.ports.edge}/.well-known/jwks.json`})
  // the platform CA first; any NODE_EXTRA_CA_CERTS mezu tunnel itself had follows it
  t.true(told.ca.startsWith(platform.caPem.trim()), told.ca.slice(0, 80))
  t.is(await tunnel.stop(), 0, tunnel.stderr())
  t.deepEqual(readdirSync(tmp), [], 'the CA file is gone')
})

test('mezu tunnel DIR whose service dies at start exits 1 naming it, and leaves no CA file behind', async (t) => {
  const {tmp, stderr, exited} = await spawnTunnel(t, await serviceDir(t, ['node', '-e', 'process.exit(3)']))
  t.is(await exited, 1, stderr())
  t.regex(JSON.parse(stderr().trim().split('\n').at(-1)!).error.message, /svc exited \(code 3\)/)
  t.deepEqual(readdirSync(tmp), [])
})

test('a signal while the service is still starting stops the service and exits 0, leaving nothing behind', async (t) => {
  // says its pid, then takes 30 s to listen: the signal lands while mezu tunnel waits for it
  const {child, tmp, stderr, exited} = await spawnTunnel(t, await serviceDir(t, ['node', '-e', 'console.log("pid=" + process.pid); setTimeout(() => {}, 30000)']))
  const pid = await new Promise<number>((resolve) => {
    let out = ''
    child.stdout!.on('data', (d) => {
      out += d
      const m = /\[svc\] pid=(\d+)/.exec(out)
      if (m) resolve(Number(m[1]))
    })
  })
  t.teardown(() => killIfAlive(pid))
  child.kill('SIGTERM')
  t.is(await exited, 0, stderr())
  t.throws(() => process.kill(pid, 0), {code: 'ESRCH'}, 'the service is stopped')
  t.deepEqual(readdirSync(tmp), [], 'the CA file is gone')
})

test('a closed terminal (SIGHUP) drains mezu tunnel like SIGTERM: exit 0 and the service stopped, not orphaned', async (t) => {
  const {child, stderr, exited} = await spawnTunnel(t, await serviceDir(t, ['node', '-e', 'console.log("pid=" + process.pid); require("node:http").createServer((q, r) => r.end()).listen(Number(process.env.PORT), "127.0.0.1")']))
  const pid = await new Promise<number>((resolve) => {
    let out = ''
    child.stdout!.on('data', (d) => {
      out += d
      const m = /\[svc\] pid=(\d+)[\s\S]*"type":"connected"/.exec(out)
      if (m) resolve(Number(m[1]))
    })
  })
  t.teardown(() => killIfAlive(pid))
  child.kill('SIGHUP')
  t.is(await exited, 0, stderr())
  t.throws(() => process.kill(pid, 0), {code: 'ESRCH'}, 'the service is stopped')
})
