import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import test from 'ava'
import {loadServiceConfig, parseServiceConfig, resolveTarget, ServiceConfigError} from '../../src/warpgate/service-config.js'

function serviceDir(t: {teardown(fn: () => void): void}, content?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'mezu-svc-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  if (content !== undefined) writeFileSync(join(dir, 'mezu.json'), content)
  return dir
}

const refuses = (t: any, raw: unknown, message: RegExp) => {
  const err = t.throws(() => parseServiceConfig(raw, '/srv/app/mezu.json'), {instanceOf: ServiceConfigError})
  t.regex(err.message, /^\/srv\/app\/mezu\.json: /, 'names the file')
  t.regex(err.message, message)
  t.is(err.code, 'bad_input')
}

test('a port becomes http://127.0.0.1:PORT and optional fields are kept', (t) => {
  const c = parseServiceConfig({name: 'hello', port: 3000, command: ['node', 'server.js'], env: {GREETING: 'hi'}, healthcheck: '/healthz', routes: [{hostname: 'Hello.Mezu.Localhost', path: '/api', policy: 'team'}], readyTimeoutMs: 5000})
  t.deepEqual(c, {name: 'hello', url: 'http://127.0.0.1:3000', command: ['node', 'server.js'], env: {GREETING: 'hi'}, healthcheck: '/healthz', routes: [{hostname: 'hello.mezu.localhost', path: '/api', policy: 'team'}], readyTimeoutMs: 5000})
})

test('a url is reduced to scheme, host and port', (t) => {
  t.is(parseServiceConfig({name: 'a', url: 'https://localhost:8443/'}).url, 'https://localhost:8443')
  t.is(parseServiceConfig({name: 'a', url: 'http://[::1]:81'}).url, 'http://[::1]:81')
})

test('refuses a port that is not an integer from 1 to 65535, naming the field and the value', (t) => {
  refuses(t, {name: 'a', port: 'abc'}, /"port" must be an integer from 1 to 65535, got "abc"/)
  refuses(t, {name: 'a', port: 0}, /"port" must be .* got number 0/)
  refuses(t, {name: 'a', port: 65536}, /"port"/)
  refuses(t, {name: 'a', port: 80.5}, /"port"/)
})

test('refuses a missing or malformed name', (t) => {
  refuses(t, {port: 1}, /"name" is required/)
  refuses(t, {name: '', port: 1}, /"name" must be letters/)
  refuses(t, {name: '-x', port: 1}, /"name"/)
  refuses(t, {name: 'a b', port: 1}, /"name"/)
  refuses(t, {name: 7, port: 1}, /"name" .*got number 7/)
  refuses(t, {name: 'x'.repeat(64), port: 1}, /"name"/)
})

test('refuses both url and port, and neither', (t) => {
  refuses(t, {name: 'a', url: 'http://127.0.0.1:1', port: 1}, /"url" and "port" cannot both be set/)
  refuses(t, {name: 'a'}, /needs "url" or "port"/)
})

