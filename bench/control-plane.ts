// `npm run bench -- --control`: the control plane's side of the edge at scale. Seeds 10,000 users,
// 2,000 routes and 5,000 browser sessions straight through the store functions (one transaction),
// then measures building the edge snapshot from scratch, applying one change of each common kind
// (what an API write waits for before it answers), and the longest stretch the event loop was
// blocked meanwhile: that loop also forwards the edge's traffic. SQLite always; PostgreSQL too when
// `initdb` is installed (a throwaway cluster, as the tests start one).
//
// A block is reported by the wall clock (what a request would have waited, including time the OS
// gave other processes) and by the CPU this process used in it (GC helper threads included).
//
// Knobs (environment): BENCH_USERS=10000 BENCH_ROUTES=2000 BENCH_SESSIONS=5000 BENCH_REPEAT=20
//   (changes of each kind measured) BENCH_JSON=<file> (also write the results).
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {cpus, loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {buildConfig} from '../platform/config.js'
import {StoreConfigSource} from '../platform/control/edge-config.js'
import {BROWSER_CLIENT} from '../platform/control/edge-identity.js'
import {type ChangeEvent, ChangeFeed} from '../platform/control/feed.js'
import {createEnvironment} from '../platform/store/config/environments.js'
import {bumpConfigVersion} from '../platform/store/config/meta.js'
import {createPolicy, emptyRules} from '../platform/store/config/policies.js'
import {createProject} from '../platform/store/config/projects.js'
import {createRoute, updateRoute} from '../platform/store/config/routes.js'
import {type StoreCtx, transaction} from '../platform/store/db.js'
import {addMember, createDirectory} from '../platform/store/identity/directories.js'
import {createServiceAccount} from '../platform/store/identity/service-accounts.js'
import {createSession, revokeSession} from '../platform/store/identity/sessions.js'
import {createUser, updateUser} from '../platform/store/identity/users.js'
import {createMasterKeyFile} from '../platform/store/master-key.js'
import {openStores, type StoreLocation} from '../platform/store/stores.js'
import {postgresAvailable, startPostgres} from '../test/helpers/postgres.js'

const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d)
const USERS = env('BENCH_USERS', 10_000)
const ROUTES = env('BENCH_ROUTES', 2_000)
const SESSIONS = env('BENCH_SESSIONS', 5_000)
const REPEAT = env('BENCH_REPEAT', 20)
const POLICIES = 100
const DIRECTORIES = 40
const ACCOUNTS = 50
const DOMAIN = 'bench.test'

/** Milliseconds and the longest event-loop block (ms) while `fn` ran. */
interface Timed {
  ms: number
  /** the widest gap between two turns of the loop, wall clock: what a request waiting to be forwarded waited */
  blockMs: number
  /** the most CPU the process used between two turns: the same slice without time the OS gave to other processes */
  blockCpuMs: number
}

export interface ControlResult {
  engine: string
  seedMs: number
  startMs: number
  full: Timed[]
  changes: Record<string, Timed[]>
}

/**
 * Runs fn and reports how long it took and the longest stretch in which the event loop did not
 * turn: a setImmediate heartbeat runs meanwhile and the widest gap between two beats is the
 * longest synchronous slice (what a request waiting to be forwarded would have waited).
 * (perf_hooks.monitorEventLoopDelay samples too coarsely over windows this short.)
 */
