import type {FastifyRequest} from 'fastify'
import type {Principal} from '../../src/lib/api-types/index.js'
import {tokenKind} from '../../src/protocol/tokens.js'
import {checkApiKey} from '../store/identity/service-accounts.js'
import {findSessionByToken, touchSession} from '../store/identity/sessions.js'
import {getUser} from '../store/identity/users.js'
import type {ControlContext} from './context.js'
import {ApiError} from './errors.js'

/**
 * last_used_at is written at most this often per session, so reads don't turn into writes; never
 * less often than a quarter of the idle timeout, or a session in use could expire as idle.
 */
const TOUCH_EVERY_MS = 60_000

/** Bearer token → principal: a user's session token or a service account's API key. */
export async function authenticate(ctx: ControlContext, req: FastifyRequest): Promise<Principal> {
  const header = req.headers.authorization
  if (!header) throw new ApiError('unauthenticated', 'missing Authorization header: log in with `mezu login` or set MEZU_TOKEN')
  const m = /^Bearer ([A-Za-z0-9_\-]{8,200})$/.exec(header)
  if (!m) throw new ApiError('unauthenticated', 'Authorization header must be "Bearer <token>"')
  const token = m[1]
  switch (tokenKind(token)) {
    case 'session':
      return sessionPrincipal(ctx, token)
    case 'apiKey':
      return apiKeyPrincipal(ctx, token)
    default:
      throw new ApiError('unauthenticated', 'the token is not a session token or API key')
  }
}

export async function sessionPrincipal(ctx: ControlContext, token: string): Promise<Principal> {
  const s = await findSessionByToken(ctx.idb, token)
  if (!s) throw new ApiError('unauthenticated', 'the session token is not known: log in again')
  const now = Date.now()
  if (s.revokedAtMs !== null) throw new ApiError('token_revoked', 'the session was revoked: log in again')
  if (s.expiresAtMs <= now || now - s.lastUsedAtMs > ctx.config.sessionIdleMs) throw new ApiError('token_expired', 'the session has expired: log in again')
  const user = await getUser(ctx.idb, s.userId)
  if (!user) throw new ApiError('unauthenticated', 'the session\'s user no longer exists')
  if (user.status === 'disabled') throw new ApiError('token_revoked', 'the user is disabled')
  if (now - s.lastUsedAtMs > Math.min(TOUCH_EVERY_MS, ctx.config.sessionIdleMs / 4)) await touchSession(ctx.idb, s.id, now)
  return {kind: 'user', id: user.id, name: user.email, role: user.role, sessionId: s.id, expiresAt: new Date(s.expiresAtMs).toISOString()}
}

export async function apiKeyPrincipal(ctx: ControlContext, token: string): Promise<Principal> {
  const r = await checkApiKey(ctx.idb, token)
  if (!r.ok) {
    if (r.reason === 'revoked') throw new ApiError('token_revoked', 'the API key was revoked')
    if (r.reason === 'expired') throw new ApiError('token_expired', 'the API key has expired')
    throw new ApiError('unauthenticated', 'the API key is not known')
  }
  return {
    kind: 'service-account', id: r.account.id, name: r.account.name, scopes: r.account.scopes, projectId: r.account.projectId,
    expiresAt: r.expiresAtMs === null ? null : new Date(r.expiresAtMs).toISOString(),
  }
}
