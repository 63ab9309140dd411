import {spawnSync} from 'node:child_process'
import {once} from 'node:events'
import test from 'ava'
import {PasswordHasher, PasswordWorkerError} from '../../platform/store/crypto.js'

const PASSWORD = 'correct horse battery staple'

test.serial('hashes and verifies in the worker; a wrong password and a malformed hash verify false', async (t) => {
  const h = await PasswordHasher.create()
  t.teardown(() => h.close())
  const hash = await h.hash(PASSWORD)
  t.regex(hash, /^\$argon2id\$v=19\$m=65536,t=2,p=1\$/, 'interactive: 64 MiB, 2 passes')
  t.true(await h.verify(hash, PASSWORD))
  t.false(await h.verify(hash, PASSWORD + '!'))
  t.false(await h.verify('not a hash', PASSWORD))
  t.false(await h.verify('$argon2id$v=19$m=65536,t=2,p=1$broken', PASSWORD))
  t.false(await h.verify('', PASSWORD))
  // the same hash verifies on the main thread (inline), so stored hashes stay readable either way
  const inline = await PasswordHasher.create('interactive', {inline: true})
  t.true(await inline.verify(hash, PASSWORD))
  t.false(await inline.verify('not a hash', PASSWORD))
})

test.serial("'moderate' strength reaches the worker", async (t) => {
  const h = await PasswordHasher.create('moderate')
  t.teardown(() => h.close())
  const hash = await h.hash(PASSWORD)
  t.regex(hash, /^\$argon2id\$v=19\$m=262144,t=3,p=1\$/)
  t.true(await h.verify(hash, PASSWORD))
})

/** The longest time between ticks of a 10 ms interval while `work` runs. */
async function maxTickGap(work: () => Promise<unknown>): Promise<number> {
  let last = performance.now()
  let max = 0
  const timer = setInterval(() => {
    const now = performance.now()
    max = Math.max(max, now - last)
    last = now
  }, 10)
  try {
    await work()
    // a stall at the very end shows as the gap up to now
    return Math.max(max, performance.now() - last)
  } finally {
    clearInterval(timer)
  }
}

test.serial('the event loop keeps ticking while five verifies run', async (t) => {
  const h = await PasswordHasher.create()
  t.teardown(() => h.close())
  const hash = await h.hash(PASSWORD) // also starts the worker
  const inline = await PasswordHasher.create('interactive', {inline: true})
  await inline.verify(hash, PASSWORD) // grows this thread's wasm heap once, so the reference below is a plain verify
  // the reference: one verify on this thread stalls the loop for its whole duration
  const started = performance.now()
  t.true(await inline.verify(hash, PASSWORD))
  const oneVerifyMs = performance.now() - started
  const inlineGap = await maxTickGap(() => inline.verify(hash, PASSWORD))
  let results: boolean[] = []
  const workerGap = await maxTickGap(async () => {
    results = await Promise.all(Array.from({length: 5}, (_, i) => h.verify(hash, i % 2 ? PASSWORD : 'wrong')))
  })
  t.deepEqual(results, [false, true, false, true, false])
  t.log(`one verify on the main thread ${oneVerifyMs.toFixed(0)} ms (gap ${inlineGap.toFixed(0)} ms); longest gap during 5 verifies in the worker ${workerGap.toFixed(1)} ms`)
  t.true(inlineGap >= oneVerifyMs * 0.5, 'the reference does stall the loop')
  t.true(workerGap < oneVerifyMs / 3, `longest gap ${workerGap.toFixed(1)} ms, one verify ${oneVerifyMs.toFixed(0)} ms`)
})

test.serial('the worker exits when idle, and the next call starts another', async (t) => {
  const h = await PasswordHasher.create('interactive', {idleMs: 200})
  t.teardown(() => h.close())
  const hash = await h.hash(PASSWORD)
  const first = h.workerForTests
  t.truthy(first)
  const exited = once(first!, 'exit')
  // work within the idle time keeps the same worker
  t.true(await h.verify(hash, PASSWORD))
  t.is(h.workerForTests, first)
  // neither the idle worker nor its timer keeps a process alive: this test has to
  const keepAlive = setInterval(() => {}, 50)
  await exited.finally(() => clearInterval(keepAlive))
  t.is(h.workerForTests, undefined)
  t.true(await h.verify(hash, PASSWORD))
  t.truthy(h.workerForTests)
  t.not(h.workerForTests!.threadId, first!.threadId)
})

test.serial('a worker that dies fails its pending calls with an error, and the next call works', async (t) => {
  const h = await PasswordHasher.create()
  t.teardown(() => h.close())
  const hash = await h.hash(PASSWORD)

  // ended from outside (as by an out-of-memory kill of the thread)
  const pending = [h.verify(hash, PASSWORD), h.verify(hash, PASSWORD), h.hash(PASSWORD)]
  await h.workerForTests!.terminate()
  await Promise.all(pending.map((p) => t.throwsAsync(p, {instanceOf: PasswordWorkerError, message: /password worker exited unexpectedly/})))
  t.true(await h.verify(hash, PASSWORD))

  // an uncaught exception in the worker (a message it cannot read)
  const worker = h.workerForTests!
  worker.postMessage(null) // answered before the calls below: the worker throws on it
  const more = [h.verify(hash, PASSWORD), h.hash(PASSWORD)]
  await Promise.all(more.map((p) => t.throwsAsync(p, {instanceOf: PasswordWorkerError, message: /password worker failed/})))
  t.not(h.workerForTests, worker)
  t.true(await h.verify(hash, PASSWORD))
})

test.serial('close fails pending calls; the hasher works again afterwards', async (t) => {
  const h = await PasswordHasher.create()
  const hash = await h.hash(PASSWORD)
  const pending = h.verify(hash, PASSWORD)
  await h.close()
  await t.throwsAsync(pending, {instanceOf: PasswordWorkerError, message: /closed/})
  t.true(await h.verify(hash, PASSWORD))
  await h.close()
})

test.serial('an idle worker does not keep the process alive (a CLI command exits when done)', (t) => {
  const url = new URL('../../platform/store/crypto.js', import.meta.url).href
  const script = `import {PasswordHasher} from ${JSON.stringify(url)}\nconst h = await PasswordHasher.create()\nconsole.log(await h.verify(await h.hash('x'), 'x'))`
  const started = Date.now()
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {encoding: 'utf8', timeout: 25_000})
  t.is(r.stdout.trim(), 'true', r.stderr)
  t.is(r.status, 0)
  t.true(Date.now() - started < 20_000, 'well before the 30 s idle time')
})