async function timed(fn: () => Promise<unknown>): Promise<Timed> {
  let last = performance.now()
  let lastCpu = process.cpuUsage()
  let widest = 0
  let widestCpu = 0
  let beating = true
  const beat = () => {
    const now = performance.now()
    const cpu = process.cpuUsage()
    widest = Math.max(widest, now - last)
    widestCpu = Math.max(widestCpu, (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000)
    last = now
    lastCpu = cpu
    if (beating) setImmediate(beat)
  }
  await new Promise((r) => setImmediate(r))
  last = performance.now()
  lastCpu = process.cpuUsage()
  setImmediate(beat)
  const t0 = performance.now()
  await fn()
  const ms = performance.now() - t0
  // one more turn, so a slice that ends with fn is counted
  await new Promise((r) => setImmediate(r))
  beating = false
  return {ms, blockMs: widest, blockCpuMs: widestCpu}
}

interface Seeded {
  directoryIds: string[]
  userIds: string[]
  sessionIds: string[]
  routeIds: string[]
}

/** Everything in one transaction, through the same store functions the API uses. */
async function seed(c: StoreCtx): Promise<Seeded> {
  return transaction(c, async () => {
    const project = await createProject(c, {name: 'bench'})
    const environment = await createEnvironment(c, project.id, 'prod')
    const policies: string[] = []
    for (let i = 0; i < POLICIES; i++) {
      const allow = {...emptyRules(), emails: [`user${i}@bench.test`], directories: []}
      policies.push((await createPolicy(c, project.id, {name: `policy-${i}`, public: false, allow, deny: emptyRules()})).id)
    }
    const directories: string[] = []
    for (let i = 0; i < DIRECTORIES; i++) {
      // a few roots with children, so paths have ancestors
      const parent = i < 8 ? null : directories[i % 8]!
      directories.push((await createDirectory(c, `dir-${i}`, parent)).id)
    }
    const userIds: string[] = []
    for (let i = 0; i < USERS; i++) {
      const u = await createUser(c, {email: `user${i}@bench.test`, name: `User ${i}`, role: 'member', status: 'active', passwordHash: null})
      userIds.push(u.id)
      if (i % 2 === 0) await addMember(c, directories[i % DIRECTORIES]!, u.id)
    }
    const sessionIds: string[] = []
    for (let i = 0; i < SESSIONS; i++) {
      const {session} = await createSession(c, userIds[i % USERS]!, {ip: '192.0.2.1', userAgent: 'bench', client: BROWSER_CLIENT}, 7 * 24 * 3600_000)
      sessionIds.push(session.id)
    }
    const routeIds: string[] = []
    for (let i = 0; i < ROUTES; i++) {
      const r = await createRoute(c, {
        projectId: project.id, environmentId: environment.id, policyId: i % 3 === 0 ? null : policies[i % POLICIES]!,
        hostname: `app${i}.${DOMAIN}`, pathPrefix: '/', service: 'echo', bodyLimitBytes: null, rateLimitPerMinute: null,
      })
      routeIds.push(r.id)
    }
    for (let i = 0; i < ACCOUNTS; i++) {
      await createServiceAccount(c, {name: `ci-${i}`, scopes: ['routes:read'], projectId: null, expiresAt: null, createdBy: null})
    }
    return {directoryIds: directories, userIds, sessionIds, routeIds}
  })
}

/** One engine: seed, start the source, full rebuilds, then changes of each kind. */
async function runOn(engine: string, store: StoreLocation | undefined): Promise<ControlResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mezu-bench-control-'))
  await createMasterKeyFile(dataDir)
  const stores = await openStores(dataDir, {create: true, store})
  try {
    const c = stores.ctx
    process.stderr.write(`[bench] ${engine}: seeding ${USERS} users, ${ROUTES} routes, ${SESSIONS} sessions\n`)
    const t0 = performance.now()
    const seeded = await seed(c)
    const seedMs = performance.now() - t0
    const feed = new ChangeFeed((error) => process.stderr.write(`[bench] a feed listener failed: ${(error as Error).message}\n`))
    const ctx = {idb: c, cdb: c, config: buildConfig({dataDir})}
    process.stderr.write(`[bench] ${engine}: building the edge snapshot\n`)
    let source: StoreConfigSource | undefined
    const start = await timed(async () => (source = await StoreConfigSource.create(ctx, feed, DOMAIN, 443)))
    try {
      if (source!.get().identity.sessions.size !== SESSIONS) throw new Error(`the snapshot holds ${source!.get().identity.sessions.size} sessions, not ${SESSIONS}`)
      /** A store write and its version bump commit together; the event is published after, as control's change() does. */
      const change = async (kind: string, id: string, action: ChangeEvent['action'], write: () => Promise<unknown>) => {
        const version = await transaction(c, async () => {
          await write()
          return bumpConfigVersion(c)
        })
        return timed(() => feed.publish({version, kind, id, action}))
      }
      const full: Timed[] = []
      for (let i = 0; i < 3; i++) {
        const version = await transaction(c, () => bumpConfigVersion(c))
        full.push(await timed(() => feed.publish({version, kind: 'resync', id: null, action: 'updated'})))
      }
      // a directory change recomputes every user's directories (no decryption): the widest delta
      const changes: Record<string, Timed[]> = {'session revoked': [], 'user updated': [], 'route updated': [], 'directory member added': []}
      process.stderr.write(`[bench] ${engine}: ${REPEAT} changes of each kind\n`)
      for (let i = 0; i < REPEAT; i++) {
        const sessionId = seeded.sessionIds[i]!
        changes['session revoked']!.push(await change('session', sessionId, 'revoked', () => revokeSession(c, sessionId)))
        const userId = seeded.userIds[(i * 37) % USERS]!
        changes['user updated']!.push(await change('user', userId, 'updated', () => updateUser(c, userId, {name: `renamed ${i}`})))
        const routeId = seeded.routeIds[(i * 53) % ROUTES]!
        changes['route updated']!.push(await change('route', routeId, 'updated', () => updateRoute(c, routeId, {service: `echo-${i}`})))
        if (i < 5) {
          const directoryId = seeded.directoryIds[i]!
          const memberId = seeded.userIds[2 * i + 1]!
          changes['directory member added']!.push(await change('directory', directoryId, 'updated', () => addMember(c, directoryId, memberId)))
        }
      }
      const snap = source!.get()
      if (snap.identity.sessions.size !== SESSIONS - REPEAT) throw new Error(`revoked sessions are still in the snapshot (${snap.identity.sessions.size})`)
      if (!snap.routes.some((r) => r.service === `echo-${REPEAT - 1}`)) throw new Error('the updated route is not in the snapshot')
      return {engine, seedMs, startMs: start.ms, full, changes}
    } finally {
      source?.close()
    }
  } finally {
    await stores.close()
    rmSync(dataDir, {recursive: true, force: true})
  }
}

