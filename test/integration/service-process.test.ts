import {once} from 'node:events'
import net from 'node:net'
import type {AddressInfo} from 'node:net'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import test from 'ava'
import {commandArgv, ServiceProcess, type ServiceProcessOptions} from '../../src/warpgate/service-process.js'

const TINY = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'services', 'tiny')

/**
 * A service is told its port by mezu.json, so the port has to be chosen before it starts: bind
 * :0, read the port, release it. (The one place a test cannot let the server pick.)
 */
async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1')
  await once(s, 'listening')
  const port = (s.address() as AddressInfo).port
  await new Promise((r) => s.close(r))
  return port
}

async function start(t: any, extra: Partial<ServiceProcessOptions> = {}) {
  const lines: string[] = []
  const port = await freePort()
  const opts: ServiceProcessOptions = {name: 'tiny', command: ['node', 'server.mjs'], cwd: TINY, url: `http://127.0.0.1:${port}`, output: (l) => lines.push(l), readyTimeoutMs: 15_000, ...extra}
  const sp = await ServiceProcess.start(opts)
  t.teardown(() => sp.stop(100))
  return {sp, lines, url: opts.url}
}

const get = async (url: string) => {
  const r = await fetch(url)
  return {status: r.status, text: await r.text()}
}

test('a plain string runs without a shell; shell syntax gets /bin/sh -c', (t) => {
  t.deepEqual(commandArgv('node  server.js --port 1'), {file: 'node', args: ['server.js', '--port', '1'], shell: false})
  t.deepEqual(commandArgv(['npm', 'run', 'start dev']), {file: 'npm', args: ['run', 'start dev'], shell: false})
  t.is(commandArgv('npm run build && node dist/server.js').shell, true)
  t.is(commandArgv('GREETING=hi node server.js').shell, true)
  t.is(commandArgv('node "my server.js"').shell, true)
  t.is(commandArgv('echo $HOME').shell, true)
})

test('resolves only once the service answers, with PORT set and env passed, and prefixes every output line', async (t) => {
  const {sp, lines, url} = await start(t, {env: {START_DELAY_MS: '300', GREETING: 'from-env'}, healthcheck: '/healthz'})
  t.true(sp.running)
  t.deepEqual(await get(url), {status: 200, text: 'tiny from-env\n'})
  await sp.stop()
  t.true(lines.includes(`[tiny] tiny: listening on ${new URL(url).port}`))
  t.true(lines.includes('[tiny] tiny: a line on stderr'))
  t.true(lines.every((l) => l.startsWith('[tiny] ')))
})

test('a string command with shell syntax runs through the shell, and stop reaches the service behind it', async (t) => {
  const {sp, url, lines} = await start(t, {command: 'GREETING=shelled node server.mjs'})
  t.deepEqual(await get(url), {status: 200, text: 'tiny shelled\n'})
  const exit = await sp.stop(5000)
  t.true(exit.expected)
  t.true(lines.includes('[tiny] tiny: SIGTERM, bye'), 'the node process itself got SIGTERM')
  await t.throwsAsync(fetch(url), undefined, 'nothing listens any more')
})

test('stop escalates to SIGKILL when the service ignores SIGTERM', async (t) => {
  const {sp, lines} = await start(t, {env: {IGNORE_SIGTERM: '1'}})
  const exit = await sp.stop(300)
  t.is(exit.signal, 'SIGKILL')
  t.true(exit.expected)
  t.true(lines.includes('[tiny] tiny: ignoring SIGTERM'))
  t.false(sp.running)
  t.is(await sp.stop(), exit, 'stop twice is safe')
})

test('reports when the service dies on its own', async (t) => {
  const {sp, url, lines} = await start(t)
  const died = once(sp, 'exit')
  await get(`${url}/crash`)
  const [exit] = await died
  t.deepEqual(exit, {code: 3, signal: null, expected: false})
  t.is(lines.at(-1), '[tiny] tiny: last words without a newline', 'a last line without a newline is not lost')
  t.false(sp.running)
})

test('refuses when the service exits before answering, with its last output', async (t) => {
  const port = await freePort()
  const err = await t.throwsAsync(ServiceProcess.start({name: 'tiny', command: ['node', 'server.mjs'], cwd: TINY, url: `http://127.0.0.1:${port}`, env: {EXIT_AT_START: '7'}, output: () => {}}))
  t.regex(err!.message, /tiny exited \(code 7\) before it answered/)
  t.regex(err!.message, /giving up at start/)
})

test('refuses when the service does not answer before the deadline, and stops it', async (t) => {
  const port = await freePort()
  const lines: string[] = []
  const err = await t.throwsAsync(ServiceProcess.start({name: 'tiny', command: ['node', 'server.mjs'], cwd: TINY, url: `http://127.0.0.1:${port}`, env: {START_DELAY_MS: '60000'}, readyTimeoutMs: 3000, output: (l) => lines.push(l)}))
  t.regex(err!.message, /did not answer on http:\/\/127\.0\.0\.1:\d+ within 3000 ms/)
  const pid = Number(/started pid (\d+)/.exec(lines.join('\n'))?.[1])
  t.true(pid > 0, 'the service had started')
  t.throws(() => process.kill(pid, 0), {code: 'ESRCH'}, 'and is gone: start stopped it before refusing')
})

test('refuses while the healthcheck answers 500 or more', async (t) => {
  const port = await freePort()
  const err = await t.throwsAsync(ServiceProcess.start({name: 'tiny', command: ['node', 'server.mjs'], cwd: TINY, url: `http://127.0.0.1:${port}`, env: {HEALTH_STATUS: '503'}, healthcheck: '/healthz', readyTimeoutMs: 8000, output: () => {}}))
  t.regex(err!.message, /last: GET \/healthz → 503/)
})

test('refuses a command that does not exist, or a directory that does not, naming it', async (t) => {
  const err = await t.throwsAsync(ServiceProcess.start({name: 'tiny', command: ['no-such-binary-mezu'], cwd: TINY, url: 'http://127.0.0.1:1', output: () => {}}))
  t.regex(err!.message, /cannot start tiny: no-such-binary-mezu: command not found/)
  const gone = await t.throwsAsync(ServiceProcess.start({name: 'tiny', command: ['node', 'server.mjs'], cwd: `${TINY}-missing`, url: 'http://127.0.0.1:1', output: () => {}}))
  t.regex(gone!.message, /its directory .*tiny-missing does not exist/)
})
