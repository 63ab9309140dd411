import {spawn} from 'node:child_process'
import {createInterface} from 'node:readline'
import test from 'ava'
import {BIN} from '../helpers/cli.js'
import {startTestPlatform} from '../helpers/platform.js'
import {logEntry, logsWorld, ringOf} from '../helpers/request-log.js'
import {cliUser, ownerCli} from '../helpers/session.js'

/** `mezu logs --follow` as a long-running child whose stdout lines the test awaits with a deadline. */
function follow(t: any, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [BIN, 'logs', '--follow', ...args], {env: {...process.env, CI: '1', NO_COLOR: '1', ...env}, stdio: ['ignore', 'pipe', 'pipe']})
  t.teardown(() => child.kill('SIGKILL'))
  const lines: string[] = []
  const waiters: Array<() => void> = []
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  createInterface({input: child.stdout}).on('line', (l) => {
    lines.push(l)
    for (const w of waiters.splice(0)) w()
  })
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
  // Checked on every stdout line and, for state outside the child (the ring's followers), every 25 ms.
  const until = (pred: () => boolean, what: string, ms = 30_000) => new Promise<void>((resolve, reject) => {
    const finish = (err?: Error) => {
      clearTimeout(timer)
      clearInterval(poll)
      if (err) reject(err)
      else resolve()
    }
    const timer = setTimeout(() => finish(new Error(`timed out waiting for ${what}; stdout: ${lines.join('\n')}\nstderr: ${stderr}`)), ms)
    const poll = setInterval(() => pred() && finish(), 25)
    const check = () => (pred() ? finish() : waiters.push(check))
    check()
  })
  return {child, lines, exited, until, stderr: () => stderr}
}

test('mezu logs lists recent requests oldest first, without query strings, and --route and --limit narrow it', async (t) => {
  const platform = await startTestPlatform(t)
  const ring = ringOf(platform)
  const {a, b} = await logsWorld(platform)
  const owner = await ownerCli(t, platform)
  ring.append(logEntry({routeId: a.id, host: a.hostname, path: '/one?token=secret'}))
  ring.append(logEntry({routeId: b.id, host: b.hostname, path: '/two', method: 'POST', status: 502}))
  ring.append(logEntry({routeId: null, host: 'nowhere.mezu.localhost', path: '/three', status: 404}))

  const all = await owner.json(['logs'])
  t.deepEqual(all.items.map((e: any) => e.path), ['/one', '/two', '/three'])
  t.false(JSON.stringify(all).includes('secret'))
  t.like(all.items[1], {routeId: b.id, host: 'b.mezu.localhost', method: 'POST', status: 502, clientIp: '127.0.0.1', tlsVersion: 'TLSv1.3', protocol: 'h2'})

  t.deepEqual((await owner.json(['logs', '--route', 'a.mezu.localhost'])).items.map((e: any) => e.path), ['/one'])
  t.deepEqual((await owner.json(['logs', '--route', b.id])).items.map((e: any) => e.path), ['/two'])
  t.deepEqual((await owner.json(['logs', '--limit', '2'])).items.map((e: any) => e.path), ['/two', '/three'])

  const human = await owner.run(['logs'])
  t.is(human.code, 0)
  t.regex(human.stdout, /PATH/)
  t.regex(human.stdout, /b\.mezu\.localhost.*POST.*\/two.*502/)
})

test('mezu logs shows a project-scoped key only its projects\' routes', async (t) => {
  const platform = await startTestPlatform(t)
  const ring = ringOf(platform)
  const {a, b, alphaReader} = await logsWorld(platform)
  ring.append(logEntry({routeId: a.id, host: a.hostname, path: '/mine'}))
  ring.append(logEntry({routeId: b.id, host: b.hostname, path: '/theirs'}))
  ring.append(logEntry({routeId: null, path: '/unrouted'}))
  const reader = cliUser(t, platform, {MEZU_TOKEN: alphaReader})
  t.deepEqual((await reader.json(['logs'])).items.map((e: any) => e.path), ['/mine'])
  const r = await reader.run(['logs', '--route', 'b.mezu.localhost', '--json'])
  t.is(r.code, 1)
  t.is(JSON.parse(r.stderr).error.code, 'not_found', 'a route out of reach does not exist for this caller')
})