const f = (n: number | undefined, digits = 1) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits))
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[Math.floor(s.length / 2)]! : NaN
}
const max = (xs: number[]) => (xs.length ? Math.max(...xs) : NaN)

function table(results: ControlResult[]): string {
  const rows: string[][] = [
    ['seed (one transaction), ms', ...results.map((r) => f(r.seedMs, 0))],
    ['full snapshot build at start, ms', ...results.map((r) => f(r.startMs))],
    ['full rebuild (resync), median ms', ...results.map((r) => f(median(r.full.map((x) => x.ms))))],
    ['full rebuild, longest event-loop block, wall / CPU ms', ...results.map((r) => `${f(max(r.full.map((x) => x.blockMs)))} / ${f(max(r.full.map((x) => x.blockCpuMs)))}`)],
  ]
  for (const kind of Object.keys(results[0]?.changes ?? {})) {
    rows.push([`one change: ${kind}, median / max ms`, ...results.map((r) => `${f(median(r.changes[kind]!.map((x) => x.ms)), 2)} / ${f(max(r.changes[kind]!.map((x) => x.ms)), 2)}`)])
    rows.push([`one change: ${kind}, longest block wall / CPU ms`, ...results.map((r) => `${f(max(r.changes[kind]!.map((x) => x.blockMs)))} / ${f(max(r.changes[kind]!.map((x) => x.blockCpuMs)))}`)])
  }
  const head = ['metric', ...results.map((r) => r.engine)]
  return [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n')
}

export async function controlPlaneBench(): Promise<void> {
  const results: ControlResult[] = [await runOn('SQLite', undefined)]
  if (postgresAvailable()) {
    const pg = await startPostgres()
    try {
      results.push(await runOn('PostgreSQL', {url: await pg.createDatabase('bench')}))
    } finally {
      await pg.close()
    }
  } else {
    process.stderr.write('[bench] initdb not found: PostgreSQL skipped\n')
  }
  console.log(`\nMezusphere control plane: node ${process.version}, ${cpus().length} CPUs (load average ${loadavg()[0]!.toFixed(1)}), ${USERS} users, ${ROUTES} routes, ${SESSIONS} browser sessions, ${REPEAT} changes of each kind (a change is timed from publishing its feed event until the edge serves it; a block is the longest stretch without a turn of the event loop, by the wall clock and by the CPU this process used in it)\n`)
  console.log(table(results))
  if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify(results, null, 2) + '\n')
}
