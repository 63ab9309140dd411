import type {Invitation, Principal, Role} from '../../src/lib/api-types/index.js'
import {looksLikeId} from '../../src/protocol/ids.js'
import {createInvite} from '../store/identity/invites.js'
import {lookupDirectory} from '../store/identity/user-directories.js'
import {countActiveOwners, findUserByEmail, getUser, type UserRecord} from '../store/identity/users.js'
import type {ControlContext} from './context.js'
import {ApiError, notFound} from './errors.js'

/** The rules users share across the user routes: who may touch owners, the last owner, references. */

export async function resolveUser(ctx: ControlContext, ref: string): Promise<UserRecord> {
  const u = looksLikeId(ref, 'user') ? await getUser(ctx.idb, ref) : await findUserByEmail(ctx.idb, ref)
  if (!u) throw notFound('user', ref)
  return u
}

const isOwner = (p: Principal) => p.kind === 'user' && p.role === 'owner'

/** Only an owner may create an owner, or change, disable or erase one. */
export function requireOwnerFor(p: Principal, roles: Array<Role | undefined>, verb: string): void {
  if (roles.includes('owner') && !isOwner(p)) throw new ApiError('forbidden', `only an owner may ${verb} an owner`)
}

/** Refuses a change that would leave the platform without an active owner. */
export async function keepAnOwner(ctx: ControlContext, u: UserRecord, what: string): Promise<void> {
  if (u.role === 'owner' && u.status === 'active' && (await countActiveOwners(ctx.idb, u.id)) === 0) {
    throw new ApiError('conflict', `${u.email} is the last active owner; make another user owner before you ${what} them`)
  }
}

/** Directory references (id, path or unique name) → ids; the error names the reference. */
export async function resolveDirectories(ctx: ControlContext, refs: readonly string[], field = 'directories'): Promise<string[]> {
  const ids: string[] = []
  for (const ref of refs) {
    const r = await lookupDirectory(ctx.idb, ref)
    if (r.ok) {
      ids.push(r.id)
      continue
    }
    if (r.reason === 'ambiguous') throw new ApiError('invalid_request', `directory "${ref}" is ambiguous; give its path: ${r.candidates!.join(', ')}`, field)
    throw new ApiError('invalid_request', `directory "${ref}" does not exist`, field)
  }
  return ids
}

/** A page the edge serves on auth.<domain> (invitation, web login); its port is left out when it is 443. */
export function authPageUrl(ctx: ControlContext, pathAndQuery: string): string {
  // The edge's bound port once it listens, else the configured one; 443 is left out.
  const edgePort = ctx.urls.edge ? Number(new URL(ctx.urls.edge).port || 443) : ctx.config.edgePort
  const port = edgePort === 443 ? '' : `:${edgePort}`
  return `https://auth.${ctx.config.domain}${port}${pathAndQuery}`
}

/** The edge serves the invitation page on auth.<domain>. */
export function inviteLink(ctx: ControlContext, code: string): string {
  return authPageUrl(ctx, `/invite?code=${encodeURIComponent(code)}`)
}

/** Issues an invitation (inside the caller's identity transaction) and shapes it for the API. */
export async function issueInvitation(ctx: ControlContext, userId: string): Promise<Invitation> {
  const {code, invite} = await createInvite(ctx.idb, userId, ctx.config.inviteTtlMs)
  return {code, link: inviteLink(ctx, code), expiresAt: new Date(invite.expiresAt).toISOString()}
}
