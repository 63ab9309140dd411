import type {DeviceLoginLookup, EdgeAuthority, LoginOutcome} from '../edge/edge-authority.js'
import type {EdgeIdentitySnapshot, EdgeSession, EdgeUser} from '../edge/identity-snapshot.js'
import {appendAudit, type AuditInput} from '../store/config/audit.js'
import {transaction} from '../store/db.js'
import {membershipRows} from '../store/identity/edge-reads.js'
import {checkInvite, markInviteUsed} from '../store/identity/invites.js'
import {findSessionByToken, revokeSession, type SessionRecord, touchSession} from '../store/identity/sessions.js'
import {getUser, updateUser} from '../store/identity/users.js'
import {announce, type ControlContext, noteLogin} from './context.js'
import type {PendingDeviceLogin} from './device-logins.js'
import {buildIdentity} from './edge-build.js'
import {BROWSER_CLIENT, directoryIndex, type SnapshotCtx, toEdgeUser} from './edge-parts.js'
import {ApiError} from './errors.js'
import {passwordLogin} from './routes/auth.js'
import {consumeCallbackCode, issueCallbackCode} from '../store/identity/callback-codes.js'
import {DEVICE_LOGIN_METHOD} from './routes/device-logins.js'

/** How long a sign-in callback code can be redeemed. */
const CALLBACK_CODE_TTL_MS = 60_000

export {BROWSER_CLIENT} from './edge-parts.js'
const MIN_PASSWORD = 12

function toEdgeSession(s: SessionRecord): EdgeSession {
  return {id: s.id, userId: s.userId, createdAtMs: Date.parse(s.createdAt), lastUsedAtMs: s.lastUsedAtMs, expiresAtMs: s.expiresAtMs}
}

/**
 * The identity part of the edge snapshot, built whole from the stores: every user with their
 * directories (and ancestors), live browser sessions and all API keys by keyed hash, and the
 * signing keys. The edge's StoreConfigSource builds it this way on start and on a resync and keeps
 * it current by deltas in between (edge-build.ts, edge-delta.ts).
 */
export async function buildEdgeIdentity(ctx: SnapshotCtx, now = Date.now()): Promise<EdgeIdentitySnapshot> {
  return (await buildIdentity(ctx, now)).identity
}

