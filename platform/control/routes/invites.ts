import {type Static, Type} from '@sinclair/typebox'
import type {FastifyInstance} from 'fastify'
import {type CreateSessionResponse, MIN_PASSWORD_LENGTH} from '../../../src/lib/api-types/index.js'
import {TOKEN_PREFIX} from '../../../src/protocol/tokens.js'
import {transaction} from '../../store/db.js'
import {checkInvite, markInviteUsed} from '../../store/identity/invites.js'
import {createSession} from '../../store/identity/sessions.js'
import {getUser, updateUser} from '../../store/identity/users.js'
import {type ControlContext, change, clientIp, noteLogin} from '../context.js'
import {ApiError} from '../errors.js'

const AcceptBody = Type.Object(
  {
    code: Type.String({minLength: TOKEN_PREFIX.invite.length + 1, maxLength: 200}),
    password: Type.String({minLength: MIN_PASSWORD_LENGTH, maxLength: 1024}),
    client: Type.Optional(Type.String({maxLength: 64})),
  },
  {additionalProperties: false},
)

/**
 * Accepting an invitation is public (the person has no credentials yet): the one-time code sets
 * the password, activates the user, and logs them in like a password login would.
 */
export function registerInviteRoutes(app: FastifyInstance, ctx: ControlContext): void {
  app.post<{Body: Static<typeof AcceptBody>}>('/v1/invites/accept', {schema: {body: AcceptBody}, config: {public: true}}, async (req, reply): Promise<CreateSessionResponse> => {
    const check = await checkInvite(ctx.idb, req.body.code)
    if (!check.ok) {
      if (check.reason === 'used') throw new ApiError('invite_used', 'this invitation code was already used; ask an admin for a new one', 'code')
      if (check.reason === 'expired') throw new ApiError('invite_expired', 'this invitation code has expired; ask an admin for a new one', 'code')
      throw new ApiError('not_found', 'this invitation code is not known; check it was copied whole', 'code')
    }
    const user = (await getUser(ctx.idb, check.invite.userId))!
    if (user.status !== 'invited') throw new ApiError('conflict', `this account is ${user.status}; the invitation no longer applies`, 'code')
    // argon2id is slow: hash before taking the write lock.
    const passwordHash = await ctx.stores.passwords.hash(req.body.password)
    const meta = {ip: clientIp(req), userAgent: req.headers['user-agent'] ?? null}
    // The person holding the code is the one acting, so the audit entry names them (and erasure finds it).
    req.principal = {kind: 'user', id: user.id, name: user.email, role: user.role}
    const {token, session} = await change(ctx, req, {action: 'user.invite.accept', target: {type: 'user', id: user.id, name: user.email}}, () =>
      transaction(ctx.idb, async () => {
        if (!(await markInviteUsed(ctx.idb, check.invite.id))) throw new ApiError('invite_used', 'this invitation code was already used; ask an admin for a new one', 'code')
        await updateUser(ctx.idb, user.id, {status: 'active', passwordHash})
        const s = await createSession(ctx.idb, user.id, {...meta, client: req.body.client ?? 'api'}, ctx.config.sessionMaxAgeMs)
        await noteLogin(ctx, user.id, {...meta, method: 'invite', result: 'success', client: req.body.client ?? 'api'})
        return s
      }), {kind: 'user', id: () => user.id, action: 'updated'})
    reply.code(201)
    return {token, session: {id: session.id, expiresAt: session.expiresAt}, user: {id: user.id, email: user.email, name: user.name, role: user.role}}
  })
}
