import type {ApiClient} from './api-client.js'
import type {WarpgateCreated} from './api-types/index.js'
import {MezuError} from './errors.js'
import {resolveEnvRef, resolveProjectRef} from './scope.js'

/**
 * What `mezu tunnel` needs before it starts a Warpgate: a registration token (given, or created
 * on the fly for a logged-in user) and the routes it was asked to ensure.
 */
export async function registrationTokenFor(api: () => ApiClient, flags: {token?: string; project?: string; env?: string}, name: string): Promise<{token: string; created?: WarpgateCreated}> {
  if (flags.token) {
    if (!flags.token.startsWith('mezu_wg_')) throw new MezuError('usage', '--token (MEZU_WARPGATE_TOKEN) must be a Warpgate registration token starting with mezu_wg_', 2)
    return {token: flags.token}
  }
  const created = await api().post<WarpgateCreated>('warpgates', {project: resolveProjectRef(flags.project), environment: resolveEnvRef(flags.env), name})
  return {token: created.token, created}
}

/**
 * Creates the route HOST → service, or reuses it when it already exists. The routes API belongs
 * to the routes helper (issue 3); this speaks its POST /v1/routes and treats a conflict as "exists".
 */
export async function ensureRoute(api: ApiClient, input: {project: string; env: string; hostname: string; service: string}): Promise<{hostname: string; reused: boolean}> {
  try {
    await api.post('routes', {project: input.project, environment: input.env, hostname: input.hostname, pathPrefix: '/', service: input.service})
    return {hostname: input.hostname, reused: false}
  } catch (error) {
    if (error instanceof MezuError && error.code === 'conflict') return {hostname: input.hostname, reused: true}
    throw error
  }
}

/** The public URL of a host on the edge whose base URL is `edgeUrl` (its port carried over). */
export function publicUrl(edgeUrl: string, hostname: string): string {
  const port = new URL(edgeUrl).port
  return `https://${hostname}${port && port !== '443' ? `:${port}` : ''}/`
}
