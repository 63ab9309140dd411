import {type Static, Type} from '@sinclair/typebox'
import type {FastifyInstance} from 'fastify'
import type {CreateSessionResponse, WhoAmI} from '../../../src/lib/api-types/index.js'
import {createSession, revokeSession} from '../../store/identity/sessions.js'
import {emailIndex, findUserByEmail} from '../../store/identity/users.js'
import {normaliseEmail} from '../../store/names.js'
import {transaction} from '../../store/db.js'
import {type ControlContext, change, clientIp, noteLogin} from '../context.js'
import {announceSession} from '../edge-parts.js'
import {ApiError} from '../errors.js'
import type {TryOutcome} from '../login-limiter.js'
import {Email} from '../schemas.js'

const LoginBody = Type.Object(
  {
    email: Email,
    password: Type.String({minLength: 1, maxLength: 1024}),
    client: Type.Optional(Type.String({maxLength: 64})),
  },
  {additionalProperties: false},
)

// A fixed argon2id hash verified when the email is unknown, so both paths cost the same time.
let dummyHash: string | undefined

/** Email + password → session token. Login history and the failed-login limiter live here. */
export function registerAuthRoutes(app: FastifyInstance, ctx: ControlContext): void {
  app.post<{Body: Static<typeof LoginBody>}>('/v1/sessions', {schema: {body: LoginBody}, config: {public: true}}, async (req, reply) => {
    const result = await passwordLogin(ctx, {
      email: req.body.email,
      password: req.body.password,
      ip: clientIp(req),
      userAgent: req.headers['user-agent'] ?? null,
      client: req.body.client ?? 'api',
      method: 'password',
    })
    reply.code(201)
    return result
  })

  app.delete('/v1/sessions/current', async (req, reply) => {
    const p = req.principal!
    if (!p.sessionId) throw new ApiError('invalid_request', 'only a session token can be logged out; API keys are revoked with `mezu service-accounts revoke`')
    await change(ctx, req, {action: 'session.logout', target: {type: 'session', id: p.sessionId}}, () => revokeSession(ctx.idb, p.sessionId!), {
      kind: 'session', id: () => p.sessionId!, action: 'revoked',
    })
    reply.code(204)
  })

  app.get('/v1/me', async (req): Promise<WhoAmI> => ({principal: req.principal!, apiUrl: ctx.urls.api, edgeUrl: ctx.urls.edge, tunnelUrl: ctx.urls.tunnel, tunnelUrls: ctx.urls.tunnels}))
}

export interface PasswordLoginInput {
  email: string
  password: string
  ip: string
  userAgent: string | null
  client: string
  method: string
}

/** Shared by the API and the edge's login page: limiter, constant-cost check, history, session. */
export async function passwordLogin(ctx: ControlContext, input: PasswordLoginInput): Promise<CreateSessionResponse> {
  const email = normaliseEmail(input.email)
  const attempt = ctx.passwordLimiter.begin(`acct:${emailIndex(ctx.idb, email).toString('hex')}`, input.ip)
  if (!attempt.allowed) {
    ctx.metrics?.rateLimited('login')
    const secs = Math.ceil(attempt.retryAfterMs / 1000)
    throw new ApiError('too_many_requests', `too many failed logins; try again in ${secs} s`, undefined, {'retry-after': String(secs)})
  }
  // a try counts as failed unless it proves otherwise, so an unexpected error cannot be used to dodge the count
  let outcome: TryOutcome = 'failed'
  try {
    if (attempt.delayMs > 0) await new Promise((r) => setTimeout(r, attempt.delayMs))
    const user = await findUserByEmail(ctx.idb, email)
    dummyHash ??= await ctx.stores.passwords.hash('mezu-dummy-password-for-timing')
    // verified whether or not the user exists: an unknown email spends the same argon2id time
    const ok = (await ctx.stores.passwords.verify(user?.passwordHash ?? dummyHash, input.password)) && !!user?.passwordHash
    const meta = {ip: input.ip, userAgent: input.userAgent, method: input.method, client: input.client}
    if (!user || !ok) {
      await noteLogin(ctx, user?.id ?? null, {...meta, result: 'wrong-password'})
      throw new ApiError('invalid_credentials', 'email or password is wrong')
    }
    if (user.status !== 'active') {
      outcome = 'uncounted'
      await noteLogin(ctx, user.id, {...meta, result: `refused-${user.status}`})
      throw new ApiError('invalid_credentials', user.status === 'disabled' ? 'this account is disabled' : 'email or password is wrong')
    }
    outcome = 'succeeded'
    const {token, session} = await transaction(ctx.cdb, async (onCommit) => {
      const created = await createSession(ctx.idb, user.id, {ip: input.ip, userAgent: input.userAgent, client: input.client}, ctx.config.sessionMaxAgeMs)
      await announceSession(ctx, onCommit, created.session.id, input.client)
      return created
    })
    await noteLogin(ctx, user.id, {...meta, result: 'success'})
    return {token, session: {id: session.id, expiresAt: session.expiresAt}, user: {id: user.id, email: user.email, name: user.name, role: user.role}}
  } finally {
    attempt.settle(outcome)
  }
}
