import type {Principal} from '../../src/lib/api-types/index.js'
import {projectsOfUser} from '../store/identity/project-members.js'
import type {ControlContext} from './context.js'
import {ApiError} from './errors.js'

/**
 * Scopes are `<resource>:<read|write>`; `<resource>:*` and `*` grant more. Owners and admins
 * hold every scope; members hold the project-level ones within projects they belong to.
 */
export const SCOPES = [
  'projects:read', 'projects:write',
  'routes:read', 'routes:write',
  'policies:read', 'policies:write',
  'warpgates:read', 'warpgates:write',
  'logs:read',
  'users:read', 'users:write',
  'directories:read', 'directories:write',
  'service-accounts:read', 'service-accounts:write',
  'sessions:read', 'sessions:write',
  'audit:read',
  'edges:read', 'edges:write',
] as const
export type Scope = (typeof SCOPES)[number]

const MEMBER_SCOPES = new Set<string>([
  'projects:read', 'projects:write', 'routes:read', 'routes:write', 'policies:read', 'policies:write',
  'warpgates:read', 'warpgates:write', 'logs:read',
])

/**
 * Resources of the whole platform rather than of a project: a service account limited to one
 * project never holds their scopes, whatever it was given (`*` included).
 */
const PLATFORM_RESOURCES = new Set(['users', 'directories', 'sessions', 'audit', 'edges'])

/** Whether `scope` (`resource:verb`) covers the whole platform. */
export function isPlatformScope(scope: string): boolean {
  return PLATFORM_RESOURCES.has(scope.split(':')[0])
}

export function isValidScope(s: string): boolean {
  if (s === '*') return true
  const [resource, verb] = s.split(':')
  return SCOPES.some((x) => x.startsWith(resource + ':')) && (verb === 'read' || verb === 'write' || verb === '*')
}

function grants(held: string, wanted: string): boolean {
  if (held === '*' || held === wanted) return true
  const [r, v] = held.split(':')
  const [wr, wv] = wanted.split(':')
  // write implies read of the same resource
  return r === wr && (v === '*' || (v === 'write' && wv === 'read'))
}

export function hasScope(p: Principal, scope: Scope): boolean {
  if (p.kind === 'user') return p.role === 'owner' || p.role === 'admin' || MEMBER_SCOPES.has(scope)
  if (p.projectId && isPlatformScope(scope)) return false
  return (p.scopes ?? []).some((s) => grants(s, scope))
}

export function requireScope(p: Principal, scope: Scope): void {
  if (!hasScope(p, scope)) throw scopeRefusal(p, scope)
}

/** The 403 for a principal without `scope`, saying why. */
export function scopeRefusal(p: Principal, scope: Scope): ApiError {
  if (p.kind === 'service-account' && p.projectId && isPlatformScope(scope)) {
    return new ApiError('forbidden', `${scope} covers the whole platform: a service account limited to one project cannot use it`)
  }
  return new ApiError('forbidden', p.kind === 'user' ? `your role (${p.role}) does not allow ${scope}` : `the service account lacks the ${scope} scope`)
}

export function requireRole(p: Principal, roles: Array<'owner' | 'admin'>): void {
  if (p.kind !== 'user' || !roles.includes(p.role as 'owner' | 'admin')) {
    throw new ApiError('forbidden', `only ${roles.join(' or ')} users may do this`)
  }
}

/** Project ids within reach, or undefined for "all of them". */
export async function projectReach(ctx: ControlContext, p: Principal): Promise<string[] | undefined> {
  if (p.kind === 'service-account') return p.projectId ? [p.projectId] : undefined
  if (p.role === 'owner' || p.role === 'admin') return undefined
  return projectsOfUser(ctx.idb, p.id)
}

export async function canReachProject(ctx: ControlContext, p: Principal, projectId: string): Promise<boolean> {
  const reach = await projectReach(ctx, p)
  return reach === undefined || reach.includes(projectId)
}
