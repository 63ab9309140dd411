import {chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {dirname, join} from 'node:path'
import {MezuError} from './errors.js'

/** What `mezu login` keeps for one platform. */
export interface Credentials {
  apiUrl: string
  /** the platform CA pinned at first contact (PEM) */
  caPem?: string
  token?: string
  /** who the token belongs to, for display */
  principal?: string
  tokenKind?: 'session' | 'api-key'
}

/**
 * One platform logged in to, under a name (the API host by default): its credentials and the
 * project and environment `mezu use` chose there. kubectl's contexts, gh's hosts.
 */
export interface Context extends Credentials {
  name: string
  project?: string
  env?: string
}

/** The credentials file (0600): every context and which one is current. */
interface ContextsFile {
  version: 2
  current: string | null
  contexts: Record<string, Omit<Context, 'name'>>
}

export interface Settings {
  /** the platform address of the context in use */
  apiUrl?: string
  project?: string
  env?: string
}

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MEZU_CONFIG_DIR) return env.MEZU_CONFIG_DIR
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, 'mezu')
  return join(homedir(), '.config', 'mezu')
}

export const credentialsPath = (env?: NodeJS.ProcessEnv) => join(configDir(env), 'credentials.json')
/** Before contexts, `mezu use` wrote here; read once to migrate, then removed. */
const legacySettingsPath = (env?: NodeJS.ProcessEnv) => join(configDir(env), 'config.json')

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

/** A context's default name: the API's host and port, as `mezu login` was given it. */
export function defaultContextName(apiUrl: string): string {
  return new URL(apiUrl).host
}

/**
 * Reads the contexts, migrating a single-platform credentials file (and the config.json `mezu
 * use` wrote beside it) the first time: the old login becomes the current context.
 */
function readFile(env?: NodeJS.ProcessEnv): ContextsFile {
  const path = credentialsPath(env)
  const raw = readJson<Partial<ContextsFile> & Partial<Credentials>>(path)
  if (raw && raw.version === 2 && raw.contexts) return {version: 2, current: raw.current ?? null, contexts: raw.contexts}
  const legacy = raw?.apiUrl ? (raw as Credentials) : undefined
  const settings = readJson<Settings>(legacySettingsPath(env))
  if (!legacy && !settings?.apiUrl) return {version: 2, current: null, contexts: {}}
  const file: ContextsFile = {version: 2, current: null, contexts: {}}
  const apiUrl = legacy?.apiUrl ?? settings!.apiUrl!
  const name = defaultContextName(apiUrl)
  const scope = settings?.apiUrl === apiUrl ? {project: settings.project, env: settings.env} : {}
  file.contexts[name] = strip({...legacy, apiUrl, ...scope})
  file.current = name
  writeFile(file, env)
  rmSync(legacySettingsPath(env), {force: true})
  return file
}

function writeFile(file: ContextsFile, env?: NodeJS.ProcessEnv): string {
  const path = credentialsPath(env)
  writeJson(path, file, 0o600)
  return path
}

function strip<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}

/** Every context, in the order they were added, and the current one's name. */
export function listContexts(env?: NodeJS.ProcessEnv): {current: string | null; contexts: Context[]} {
  const file = readFile(env)
  return {current: file.current, contexts: Object.entries(file.contexts).map(([name, c]) => ({name, ...c}))}
}

/** The context this invocation uses: MEZU_CONTEXT if set (it must exist), else the current one. */
export function selectedContext(env: NodeJS.ProcessEnv = process.env): Context | undefined {
  const file = readFile(env)
  const wanted = env.MEZU_CONTEXT
  if (wanted) {
    const c = file.contexts[wanted]
    if (!c) throw new MezuError('unknown_context', `MEZU_CONTEXT names "${wanted}", which is not a context; \`mezu context list\` shows them`)
    return {name: wanted, ...c}
  }
  const c = file.current ? file.contexts[file.current] : undefined
  return c ? {name: file.current!, ...c} : undefined
}

