import {existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import {once} from 'node:events'
import net, {type AddressInfo} from 'node:net'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import test from 'ava'
import {mezu} from '../helpers/cli.js'
import {tempDir} from '../helpers/platform.js'
import {ServiceProcess} from '../../src/warpgate/service-process.js'
import {resolveTarget} from '../../src/warpgate/service-config.js'

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

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

/** What `npm install` would put in a scaffolded directory, without the network: the repo's own jose. */
function installJose(dir: string): void {
  mkdirSync(join(dir, 'node_modules'), {recursive: true})
  symlinkSync(join(REPO, 'node_modules', 'jose'), join(dir, 'node_modules', 'jose'), 'dir')
}

test('mezu init creates the hello service named after its directory, with a package.json declaring jose', async (t) => {
  const root = tempDir(t)
  const dir = join(root, 'My Demo!')
  const port = await freePort()
  const r = await mezu(['init', dir, '--port', String(port), '--json'])
  t.is(r.code, 0, r.stderr)
  const out = r.json()
  t.like(out, {dir, template: 'hello', name: 'my-demo', port})
  t.deepEqual(out.files, ['README.md', 'mezu.json', 'package.json', 'server.mjs'])
  t.deepEqual(JSON.parse(readFileSync(join(dir, 'mezu.json'), 'utf8')), {name: 'my-demo', port, command: ['node', 'server.mjs'], healthcheck: '/healthz'})
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  t.is(pkg.dependencies.jose, JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).dependencies.jose)
  t.regex(readFileSync(join(dir, 'README.md'), 'utf8'), /npm install/)
})

test('the hello service run alone greets a stranger: a Mezu-User-Email header without a verified assertion names nobody', async (t) => {
  const dir = join(tempDir(t), 'hello')
  const port = await freePort()
  t.is((await mezu(['init', dir, '--port', String(port), '--json'])).code, 0)
  installJose(dir)
  const {url} = await run(t, dir)
  const claimed = await rawGet(url, '/', {'mezu-user-email': 'ada@example.test'})
  t.is(claimed.status, 200)
  t.regex(claimed.body, /Hello, stranger!/)
  t.false(claimed.body.includes('ada@example.test'))
  t.deepEqual(JSON.parse((await rawGet(url, '/x', {accept: 'application/json', 'mezu-user-email': 'ada@example.test'})).body), {hello: 'stranger', path: '/x', verified: false})
  // with no keys configured an assertion cannot be verified either, so it names nobody
  const asserted = await rawGet(url, '/', {'mezu-jwt-assertion': 'eyJhbGciOiJub25lIn0.eyJlbWFpbCI6ImFkYUBleGFtcGxlLnRlc3QifQ.', 'mezu-user-email': 'ada@example.test'})
  t.regex(asserted.body, /Hello, stranger!/)
})

test('the hello service refuses to start with MEZU_JWKS_URL but no MEZU_ISSUER, and says which is missing', async (t) => {
  const dir = join(tempDir(t), 'hello')
  const port = await freePort()
  t.is((await mezu(['init', dir, '--port', String(port), '--json'])).code, 0)
  installJose(dir)
  const target = resolveTarget(dir)
  const lines: string[] = []
  const err = await t.throwsAsync(ServiceProcess.start({name: 'hello', command: target.command!, cwd: dir, url: target.url, env: {MEZU_JWKS_URL: 'https://auth.mezu.localhost/.well-known/jwks.json'}, output: (l) => lines.push(l), readyTimeoutMs: 10_000}))
  t.regex(err!.message, /exited/)
  t.regex(lines.join('\n'), /MEZU_ISSUER must be set/)
})

