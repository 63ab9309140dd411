import {readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {writeJson} from './credentials.js'

/** How long one check, and one notice, holds: a day (gh's interval). */
export const CHECK_INTERVAL_MS = 24 * 60 * 60 * 1000
/** The registry must answer within this, counted from the start of the check (the start of the command). */
export const CHECK_TIMEOUT_MS = 1500
export const DEFAULT_REGISTRY = 'https://registry.npmjs.org'

/** What the state file keeps between runs. */
interface UpdateState {
  /** when the registry was last asked, successfully or not (ISO 8601) */
  checkedAt: string
  /** the URL asked: another registry or package name makes the state stale */
  url: string
  /** the version the registry last named as latest, if it ever answered */
  latest: string | null
  /** the release last announced, and when */
  notified?: {version: string; at: string}
}

/** Where the state file lives: MEZU_CONFIG_DIR if set (everything the CLI keeps in one place), else the XDG state dir. */
export function updateStatePath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.MEZU_CONFIG_DIR || (env.XDG_STATE_HOME ? join(env.XDG_STATE_HOME, 'mezu') : join(homedir(), '.local', 'state', 'mezu'))
  return join(dir, 'update-check.json')
}

/**
 * Whether this invocation may check for and announce a release: only for a person at a terminal
 * (stdout and stderr both TTYs), never in CI, under --json or with MEZU_NO_UPDATE_NOTIFIER set.
 */
export function updateCheckAllowed(o: {json: boolean; env?: NodeJS.ProcessEnv; stdoutIsTTY?: boolean; stderrIsTTY?: boolean}): boolean {
  const env = o.env ?? process.env
  const stdoutIsTTY = o.stdoutIsTTY ?? process.stdout.isTTY
  const stderrIsTTY = o.stderrIsTTY ?? process.stderr.isTTY
  return Boolean(stdoutIsTTY && stderrIsTTY && !o.json && !env.CI && !env.MEZU_NO_UPDATE_NOTIFIER)
}

interface Semver {
  core: [number, number, number]
  pre: string[]
}

const SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$/

function parseSemver(v: string): Semver | undefined {
  const m = SEMVER.exec(v.trim())
  if (!m) return undefined
  return {core: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] ? m[4].split('.') : []}
}

/** semver §11 precedence: negative when a < b. */
function compare(a: Semver, b: Semver): number {
  for (let i = 0; i < 3; i++) if (a.core[i] !== b.core[i]) return a.core[i] - b.core[i]
  if (!a.pre.length || !b.pre.length) return b.pre.length - a.pre.length
  for (let i = 0; i < Math.min(a.pre.length, b.pre.length); i++) {
    const [x, y] = [a.pre[i], b.pre[i]]
    if (x === y) continue
    const [nx, ny] = [/^\d+$/.test(x), /^\d+$/.test(y)]
    if (nx && ny) return Number(x) - Number(y)
    if (nx !== ny) return nx ? -1 : 1
    return x < y ? -1 : 1
  }
  return a.pre.length - b.pre.length
}

/**
 * Whether `latest` is a release to announce to someone running `current`: a higher version, and
 * not a prerelease unless `current` is one too. Anything that is not semver is never newer.
 */
export function isNewerRelease(latest: string, current: string): boolean {
  const [l, c] = [parseSemver(latest), parseSemver(current)]
  if (!l || !c) return false
  if (l.pre.length && !c.pre.length) return false
  return compare(l, c) > 0
}

/** The notice: what is new and how to get it. */
export function noticeText(o: {bin: string; packageName: string; current: string; latest: string}): string {
  return `A new release of ${o.bin} is available: ${o.current} → ${o.latest}\nTo update, run: npm install -g ${o.packageName}@latest\n`
}

/** `GET <registry>/<package>/latest`, the npm registry's document for the `latest` dist-tag. */
export function latestUrl(registry: string, packageName: string): string {
  return `${registry.replace(/\/+$/, '')}/${encodeURIComponent(packageName).replace(/^%40/, '@')}/latest`
}

function readState(path: string): UpdateState | undefined {
  try {
    const s = JSON.parse(readFileSync(path, 'utf8')) as Partial<UpdateState>
    if (typeof s?.checkedAt !== 'string' || typeof s.url !== 'string' || Number.isNaN(Date.parse(s.checkedAt))) return undefined
    const latest = typeof s.latest === 'string' ? s.latest : null
    const notified = typeof s.notified?.version === 'string' && typeof s.notified.at === 'string' ? s.notified : undefined
    return {checkedAt: s.checkedAt, url: s.url, latest, notified}
  } catch {
    // missing, unreadable or corrupt: as if never checked; the next write replaces it
    return undefined
  }
}

function writeState(path: string, state: UpdateState): void {
  try {
    writeJson(path, state, 0o600)
  } catch {
    // a read-only or full disk must not fail the command; the next run checks again
  }
}

/** Within the interval, and not in the future (a clock set back must not silence checks for long). */
function isRecent(iso: string, now: number): boolean {
  const age = now - Date.parse(iso)
  return age >= 0 && age < CHECK_INTERVAL_MS
}

async function fetchLatest(url: string, timeoutMs: number): Promise<string | null> {
  try {
    const res = await fetch(url, {headers: {accept: 'application/json'}, signal: AbortSignal.timeout(timeoutMs)})
    if (!res.ok) {
      await res.body?.cancel()
      return null
    }
    const body = (await res.json()) as {version?: unknown}
    return typeof body?.version === 'string' && parseSemver(body.version) ? body.version : null
  } catch {
    // offline, refused, too slow, not JSON: no answer this time
    return null
  }
}

export interface UpdateCheckOptions {
  /** the npm package to ask about (package.json "name") */
  packageName: string
  currentVersion: string
  /** the command's name, for the notice */
  bin: string
  statePath: string
  /** the npm registry's base URL */
  registry: string
  now?: () => number
  timeoutMs?: number
}

/** One run's update check: started with the command, asked for its notice when the command is done. */
export interface UpdateCheck {
  /**
   * The notice to print, if a newer release is known and was not announced within the day. Waits
   * for a check still under way, which its timeout bounds: a command that ran longer than the
   * timeout is not held up at all. Never throws.
   */
  notice(): Promise<string | undefined>
}

/**
 * Starts the check: with a state file younger than a day it asks nobody; otherwise it asks the
 * registry in the background, within `timeoutMs`, and records the answer (or the failure) with
 * the time, so that a day passes before the next request either way.
 */
export function startUpdateCheck(o: UpdateCheckOptions): UpdateCheck {
  const now = o.now ?? Date.now
  const url = latestUrl(o.registry, o.packageName)
  const known = readState(o.statePath)
  let state = known?.url === url ? known : undefined
  const pending = state && isRecent(state.checkedAt, now())
    ? undefined
    : fetchLatest(url, o.timeoutMs ?? CHECK_TIMEOUT_MS).then((latest) => {
      state = {...state, checkedAt: new Date(now()).toISOString(), url, latest: latest ?? state?.latest ?? null}
      writeState(o.statePath, state)
    })
  return {
    async notice() {
      try {
        await pending
        const latest = state?.latest
        if (!state || !latest || !isNewerRelease(latest, o.currentVersion)) return undefined
        const at = now()
        if (state.notified?.version === latest && isRecent(state.notified.at, at)) return undefined
        state = {...state, notified: {version: latest, at: new Date(at).toISOString()}}
        writeState(o.statePath, state)
        return noticeText({bin: o.bin, packageName: o.packageName, current: o.currentVersion, latest})
      } catch {
        return undefined
      }
    },
  }
}