/** The address a login without --api-url goes to: MEZU_CONTEXT's or the current context's (none for a context not made yet). */
export function loginApiUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = readFile(env)
  const name = env.MEZU_CONTEXT || file.current
  return name ? file.contexts[name]?.apiUrl : undefined
}

/**
 * The context a login for this address updates: the one MEZU_CONTEXT names (made if new), else
 * one already logged in to this address (the current one first), else a new one named by the host.
 */
export function loginContextName(apiUrl: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.MEZU_CONTEXT) return env.MEZU_CONTEXT
  return contextFor(apiUrl, env)?.name ?? defaultContextName(apiUrl)
}

/** The context holding credentials for this address: the selected one if it matches, else the first that does. */
export function contextFor(apiUrl: string, env: NodeJS.ProcessEnv = process.env): Context | undefined {
  const selected = selectedContext(env)
  if (selected && selected.apiUrl === apiUrl) return selected
  const found = Object.entries(readFile(env).contexts).find(([, c]) => c.apiUrl === apiUrl)
  return found ? {name: found[0], ...found[1]} : undefined
}

/** The selected context's credentials (what commands used before contexts existed). */
export function readCredentials(env?: NodeJS.ProcessEnv): Credentials | undefined {
  return selectedContext(env)
}

/**
 * Adds or updates a context and makes it current. A context that moves to another platform
 * loses its project and environment, which would mean nothing there.
 */
export function saveContext(name: string, creds: Credentials, env?: NodeJS.ProcessEnv): string {
  const file = readFile(env)
  const before = file.contexts[name]
  const scope = before && before.apiUrl === creds.apiUrl ? {project: before.project, env: before.env} : {}
  file.contexts[name] = strip({...creds, ...scope})
  file.current = name
  return writeFile(file, env)
}

export function useContext(name: string, env?: NodeJS.ProcessEnv): Context {
  const file = readFile(env)
  if (!file.contexts[name]) throw new MezuError('unknown_context', `no context named "${name}"; \`mezu context list\` shows them`)
  file.current = name
  writeFile(file, env)
  return {name, ...file.contexts[name]}
}

/** Forgets a context; if it was current, no context is current until `mezu context use` or a login. */
export function removeContext(name: string, env?: NodeJS.ProcessEnv): Context {
  const file = readFile(env)
  const c = file.contexts[name]
  if (!c) throw new MezuError('unknown_context', `no context named "${name}"; \`mezu context list\` shows them`)
  delete file.contexts[name]
  if (file.current === name) file.current = null
  writeFile(file, env)
  return {name, ...c}
}

/** Drops a context's token (logout), keeping its address, pinned CA and scope. */
export function clearToken(name: string, env?: NodeJS.ProcessEnv): void {
  const file = readFile(env)
  const c = file.contexts[name]
  if (!c) return
  file.contexts[name] = strip({apiUrl: c.apiUrl, caPem: c.caPem, project: c.project, env: c.env})
  writeFile(file, env)
}

/** The selected context's address, project and environment. */
export function readSettings(env?: NodeJS.ProcessEnv): Settings {
  const c = selectedContext(env)
  return c ? strip({apiUrl: c.apiUrl, project: c.project, env: c.env}) : {}
}

/**
 * Sets the project and environment (`mezu use`) on the context for `s.apiUrl`; with no context
 * for that address yet (MEZU_TOKEN in CI), one without a token is added and made current.
 */
export function writeSettings(s: Settings & {apiUrl: string}, env?: NodeJS.ProcessEnv): void {
  const file = readFile(env)
  const existing = contextFor(s.apiUrl, env)
  const name = existing?.name ?? defaultContextName(s.apiUrl)
  const c = file.contexts[name] ?? {apiUrl: s.apiUrl}
  file.contexts[name] = strip({...c, project: s.project, env: s.env})
  if (!existing) file.current = name
  writeFile(file, env)
}
