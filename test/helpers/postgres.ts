import {execFile, spawnSync} from 'node:child_process'
import {chmodSync, chownSync, existsSync, mkdtempSync, rmSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import pg from 'pg'

const run = promisify(execFile)

/** Debian keeps the server binaries out of PATH; /usr/local/bin may link them. */
export function pgBin(name: string): string {
  for (const dir of ['/usr/local/bin', '/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin']) {
    if (existsSync(join(dir, name))) return join(dir, name)
  }
  return name
}

export function postgresAvailable(): boolean {
  return spawnSync(pgBin('initdb'), ['--version']).status === 0
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const {port} = s.address() as {port: number}
      s.close(() => resolve(port))
    })
  })
}

/** initdb and postgres refuse to run as root: as root, the cluster belongs to the postgres user. */
function asOwner(cmd: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [cmd, args]
  return ['runuser', ['-u', 'postgres', '--', cmd, ...args]]
}

export interface TestPostgres {
  port: number
  /** the temp dir holding the cluster, its socket and its log */
  root: string
  dataDir: string
  pgCtl: string
  /** postgres:// URL of a new empty database */
  createDatabase(prefix?: string): Promise<string>
  stop(): Promise<void>
  start(): Promise<void>
  /** stops the server now (SIGKILL of the postmaster's children follows from immediate mode) */
  stopImmediate(): Promise<void>
  close(): Promise<void>
}

let counter = 0

/**
 * A throwaway PostgreSQL cluster of its own: initdb into a temp dir, a free port on 127.0.0.1,
 * the Unix socket in the temp dir, trust authentication for the test user `mezu`, fsync off.
 */
export async function startPostgres(): Promise<TestPostgres> {
  const root = mkdtempSync(join(tmpdir(), 'mezu-pg-'))
  chmodSync(root, 0o755)
  const dataDir = join(root, 'data')
  if (process.getuid?.() === 0) {
    const pw = spawnSync('id', ['-u', 'postgres'], {encoding: 'utf8'})
    const gw = spawnSync('id', ['-g', 'postgres'], {encoding: 'utf8'})
    chownSync(root, Number(pw.stdout.trim()), Number(gw.stdout.trim()))
  }
  const port = await freePort()
  const [icmd, iargs] = asOwner(pgBin('initdb'), ['-D', dataDir, '-U', 'mezu', '--auth=trust', '--locale=C', '-E', 'UTF8', '--no-sync'])
  await run(icmd, iargs)
  const opts = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=100`
  const ctl = async (...args: string[]) => {
    const [c, a] = asOwner(pgBin('pg_ctl'), args)
    await run(c, a)
  }
  const start = () => ctl('-D', dataDir, '-o', opts, '-l', join(root, 'server.log'), '-w', '-t', '30', 'start')
  await start()
  const admin = `postgres://mezu@127.0.0.1:${port}/postgres`
  return {
    port,
    root,
    dataDir,
    pgCtl: pgBin('pg_ctl'),
    async createDatabase(prefix = 'mezu') {
      const name = `${prefix}_${process.pid}_${++counter}`
      const c = new pg.Client(admin)
      await c.connect()
      try {
        await c.query(`CREATE DATABASE ${name}`)
      } finally {
        await c.end()
      }
      return `postgres://mezu@127.0.0.1:${port}/${name}`
    },
    start,
    stop: () => ctl('-D', dataDir, '-m', 'fast', '-w', 'stop'),
    stopImmediate: () => ctl('-D', dataDir, '-m', 'immediate', '-w', 'stop'),
    async close() {
      await ctl('-D', dataDir, '-m', 'immediate', '-w', 'stop').catch(() => {})
      rmSync(root, {recursive: true, force: true})
    },
  }
}
