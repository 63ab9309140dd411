import {type Static, Type} from '@sinclair/typebox'
import type {FastifyInstance, FastifyRequest} from 'fastify'
import type {Page, Principal, SessionInfo, SessionListItem, SessionRevokeResult} from '../../../src/lib/api-types/index.js'
import {looksLikeId} from '../../../src/protocol/ids.js'
import {getSession, listSessions, revokeSession, type SessionRecord} from '../../store/identity/sessions.js'
import {findUserByEmail, getUser} from '../../store/identity/users.js'
import {hasScope, scopeRefusal} from '../access.js'
import {type ControlContext, change} from '../context.js'
import {ApiError, notFound} from '../errors.js'
import {PageQuery} from '../schemas.js'

// limit and cursor are accepted for the shape every list shares; the list is short and returned whole.
const ListQuery = Type.Object({user: Type.Optional(Type.String({minLength: 1, maxLength: 254})), ...PageQuery.properties}, {additionalProperties: false})
const IdParams = Type.Object({id: Type.String({minLength: 1, maxLength: 100})})
const RevokeBody = Type.Object(
  {user: Type.Optional(Type.String({minLength: 1, maxLength: 254})), all: Type.Optional(Type.Literal(true))},
  {additionalProperties: false, minProperties: 1, maxProperties: 1},
)

export function publicSession(s: SessionRecord): SessionInfo {
  const {expiresAtMs: _e, lastUsedAtMs: _l, revokedAtMs: _r, ...rest} = s
  return rest
}

/**
 * Owners and admins (and accounts with the sessions scopes) see and revoke every session;
 * anyone else only their own.
 */
function onlyOwn(p: Principal, scope: 'sessions:read' | 'sessions:write'): string | undefined {
  if (hasScope(p, scope)) return undefined
  if (p.kind === 'user') return p.id
  throw scopeRefusal(p, scope)
}

async function userIdOf(ctx: ControlContext, ref: string): Promise<string> {
  const u = looksLikeId(ref, 'user') ? await getUser(ctx.idb, ref) : await findUserByEmail(ctx.idb, ref)
  if (!u) throw notFound('user', ref)
  return u.id
}

function revokeOne(ctx: ControlContext, req: FastifyRequest, s: SessionRecord): Promise<boolean> {
  return change(ctx, req, {action: 'session.revoke', target: {type: 'session', id: s.id}, details: {userId: s.userId}}, () => revokeSession(ctx.idb, s.id), {
    kind: 'session', id: () => s.id, action: 'revoked',
  })
}

export function registerSessionRoutes(app: FastifyInstance, ctx: ControlContext): void {
  app.get<{Querystring: Static<typeof ListQuery>}>('/v1/sessions', {schema: {querystring: ListQuery}}, async (req): Promise<Page<SessionListItem>> => {
    const own = onlyOwn(req.principal!, 'sessions:read')
    const wanted = req.query.user ? await userIdOf(ctx, req.query.user) : undefined
    if (own && wanted && wanted !== own) throw new ApiError('forbidden', 'you may only list your own sessions')
    const now = Date.now()
    const emails = new Map<string, string | null>()
    const emailOf = async (id: string) => {
      if (!emails.has(id)) emails.set(id, (await getUser(ctx.idb, id))?.email ?? null)
      return emails.get(id)!
    }
    const items: SessionListItem[] = []
    for (const s of await listSessions(ctx.idb, {userId: own ?? wanted, activeOnly: true})) {
      if (now - s.lastUsedAtMs <= ctx.config.sessionIdleMs) items.push({...publicSession(s), userEmail: await emailOf(s.userId)})
    }
    return {items, nextCursor: null}
  })

  app.delete<{Params: Static<typeof IdParams>}>('/v1/sessions/:id', {schema: {params: IdParams}}, async (req, reply) => {
    const own = onlyOwn(req.principal!, 'sessions:write')
    const s = looksLikeId(req.params.id, 'session') ? await getSession(ctx.idb, req.params.id) : undefined
    if (!s || (own && s.userId !== own)) throw notFound('session', req.params.id)
    if (s.revokedAtMs !== null) throw new ApiError('conflict', `session ${s.id} is already revoked`)
    await revokeOne(ctx, req, s)
    reply.code(204)
  })

  app.post<{Body: Static<typeof RevokeBody>}>('/v1/sessions/revoke', {schema: {body: RevokeBody}}, async (req): Promise<SessionRevokeResult> => {
    const p = req.principal!
    const own = onlyOwn(p, 'sessions:write')
    let userId: string | undefined
    if (req.body.user) {
      userId = await userIdOf(ctx, req.body.user)
      if (own && userId !== own) throw new ApiError('forbidden', 'you may only revoke your own sessions')
    } else if (own) {
      userId = own
    }
    // --all leaves the caller's own session alone, so the command can report what it did.
    const kept = !req.body.user && p.sessionId ? p.sessionId : null
    const targets = (await listSessions(ctx.idb, {userId, activeOnly: true})).filter((s) => s.id !== kept)
    const revoked: string[] = []
    for (const s of targets) if (await revokeOne(ctx, req, s)) revoked.push(s.id)
    return {revoked, kept}
  })
}