/** The control plane's side of EdgeAuthority: login, logout and invitations, against the stores. */
export function createEdgeAuthority(ctx: ControlContext): EdgeAuthority {
  const hashToken = (token: string) => ctx.stores.hasher.tokenHash(token).toString('hex')
  const edgeUser = async (id: string): Promise<EdgeUser> => toEdgeUser((await getUser(ctx.idb, id))!, (await membershipRows(ctx.idb, id)).map((r) => r.directory_id), await directoryIndex(ctx.idb))
  const record = (actor: AuditInput['actor'], action: string, target: AuditInput['target'], ip: string | null, feed?: {kind: string; id: string; action: 'updated' | 'revoked'}) =>
    transaction(ctx.cdb, async (onCommit) => {
      await appendAudit(ctx.cdb, {actor, action, target, ip})
      if (feed) await announce(ctx, onCommit, feed)
    })

  return {
    hashToken,

    async login(input): Promise<LoginOutcome> {
      try {
        const r = await passwordLogin(ctx, {...input, client: BROWSER_CLIENT, method: 'edge-password'})
        const session = (await findSessionByToken(ctx.idb, r.token))!
        return {ok: true, token: r.token, tokenHash: hashToken(r.token), session: toEdgeSession(session), user: await edgeUser(r.user.id)}
      } catch (error) {
        if (error instanceof ApiError && error.code === 'too_many_requests') {
          return {ok: false, reason: 'limited', message: error.message, retryAfterSeconds: Number(error.headers['retry-after'] ?? 60)}
        }
        if (error instanceof ApiError && error.code === 'invalid_credentials') return {ok: false, reason: 'invalid', message: 'email or password is wrong'}
        throw error
      }
    },

    async touchSessions(entries) {
      await transaction(ctx.idb, async () => {
        for (const e of entries) await touchSession(ctx.idb, e.id, e.at)
      })
    },

    async logout(token) {
      const s = await findSessionByToken(ctx.idb, token)
      if (!s || s.revokedAtMs !== null) return
      await revokeSession(ctx.idb, s.id)
      await record({kind: 'user', id: s.userId, name: null}, 'session.logout', {type: 'session', id: s.id}, s.ip, {kind: 'session', id: s.id, action: 'revoked'})
    },

    async invitation(code) {
      const inv = await usableInvite(ctx, code)
      if (!inv) return {ok: false}
      const u = await getUser(ctx.idb, inv.userId)
      return u && u.status === 'invited' ? {ok: true, email: u.email} : {ok: false}
    },

    async acceptInvitation(input) {
      if (input.password.length < MIN_PASSWORD) return {ok: false, reason: 'weak-password', message: `The password must be at least ${MIN_PASSWORD} characters long.`}
      if (input.password.length > 1024) return {ok: false, reason: 'weak-password', message: 'The password is too long.'}
      const inv = await usableInvite(ctx, input.code)
      const u = inv && (await getUser(ctx.idb, inv.userId))
      if (!inv || !u || u.status !== 'invited') return {ok: false, reason: 'invalid', message: 'This invitation is not valid any more.'}
      const hash = await ctx.stores.passwords.hash(input.password)
      const used = await transaction(ctx.idb, async () => {
        if (!(await markInviteUsed(ctx.idb, inv.id))) return false
        await updateUser(ctx.idb, u.id, {passwordHash: hash, status: 'active'})
        return true
      })
      if (!used) return {ok: false, reason: 'invalid', message: 'This invitation is not valid any more.'}
      await record({kind: 'user', id: u.id, name: u.email}, 'invite.accept', {type: 'user', id: u.id, name: u.email}, input.ip, {kind: 'user', id: u.id, action: 'updated'})
      return {ok: true, email: u.email}
    },

    async deviceLogin(input) {
      return (await lookupDeviceLogin(ctx, input, () => ctx.deviceLogins.find(input.userCode))).result
    },

    async decideDeviceLogin(input) {
      const r = await lookupDeviceLogin(ctx, input, () => ctx.deviceLogins.decide(input.userCode, input.userId, input.approve))
      if (!r.ok) return r.result
      const u = await getUser(ctx.idb, input.userId)
      const p = r.pending
      // A denial ends the login here, so it is written now; an approval is written when the CLI collects its session.
      if (!input.approve) await noteLogin(ctx, input.userId, {ip: p.ip, userAgent: p.userAgent, method: DEVICE_LOGIN_METHOD, client: p.client, result: 'denied'})
      await record({kind: 'user', id: input.userId, name: u?.email ?? null}, input.approve ? 'device-login.approve' : 'device-login.deny', {type: 'device-login', id: p.id, name: p.client}, input.ip)
      return r.result
    },

    async issueCallbackCode(input) {
      return issueCallbackCode(ctx.idb, input, CALLBACK_CODE_TTL_MS)
    },

    async consumeCallbackCode(input) {
      if (input.code.length > 256) return undefined
      const pending = await consumeCallbackCode(ctx.idb, input.code, input.host)
      if (!pending) return undefined
      const s = await findSessionByToken(ctx.idb, pending.token)
      if (!s || s.revokedAtMs !== null) return undefined
      return {token: pending.token, returnUrl: pending.returnUrl, tokenHash: hashToken(pending.token), session: toEdgeSession(s), user: await edgeUser(s.userId)}
    },
  }
}

async function usableInvite(ctx: ControlContext, code: string): Promise<{id: string; userId: string} | undefined> {
  if (!code || code.length > 256) return undefined
  const check = await checkInvite(ctx.idb, code)
  return check.ok ? check.invite : undefined
}

/**
 * A user code typed on the approval page. Codes are short (about 34 bits), so a wrong one counts
 * against the person and their address like a failed password, with the same slow-down and lockout.
 */
async function lookupDeviceLogin(ctx: ControlContext, input: {userId: string; ip: string}, find: () => PendingDeviceLogin | undefined): Promise<{ok: true; pending: PendingDeviceLogin; result: DeviceLoginLookup} | {ok: false; result: DeviceLoginLookup}> {
  const attempt = ctx.codeLimiter.begin(`user:${input.userId}`, input.ip)
  if (!attempt.allowed) ctx.metrics?.rateLimited('device-code')
  if (!attempt.allowed) return {ok: false, result: {ok: false, reason: 'limited', retryAfterSeconds: Math.ceil(attempt.retryAfterMs / 1000)}}
  let pending: PendingDeviceLogin | undefined
  try {
    if (attempt.delayMs > 0) await new Promise((r) => setTimeout(r, attempt.delayMs))
    pending = find()
  } finally {
    // a right code neither counts nor clears the wrong ones before it
    attempt.settle(pending ? 'uncounted' : 'failed')
  }
  if (!pending) return {ok: false, result: {ok: false, reason: 'invalid'}}
  return {ok: true, pending, result: {ok: true, userCode: pending.userCode, client: pending.client, ip: pending.ip, expiresAtMs: pending.expiresAtMs}}
}
