import type {ApiClient} from './api-client.js'
import type {Route, WarpgateCreated} from './api-types/index.js'
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
 * Creates the route HOST → service, or reuses it when it already points at this service. Speaks the
 * routes API (POST /v1/routes {project, env, hostname, service, path?, policy?}; a taken hostname is a conflict).
 */
export async function ensureRoute(api: ApiClient, input: {project: string; env: string; hostname: string; service: string; path?: string; policy?: string}): Promise<{hostname: string; reused: boolean}> {
  const path = input.path ?? '/'
  try {
    const created = await api.post<Route>('routes', {
      project: input.project, env: input.env, hostname: input.hostname, service: input.service,
      ...(input.path ? {path: input.path} : {}), ...(input.policy ? {policy: input.policy} : {}),
    })
    return {hostname: created.hostname, reused: false}
  } catch (error) {
    if (!(error instanceof MezuError) || error.code !== 'conflict') throw error
  }
  // A bare label ("hello") was expanded by the platform to hello.<domain>.
  const wanted = input.hostname.toLowerCase()
  const matches = (host: string) => host === wanted || (!wanted.includes('.') && host.split('.')[0] === wanted)
  const existing = (await api.all<Route>('routes', {project: input.project, env: input.env})).find((r) => matches(r.hostname) && r.pathPrefix === path)
  if (!existing) throw new MezuError('conflict', `--route ${input.hostname} is taken by a route outside ${input.project}/${input.env}`)
  if (existing.service !== input.service) throw new MezuError('conflict', `--route ${input.hostname} already points at service "${existing.service}", not "${input.service}"`)
  return {hostname: existing.hostname, reused: true}
}

/** The public URL of a host on the edge whose base URL is `edgeUrl` (its port carried over). */
export function publicUrl(edgeUrl: string, hostname: string): string {
  const port = new URL(edgeUrl).port
  return `https://${hostname}${port && port !== '443' ? `:${port}` : ''}/`
}
