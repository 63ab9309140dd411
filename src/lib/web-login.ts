import {spawn} from 'node:child_process'
import {setTimeout as delay} from 'node:timers/promises'
import {ApiClient} from './api-client.js'
import type {CreateSessionResponse, DeviceLoginStart} from './api-types/index.js'
import type {Credentials} from './credentials.js'
import {MezuError} from './errors.js'
import {saveLogin} from './session.js'

/** RFC 8628 §3.5: a slow_down answer adds five seconds to every later wait. */
const SLOW_DOWN_STEP_MS = 5000
/** Past the code's lifetime the platform answers expired_token; this is only a backstop. */
const DEADLINE_GRACE_MS = 30_000

export interface PollDeps {
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  now?: () => number
  signal?: AbortSignal
}

/**
 * Polls until the person approves or denies in the browser: waits `interval` before each poll,
 * keeps waiting on authorization_pending (and on a network failure: the platform may be
 * restarting), waits 5 s longer after slow_down, and ends on anything else.
 */
export async function pollDeviceLogin<T>(poll: () => Promise<T>, start: Pick<DeviceLoginStart, 'interval' | 'expiresIn'>, deps: PollDeps = {}): Promise<T> {
  const sleep = deps.sleep ?? abortableSleep
  const now = deps.now ?? Date.now
  const deadline = now() + start.expiresIn * 1000 + DEADLINE_GRACE_MS
  let intervalMs = Math.max(1, start.interval) * 1000
  for (;;) {
    await sleep(intervalMs, deps.signal)
    if (deps.signal?.aborted) throw cancelled()
    try {
      return await poll()
    } catch (error) {
      if (!(error instanceof MezuError)) throw error
      if (error.code === 'slow_down') intervalMs += SLOW_DOWN_STEP_MS
      else if (error.code === 'expired_token') throw new MezuError('expired_token', 'the code expired before it was approved (or was already used); run `mezu login --web` again')
      else if (error.code === 'access_denied') throw new MezuError('access_denied', `the login was refused in the browser (${error.message}); nothing was saved`)
      else if (error.code !== 'authorization_pending' && error.code !== 'network') throw error
    }
    if (now() > deadline) throw new MezuError('expired_token', 'the code expired before it was approved; run `mezu login --web` again')
  }
}

/**
 * `mezu login --web`: start a device login, show the code (onStart), poll until it is decided,
 * then keep the session exactly as a password login does.
 */
export async function loginWithWeb(apiUrl: string, caPem: string, opts: {onStart(start: DeviceLoginStart): void; context?: string} & PollDeps): Promise<{creds: Credentials; session: CreateSessionResponse}> {
  const anon = new ApiClient({apiUrl, caPem})
  const start = await anon.post<DeviceLoginStart>('device-logins', {client: 'cli'})
  opts.onStart(start)
  const session = await pollDeviceLogin(() => anon.post<CreateSessionResponse>('device-logins/token', {deviceCode: start.deviceCode}), start, opts)
  const creds: Credentials = {apiUrl, caPem, token: session.token, principal: session.user.email, tokenKind: 'session'}
  saveLogin(creds, opts.context)
  return {creds, session}
}

/** What a person reads on stderr while the CLI waits. */
export function describeWebLogin(start: DeviceLoginStart): string {
  return [
    `To log in, open ${start.verificationUrl} and enter the code ${start.userCode}`,
    `  (or open ${start.verificationUrlComplete})`,
    `The code expires in ${Math.round(start.expiresIn / 60)} minutes. Waiting for approval… (Ctrl-C to stop)`,
  ].join('\n')
}

/** The one-line JSON event `--json` writes on stderr, so stdout keeps its single result document. */
export function webLoginEvent(start: DeviceLoginStart): string {
  const {userCode, verificationUrl, verificationUrlComplete, expiresIn, interval} = start
  return JSON.stringify({event: 'device_code', userCode, verificationUrl, verificationUrlComplete, expiresIn, interval})
}

/**
 * Shows the code on stderr (a JSON event under --json, so stdout keeps its one result document)
 * and opens the browser when a person is at the terminal.
 */
export function announceWebLogin(start: DeviceLoginStart, opts: {json: boolean; browser: boolean}): void {
  process.stderr.write((opts.json ? webLoginEvent(start) : describeWebLogin(start)) + '\n')
  if (opts.browser && canOpenBrowser()) openBrowser(start.verificationUrlComplete)
}

/** A person is at this terminal and not in CI: worth opening a browser for. */
export function canOpenBrowser(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY && !env.CI)
}

/** Tries xdg-open / open / start; a missing opener or a failure is ignored (the URL is printed anyway). */
export function openBrowser(url: string, platform: NodeJS.Platform = process.platform): void {
  const [cmd, args] = platform === 'darwin' ? ['open', [url]] : platform === 'win32' ? ['cmd', ['/c', 'start', '""', url]] : ['xdg-open', [url]]
  try {
    const child = spawn(cmd, args as string[], {stdio: 'ignore', detached: true})
    child.on('error', () => {})
    child.unref()
  } catch {
    // nothing to do: the person can open the printed URL
  }
}

/** An AbortSignal raised by Ctrl-C while `fn` runs; the handler is removed afterwards. */
export async function stopOnInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController()
  const onSigint = () => ac.abort()
  process.on('SIGINT', onSigint)
  try {
    return await fn(ac.signal)
  } finally {
    process.off('SIGINT', onSigint)
  }
}

async function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, {signal})
  } catch (error) {
    throw signal?.aborted ? cancelled() : error
  }
}

function cancelled(): MezuError {
  return new MezuError('cancelled', 'stopped waiting for the web login (Ctrl-C); nothing was saved')
}