test('the hello service answers 503, not 401, when it cannot fetch the platform keys to check an assertion', async (t) => {
  const dir = join(tempDir(t), 'hello')
  const port = await freePort()
  const closed = await freePort()
  t.is((await mezu(['init', dir, '--port', String(port), '--json'])).code, 0)
  installJose(dir)
  const target = resolveTarget(dir)
  const sp = await ServiceProcess.start({name: 'hello', command: target.command!, cwd: dir, url: target.url, healthcheck: target.healthcheck, output: () => {}, readyTimeoutMs: 20_000,
    env: {MEZU_JWKS_URL: `https://127.0.0.1:${closed}/.well-known/jwks.json`, MEZU_ISSUER: 'https://auth.mezu.localhost'}})
  t.teardown(() => sp.stop(1000))
  // Any well-formed token will do: the keys to check it cannot be had.
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const token = `${part({alg: 'EdDSA', kid: 'k1'})}.${part({sub: 'usr_1', email: 'ada@example.test'})}.${Buffer.alloc(64).toString('base64url')}`
  const r = await rawGet(target.url, '/', {'mezu-jwt-assertion': token, accept: 'application/json'})
  t.is(r.status, 503, r.body)
  t.is(JSON.parse(r.body).error.code, 'assertion_keys_unavailable')
  t.false(r.body.includes('ada@example.test'))
  t.is((await rawGet(target.url, '/', {accept: 'application/json'})).status, 200, 'a request without an assertion is still a stranger')
})

test('a scaffolded hello service without npm install stops at once, naming the missing package', async (t) => {
  const dir = join(tempDir(t), 'hello')
  const port = await freePort()
  t.is((await mezu(['init', dir, '--port', String(port), '--json'])).code, 0)
  const target = resolveTarget(dir)
  const err = await t.throwsAsync(ServiceProcess.start({name: 'hello', command: target.command!, cwd: dir, url: target.url, output: () => {}, readyTimeoutMs: 10_000}))
  t.regex(err!.message, /exited[\s\S]*ERR_MODULE_NOT_FOUND/)
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
  t.regex(r.stdout, /npm install/)
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

test('mezu init LINK writes into the directory the link points to, keeps the link, and still needs --force there', async (t) => {
  const root = tempDir(t)
  const real = join(root, 'real')
  mkdirSync(real)
  writeFileSync(join(real, 'notes.txt'), 'mine')
  const link = join(root, 'svc-link')
  symlinkSync(real, link, 'dir')

  const refused = await mezu(['init', link, '--json'])
  t.is(refused.code, 1)
  t.like(JSON.parse(refused.stderr).error, {code: 'bad_input'})
  t.regex(JSON.parse(refused.stderr).error.message, /svc-link.*is not empty.*--force/)
  t.deepEqual(readdirSync(real), ['notes.txt'])

  const forced = await mezu(['init', link, '--force', '--json'])
  t.is(forced.code, 0, forced.stderr)
  t.like(forced.json(), {dir: link, name: 'svc-link'})
  t.true(lstatSync(link).isSymbolicLink(), 'the link is still a link')
  t.is(readlinkSync(link), real)
  t.is(readFileSync(join(real, 'notes.txt'), 'utf8'), 'mine', 'other files are kept')
  t.is(JSON.parse(readFileSync(join(real, 'mezu.json'), 'utf8')).name, 'svc-link')

  // a link to an empty directory needs no --force
  const empty = join(root, 'empty')
  mkdirSync(empty)
  symlinkSync(empty, join(root, 'empty-link'), 'dir')
  const fresh = await mezu(['init', join(root, 'empty-link'), '--json'])
  t.is(fresh.code, 0, fresh.stderr)
  t.true(existsSync(join(empty, 'mezu.json')))
})

test('mezu init refuses a symbolic link that points nowhere, naming it, and creates nothing', async (t) => {
  const root = tempDir(t)
  const link = join(root, 'dangling')
  symlinkSync(join(root, 'missing'), link, 'dir')
  const r = await mezu(['init', link, '--force', '--json'])
  t.is(r.code, 1)
  const err = JSON.parse(r.stderr).error
  t.is(err.code, 'bad_input')
  t.true(err.message.includes(link) && err.message.includes(join(root, 'missing')), err.message)
  t.is(r.stdout, '')
  t.false(existsSync(join(root, 'missing')))
  t.true(lstatSync(link).isSymbolicLink())
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