test('mezu logs refuses a key without logs:read, an unknown route, a bad limit, and no login', async (t) => {
  const platform = await startTestPlatform(t)
  const {alphaNoLogs} = await logsWorld(platform)
  const noScope = await cliUser(t, platform, {MEZU_TOKEN: alphaNoLogs}).run(['logs', '--json'])
  t.is(noScope.code, 1)
  t.like(JSON.parse(noScope.stderr).error, {code: 'forbidden'})
  t.regex(JSON.parse(noScope.stderr).error.message, /logs:read/)

  const owner = await ownerCli(t, platform)
  const unknown = await owner.run(['logs', '--route', 'nope.mezu.localhost', '--json'])
  t.is(unknown.code, 1)
  t.like(JSON.parse(unknown.stderr).error, {code: 'not_found', message: 'route "nope.mezu.localhost" not found'})

  for (const limit of ['0', '1001', 'many']) {
    const r = await owner.run(['logs', '--limit', limit])
    t.is(r.code, 2, `--limit ${limit}`)
  }
  const anonymous = await cliUser(t, platform).run(['logs', '--json'])
  t.is(anonymous.code, 1)
  t.is(JSON.parse(anonymous.stderr).error.code, 'not_logged_in')
})

test('mezu logs --follow --json prints the backlog, then each new entry as one JSON line, and exits 0 on SIGINT', async (t) => {
  const platform = await startTestPlatform(t)
  const ring = ringOf(platform)
  const {a, b, alphaReader} = await logsWorld(platform)
  const owner = await ownerCli(t, platform)
  ring.append(logEntry({routeId: a.id, host: a.hostname, path: '/old1'}))
  ring.append(logEntry({routeId: a.id, host: a.hostname, path: '/old2'}))

  const f = follow(t, ['--json', '--limit', '1'], owner.env)
  await f.until(() => f.lines.length >= 1, 'the backlog')
  t.is(JSON.parse(f.lines[0]).path, '/old2')
  await f.until(() => ring.followerCount >= 1, 'the subscription')
  ring.append(logEntry({routeId: b.id, host: b.hostname, path: '/new?x=1', status: 201}))
  await f.until(() => f.lines.length >= 2, 'the new entry')
  t.like(JSON.parse(f.lines[1]), {path: '/new', status: 201, routeId: b.id})
  f.child.kill('SIGINT')
  t.is(await f.exited, 0)
  t.is(f.lines.length, 2)
  t.is(ring.followerCount, 0, 'the platform dropped the follower')

  // A project-scoped follower never sees another project's entries.
  const scoped = follow(t, ['--json', '--limit', '0'], cliUser(t, platform, {MEZU_TOKEN: alphaReader}).env)
  await scoped.until(() => ring.followerCount >= 1, 'the scoped subscription')
  ring.append(logEntry({routeId: b.id, host: b.hostname, path: '/not-for-alpha'}))
  ring.append(logEntry({routeId: a.id, host: a.hostname, path: '/for-alpha'}))
  await scoped.until(() => scoped.lines.length >= 1, 'the alpha entry')
  t.deepEqual(scoped.lines.map((l) => JSON.parse(l).path), ['/for-alpha'], 'the beta entry, sent first, never arrived')
  scoped.child.kill('SIGTERM')
  t.is(await scoped.exited, 0)
})

test('mezu logs --follow prints a line per request for people, and fails clearly when refused', async (t) => {
  const platform = await startTestPlatform(t)
  const ring = ringOf(platform)
  const {a, alphaNoLogs} = await logsWorld(platform)
  const owner = await ownerCli(t, platform)
  const f = follow(t, ['--limit', '0'], owner.env)
  await f.until(() => ring.followerCount >= 1, 'the subscription')
  ring.append(logEntry({routeId: a.id, host: a.hostname, method: 'DELETE', path: '/item/7', status: 204, durationMs: 12}))
  await f.until(() => f.lines.length >= 1, 'the line')
  t.regex(f.lines[0], /a\.mezu\.localhost {2}DELETE \/item\/7 {2}204 {2}12ms/)
  f.child.kill('SIGINT')
  t.is(await f.exited, 0)

  const refused = follow(t, ['--json'], cliUser(t, platform, {MEZU_TOKEN: alphaNoLogs}).env)
  t.is(await refused.exited, 1)
  t.like(JSON.parse(refused.stderr()).error, {code: 'forbidden'})
})
