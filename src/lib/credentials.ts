import {chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {dirname, join} from 'node:path'
import {MezuError} from './errors.js'

/** What `mezu login` leaves behind (0600), and what `mezu use` sets. */
export interface Credentials {
  apiUrl: string
  /** the platform CA pinned at first contact (PEM) */
  caPem?: string
  token?: string
  /** who the token belongs to, for display */
  principal?: string
  tokenKind?: 'session' | 'api-key'
}

export interface Settings {
  /** the last platform address used */
  apiUrl?: string
  project?: string
  env?: string
}

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MEZU_CONFIG_DIR) return env.MEZU_CONFIG_DIR
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, 'mezu')
  return join(homedir(), '.config', 'mezu')
}

const credentialsPath = (env?: NodeJS.ProcessEnv) => join(configDir(env), 'credentials.json')
const settingsPath = (env?: NodeJS.ProcessEnv) => join(configDir(env), 'config.json')

function readJson<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T
  } catch {
    throw new MezuError('bad_input', `${path} is not valid JSON; fix or delete it`)
  }
}

/** Writes atomically with the mode set before any secret lands on disk. */
export function writeJson(path: string, value: unknown, mode: number): void {
  mkdirSync(dirname(path), {recursive: true, mode: 0o700})
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n', {mode})
  chmodSync(tmp, mode)
  renameSync(tmp, path)
}

export function readCredentials(env?: NodeJS.ProcessEnv): Credentials | undefined {
  return readJson<Credentials>(credentialsPath(env))
}

export function writeCredentials(c: Credentials, env?: NodeJS.ProcessEnv): string {
  const path = credentialsPath(env)
  writeJson(path, c, 0o600)
  return path
}

export function clearToken(env?: NodeJS.ProcessEnv): void {
  const c = readCredentials(env)
  if (c) writeCredentials({apiUrl: c.apiUrl, caPem: c.caPem}, env)
}

export function readSettings(env?: NodeJS.ProcessEnv): Settings {
  return readJson<Settings>(settingsPath(env)) ?? {}
}

export function writeSettings(s: Settings, env?: NodeJS.ProcessEnv): void {
  writeJson(settingsPath(env), s, 0o600)
}
