import {readFileSync} from 'node:fs'
import {join} from 'node:path'

/** The CLI's credentials file in a CliUser's config dir. */
export const credentialsOf = (env: NodeJS.ProcessEnv) => join(env.MEZU_CONFIG_DIR!, 'credentials.json')

/** The credentials file as stored: every context and the current one's name. */
export function storedContexts(env: NodeJS.ProcessEnv): {version: number; current: string | null; contexts: Record<string, any>} {
  return JSON.parse(readFileSync(credentialsOf(env), 'utf8'))
}

/** The current context as stored (token, caPem, tokenKind, project…). */
export function storedContext(env: NodeJS.ProcessEnv): any {
  const file = storedContexts(env)
  return file.current ? file.contexts[file.current] : undefined
}
