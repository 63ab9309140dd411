import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import {once} from 'node:events'
import net, {type AddressInfo} from 'node:net'
import {join} from 'node:path'
import test from 'ava'
import {mezu} from '../helpers/cli.js'
import {tempDir} from '../helpers/platform.js'
import {ServiceProcess} from '../../src/warpgate/service-process.js'
import {resolveTarget} from '../../src/warpgate/service-config.js'

/** The scaffolded service listens where mezu.json says, so the port is chosen first (bind :0, release). */
async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1')
  await once(s, 'listening')
  const port = (s.address() as AddressInfo).port
  await new Promise((r) => s.close(r))
  return port
}

/** Starts what `mezu tunnel DIR` would start, through the same code. */
async function run(t: any, dir: string) {
  const target = resolveTarget(dir)
  const sp = await ServiceProcess.start({name: target.name, command: target.command!, cwd: target.cwd!, url: target.url, healthcheck: target.healthcheck, env: target.env, output: () => {}, readyTimeoutMs: 20_000})
  t.teardown(() => sp.stop(1000))
  return {sp, url: target.url}
}

/** A raw GET: the path is sent as written (fetch would normalise "..") */
function rawGet(url: string, path: string, headers: Record<string, string> = {}): Promise<{status: number; body: string; type?: string}> {
  return new Promise((resolve, reject) => {
    const u = new URL(url)
    http.get({host: u.hostname, port: u.port, path, headers}, (res) => {
      let body = ''
      res.on('data', (c) => (body += c))
      res.on('end', () => resolve({status: res.statusCode!, body, type: res.headers['content-type']}))
    }).on('error', reject)
  })
}

test('mezu init creates the hello service named after its directory, which starts and greets the caller', async (t) => {
  const root = tempDir(t)
  const dir = join(root, 'My Demo!')
  const port = await freePort()
  const r = await mezu(['init', dir, '--port', String(port), '--json'])
  t.is(r.code, 0, r.stderr)
  const out = r.json()
  t.like(out, {dir, template: 'hello', name: 'my-demo', port})
  t.deepEqual(out.files, ['README.md', 'mezu.json', 'server.mjs'])
  t.deepEqual(JSON.parse(readFileSync(join(dir, 'mezu.json'), 'utf8')), {name: 'my-demo', port, command: ['node', 'server.mjs'], healthcheck: '/healthz'})

  const {url} = await run(t, dir)
  const hi = await rawGet(url, '/', {'mezu-user-email': 'ada@example.test'})
  t.is(hi.status, 200)
  t.regex(hi.body, /Hello, ada@example\.test!/)
  const evil = await rawGet(url, '/', {'mezu-user-email': '<script>alert(1)</script>'})
  t.false(evil.body.includes('<script>'), 'the greeting escapes what it echoes')
  t.regex((await rawGet(url, '/')).body, /Hello, stranger!/)
  t.deepEqual(JSON.parse((await rawGet(url, '/x', {accept: 'application/json', 'mezu-user-email': 'ada@example.test'})).body), {hello: 'ada@example.test', path: '/x'})
})

test('mezu init --template static serves its folder and nothing outside it', async (t) => {
  const dir = join(tempDir(t), 'site')
  const port = await freePort()
  const r = await mezu(['init', dir, '--template', 'static', '--name', 'docs', '--port', String(port), '--json'])
  t.is(r.code, 0, r.stderr)
  t.like(r.json(), {template: 'static', name: 'docs', port})
  writeFileSync(join(dir, 'public', '.env'), 'SECRET=1')
  const {url} = await run(t, dir)
  const index = await rawGet(url, '/')
  t.is(index.status, 200)
  t.regex(index.body, /It works/)
  t.is(index.type, 'text/html; charset=utf-8')
  t.is((await rawGet(url, '/style.css')).type, 'text/css; charset=utf-8')
  for (const path of ['/../mezu.json', '/%2e%2e/mezu.json', '/..%2fserver.mjs', '/.env', '/nope.html', '/%00']) {
    const res = await rawGet(url, path)
    t.is(res.status, 404, path)
    t.false(res.body.includes('SECRET') || res.body.includes('"name"'), path)
  }
})

test('mezu init prints the next steps for people', async (t) => {
  const dir = join(tempDir(t), 'svc')
  const r = await mezu(['init', dir])
  t.is(r.code, 0, r.stderr)
  t.regex(r.stdout, /Created the hello service "svc"/)
  t.regex(r.stdout, /mezu tunnel \./)
  t.regex(r.stdout, /--route svc\.mezu\.localhost/)
})

test('mezu init refuses a directory that is not empty, changing nothing, unless --force', async (t) => {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'notes.txt'), 'mine')
  const r = await mezu(['init', dir, '--name', 'svc', '--json'])
  t.is(r.code, 1)
  t.like(JSON.parse(r.stderr).error, {code: 'bad_input'})
  t.regex(JSON.parse(r.stderr).error.message, /is not empty.*--force/)
  t.false(existsSync(join(dir, 'mezu.json')))

  const forced = await mezu(['init', dir, '--name', 'svc', '--force', '--json'])
  t.is(forced.code, 0, forced.stderr)
  t.is(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'mine', 'other files are kept')
  t.is(JSON.parse(readFileSync(join(dir, 'mezu.json'), 'utf8')).name, 'svc')
})

test('mezu init refuses a bad name, template or port as usage errors, and a file as DIR', async (t) => {
  const root = tempDir(t)
  const cases: Array<[string[], RegExp]> = [
    [['--name', 'bad name'], /--name must be letters/],
    [['--name', '-x'], /--name/],
    [['--template', 'php'], /template/],
    [['--port', '0'], /port/],
    [['--port', '70000'], /port/],
    [['--port', 'http'], /port/],
  ]
  for (const [args, message] of cases) {
    const dir = join(root, `d${cases.findIndex((c) => c[0] === args)}`)
    const r = await mezu(['init', dir, ...args, '--json'])
    t.is(r.code, 2, args.join(' '))
    t.regex(r.stderr, message, args.join(' '))
    t.false(existsSync(join(dir, 'mezu.json')), `${args.join(' ')} wrote nothing`)
  }
  const unnamable = join(root, '!!!')
  mkdirSync(unnamable)
  const r = await mezu(['init', unnamable, '--json'])
  t.is(r.code, 2)
  t.regex(JSON.parse(r.stderr).error.message, /pass --name/)
  const file = join(root, 'file')
  writeFileSync(file, 'x')
  const f = await mezu(['init', file, '--name', 'x', '--json'])
  t.is(f.code, 1)
  t.regex(JSON.parse(f.stderr).error.message, /is not a directory/)
})