test('refuses a url that is not http(s)://host:port alone', (t) => {
  refuses(t, {name: 'a', url: 'ftp://127.0.0.1:21'}, /"url" must use http:\/\/ or https:\/\//)
  refuses(t, {name: 'a', url: 'not a url'}, /"url" must be a URL/)
  refuses(t, {name: 'a', url: 'http://127.0.0.1:3000/app'}, /"url" must be only scheme, host and port/)
  refuses(t, {name: 'a', url: 'http://127.0.0.1:3000/?q=1'}, /"url" must be only/)
  refuses(t, {name: 'a', url: 'http://u:p@127.0.0.1:3000'}, /"url" must not carry a user name/)
  refuses(t, {name: 'a', url: 3000}, /"url" must be a string/)
})

test('refuses an unknown field, naming it', (t) => {
  refuses(t, {name: 'a', port: 1, prot: 2}, /"prot" is not a known field/)
  refuses(t, {name: 'a', port: 1, routes: [{hostname: 'a.b', methods: ['GET']}]}, /"routes\[0\]\.methods" is not a known field/)
})

test('refuses a command that is neither a non-empty string nor an array of strings', (t) => {
  refuses(t, {name: 'a', port: 1, command: ''}, /"command" must be/)
  refuses(t, {name: 'a', port: 1, command: []}, /"command" must be/)
  refuses(t, {name: 'a', port: 1, command: ['node', 3]}, /"command" must be/)
  refuses(t, {name: 'a', port: 1, command: {run: 'x'}}, /"command" must be .*an object/)
})

test('refuses env that is not an object of strings', (t) => {
  refuses(t, {name: 'a', port: 1, env: ['A=1']}, /"env" must be an object of strings, got an array/)
  refuses(t, {name: 'a', port: 1, env: {PORT: 3000}}, /"env\.PORT" must be a string, got number 3000/)
  refuses(t, {name: 'a', port: 1, env: {'BAD-NAME': 'x'}}, /"env\.BAD-NAME" is not a valid environment variable name/)
})

test('refuses a healthcheck that is not a path starting with "/"', (t) => {
  refuses(t, {name: 'a', port: 1, healthcheck: 'healthz'}, /"healthcheck" must be a path starting with "\/"/)
  refuses(t, {name: 'a', port: 1, healthcheck: 'http://x/healthz'}, /"healthcheck"/)
  refuses(t, {name: 'a', port: 1, healthcheck: true}, /"healthcheck" .*got boolean true/)
})

test('refuses routes that are not an array of {hostname, path?, policy?}', (t) => {
  refuses(t, {name: 'a', port: 1, routes: {hostname: 'a.b'}}, /"routes" must be an array/)
  refuses(t, {name: 'a', port: 1, routes: ['a.b']}, /"routes\[0\]" must be an object/)
  refuses(t, {name: 'a', port: 1, routes: [{}]}, /"routes\[0\]\.hostname" must be a hostname/)
  refuses(t, {name: 'a', port: 1, routes: [{hostname: 'bad host'}]}, /"routes\[0\]\.hostname"/)
  refuses(t, {name: 'a', port: 1, routes: [{hostname: 'a.b', path: 'api'}]}, /"routes\[0\]\.path" must be a path prefix/)
  refuses(t, {name: 'a', port: 1, routes: [{hostname: 'a.b', policy: 'no spaces'}]}, /"routes\[0\]\.policy" must be a policy name/)
})

test('refuses readyTimeoutMs that is not a positive integer of at most 10 minutes', (t) => {
  refuses(t, {name: 'a', port: 1, readyTimeoutMs: 0}, /"readyTimeoutMs" must be an integer from 1 to 600000/)
  refuses(t, {name: 'a', port: 1, readyTimeoutMs: '5s'}, /"readyTimeoutMs"/)
  refuses(t, {name: 'a', port: 1, readyTimeoutMs: 600_001}, /"readyTimeoutMs"/)
})

test('refuses a document that is not an object', (t) => {
  refuses(t, [], /must hold a JSON object, got an array/)
  refuses(t, null, /must hold a JSON object, got null/)
  refuses(t, 'x', /must hold a JSON object/)
})

test('a missing mezu.json is an error naming its path', (t) => {
  const dir = serviceDir(t)
  const err = t.throws(() => loadServiceConfig(dir), {instanceOf: ServiceConfigError})
  t.true(err!.message.startsWith(join(dir, 'mezu.json') + ': not found'))
})

test('an unparsable mezu.json is an error naming its path', (t) => {
  const dir = serviceDir(t, '{"name": "a", port: 1}')
  const err = t.throws(() => loadServiceConfig(dir), {instanceOf: ServiceConfigError})
  t.true(err!.message.startsWith(join(dir, 'mezu.json') + ': is not valid JSON'))
})

test('a field error from a file names that file', (t) => {
  const dir = serviceDir(t, JSON.stringify({name: 'a', port: 'abc'}))
  t.throws(() => loadServiceConfig(dir), {message: `${join(dir, 'mezu.json')}: "port" must be an integer from 1 to 65535, got "abc"`})
})

test('resolveTarget reads a service directory, with its directory as cwd', (t) => {
  const dir = serviceDir(t, JSON.stringify({name: 'svc', port: 4000, command: 'node server.js', healthcheck: '/h'}))
  const target = resolveTarget(dir)
  t.like(target, {name: 'svc', url: 'http://127.0.0.1:4000', command: 'node server.js', healthcheck: '/h', cwd: dir, file: join(dir, 'mezu.json')})
  t.like(resolveTarget(join(dir, 'mezu.json')), {name: 'svc', cwd: dir})
  t.is(resolveTarget(dir, {name: 'other'}).name, 'other')
})

test('resolveTarget takes a port, a URL or host:port', (t) => {
  t.deepEqual(resolveTarget('3000'), {name: 'local-3000', url: 'http://127.0.0.1:3000'})
  t.deepEqual(resolveTarget('http://localhost:8080/'), {name: 'local-8080', url: 'http://localhost:8080'})
  t.deepEqual(resolveTarget('localhost:9000', {name: 'api'}), {name: 'api', url: 'http://localhost:9000'})
})

test('resolveTarget refuses a bad port, a bad URL, a missing directory, a plain file and a bad --name', (t) => {
  const port = t.throws(() => resolveTarget('70000'), {message: /port must be from 1 to 65535, got 70000/}) as any
  t.is(port.exitCode, 2, 'a malformed TARGET is a usage error')
  t.throws(() => resolveTarget('0'), {message: /port must be from 1 to 65535/})
  t.throws(() => resolveTarget('ftp://x:21'), {message: /TARGET must use http/})
  t.throws(() => resolveTarget('./no-such-dir-here'), {message: /not a port, a URL or a service directory/})
  const dir = serviceDir(t)
  writeFileSync(join(dir, 'notes.txt'), 'x')
  t.throws(() => resolveTarget(join(dir, 'notes.txt')), {message: /is a file; give its directory/})
  t.throws(() => resolveTarget('3000', {name: 'bad name'}), {message: /--name: must be letters/})
  mkdirSync(join(dir, 'empty'))
  t.throws(() => resolveTarget(join(dir, 'empty')), {message: /mezu\.json: not found/})
})
