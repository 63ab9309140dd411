import {type Static, Type} from '@sinclair/typebox'
import type {FastifyInstance} from 'fastify'
import type {CreateSessionResponse, DeviceLoginStart} from '../../../src/lib/api-types/index.js'
import {TOKEN_PREFIX} from '../../../src/protocol/tokens.js'
import {RateLimiter} from '../../edge/rate-limit.js'
import {transaction} from '../../store/db.js'
import {createSession} from '../../store/identity/sessions.js'
import {getUser} from '../../store/identity/users.js'
import {type ControlContext, clientIp, noteLogin} from '../context.js'
import {announceSession} from '../edge-parts.js'
import {ApiError} from '../errors.js'
import {authPageUrl} from '../user-rules.js'

/** The login-history method of a web (device) login. */
export const DEVICE_LOGIN_METHOD = 'web'

// The client name is shown on the approval page, so it is kept to a plain word, and never the
// edge's own `browser` (whose sessions double as edge cookies).
const StartBody = Type.Object({client: Type.Optional(Type.String({maxLength: 32, pattern: '^(?!browser$)[a-z][a-z0-9._-]*$'}))}, {additionalProperties: false})
const TokenBody = Type.Object(
  {deviceCode: Type.String({minLength: TOKEN_PREFIX.device.length + 1, maxLength: 200})},
  {additionalProperties: false},
)

/**
 * `mezu login --web`, shaped like the OAuth device authorization grant (RFC 8628): the CLI
 * starts a login and polls; the person approves it on auth.<domain>/device (the edge calls
 * EdgeAuthority.decideDeviceLogin); the first poll after approval gets a session, once.
 */
export function registerDeviceLoginRoutes(app: FastifyInstance, ctx: ControlContext): void {
  // Starting costs nothing to ask for and holds memory, so starts are rate-limited per client IP,
  // and an IP locked out for failed password logins cannot start one either.
  const starts = new RateLimiter()

  app.post<{Body: Static<typeof StartBody>}>('/v1/device-logins', {schema: {body: StartBody}, config: {public: true}}, async (req, reply): Promise<DeviceLoginStart> => {
    const ip = clientIp(req)
    refuseLockedIp(ctx, ip)
    const rate = starts.take('device-logins', ip, ctx.config.deviceLogin.startsPerMinute)
    if (!rate.allowed) ctx.metrics?.rateLimited('device-start')
    if (!rate.allowed) throw new ApiError('too_many_requests', `too many web logins started; try again in ${rate.retryAfterSeconds} s`, undefined, {'retry-after': String(rate.retryAfterSeconds)})
    const started = ctx.deviceLogins.start({client: req.body.client ?? 'cli', ip, userAgent: req.headers['user-agent'] ?? null})
    if (!started) throw new ApiError('too_many_requests', 'too many web logins are pending; try again in a minute', undefined, {'retry-after': '60'})
    const verificationUrl = authPageUrl(ctx, '/device')
    reply.code(201)
    return {
      deviceCode: started.deviceCode, userCode: started.userCode,
      verificationUrl, verificationUrlComplete: `${verificationUrl}?code=${encodeURIComponent(started.userCode)}`,
      expiresIn: started.expiresIn, interval: started.interval,
    }
  })

  app.post<{Body: Static<typeof TokenBody>}>('/v1/device-logins/token', {schema: {body: TokenBody}, config: {public: true}}, async (req, reply): Promise<CreateSessionResponse> => {
    // Device codes are 256 random bits: guessing one is hopeless, so a miss is not counted as a
    // failed login (that would lock out the people behind one address for a CLI's stale code).
    refuseLockedIp(ctx, clientIp(req))
    const r = ctx.deviceLogins.poll(req.body.deviceCode)
    switch (r.status) {
      case 'pending':
        throw new ApiError('authorization_pending', 'the login is not approved yet; keep polling')
      case 'slow_down':
        throw new ApiError('slow_down', `polled too fast; wait ${r.intervalSeconds} s between polls`)
      case 'expired':
        throw new ApiError('expired_token', 'this web login expired, was already used, or is unknown; start again with `mezu login --web`')
      case 'denied':
        throw new ApiError('access_denied', 'the login was denied in the browser')
    }
    const user = await getUser(ctx.idb, r.userId)
    const meta = {ip: r.meta.ip, userAgent: r.meta.userAgent, method: DEVICE_LOGIN_METHOD, client: r.meta.client}
    if (!user || user.status !== 'active') {
      if (user) await noteLogin(ctx, user.id, {...meta, result: `refused-${user.status}`})
      throw new ApiError('access_denied', 'the account that approved this login is not active')
    }
    const {token, session} = await transaction(ctx.idb, async (onCommit) => {
      const s = await createSession(ctx.idb, user.id, {ip: r.meta.ip, userAgent: r.meta.userAgent, client: r.meta.client}, ctx.config.sessionMaxAgeMs)
      await announceSession(ctx, onCommit, s.session.id, r.meta.client)
      await noteLogin(ctx, user.id, {...meta, result: 'success'})
      return s
    })
    reply.code(201)
    return {token, session: {id: session.id, expiresAt: session.expiresAt}, user: {id: user.id, email: user.email, name: user.name, role: user.role}}
  })
}

function refuseLockedIp(ctx: ControlContext, ip: string): void {
  const lockedMs = ctx.passwordLimiter.addressLockedForMs(ip)
  if (lockedMs === 0) return
  const secs = Math.ceil(lockedMs / 1000)
  ctx.metrics?.rateLimited('login')
  throw new ApiError('too_many_requests', `too many failed logins from this address; try again in ${secs} s`, undefined, {'retry-after': String(secs)})
}
