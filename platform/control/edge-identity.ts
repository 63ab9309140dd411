import type {DeviceLoginLookup, EdgeAuthority, LoginOutcome} from '../edge/edge-authority.js'
import type {EdgeIdentitySnapshot, EdgeServiceKey, EdgeSession, EdgeSigningKey, EdgeUser} from '../edge/identity-snapshot.js'
import {appendAudit, type AuditInput} from '../store/config/audit.js'
import {bumpConfigVersion} from '../store/config/meta.js'
import type {StoreCtx} from '../store/config/projects.js'
import {ensureSigningKey, publishedSigningKeys, type SigningKeyRecord} from '../store/config/signing-keys.js'
import {transaction} from '../store/db.js'
import {findSessionByToken, revokeSession, type SessionRecord, touchSession} from '../store/identity/sessions.js'
import {listServiceAccounts} from '../store/identity/service-accounts.js'
import {getUser, listUsers, updateUser, type UserRecord} from '../store/identity/users.js'
import {type ControlContext, noteLogin} from './context.js'
import type {PendingDeviceLogin} from './device-logins.js'
import {ApiError} from './errors.js'
import {passwordLogin} from './routes/auth.js'
import {DEVICE_LOGIN_METHOD} from './routes/device-logins.js'

/** The edge's login client name in the sessions table. */
export const BROWSER_CLIENT = 'browser'
const MIN_PASSWORD = 12

interface DirectoryRow {
  id: string
  parent_id: string | null
  doc: Buffer
}

/** Directory id → {path, ancestor ids incl. itself}. Directory docs carry at least `name`. */
function directoryTree(idb: StoreCtx): Map<string, {path: string; lineage: string[]}> {
  const rows = idb.db.prepare('SELECT id, parent_id, doc FROM directories').all() as DirectoryRow[]
  const byId = new Map(rows.map((r) => [r.id, r]))
  const names = new Map(rows.map((r) => [r.id, idb.cipher.openJson<{name: string}>('directories', r.id, r.doc).name]))
  const out = new Map<string, {path: string; lineage: string[]}>()
  for (const r of rows) {
    const lineage: string[] = []
    const parts: string[] = []
    for (let cur: DirectoryRow | undefined = r; cur && lineage.length < 64; cur = cur.parent_id ? byId.get(cur.parent_id) : undefined) {
      lineage.push(cur.id)
      parts.unshift(names.get(cur.id)!)
    }
    out.set(r.id, {path: parts.join('/'), lineage})
  }
  return out
}

function membershipsByUser(idb: StoreCtx, userId?: string): Map<string, string[]> {
  const rows = (userId
    ? idb.db.prepare('SELECT directory_id, user_id FROM memberships WHERE user_id = ?').all(userId)
    : idb.db.prepare('SELECT directory_id, user_id FROM memberships').all()) as Array<{directory_id: string; user_id: string}>
  const out = new Map<string, string[]>()
  for (const r of rows) out.set(r.user_id, [...(out.get(r.user_id) ?? []), r.directory_id])
  return out
}

function toEdgeUser(u: UserRecord, dirs: string[], tree: Map<string, {path: string; lineage: string[]}>): EdgeUser {
  const ids = new Set<string>()
  const paths: string[] = []
  for (const d of dirs) {
    const node = tree.get(d)
    if (!node) continue
    paths.push(node.path)
    for (const id of node.lineage) ids.add(id)
  }
  return {id: u.id, email: u.email, status: u.status, directoryIds: [...ids], directoryPaths: paths.sort()}
}

function toEdgeSession(s: SessionRecord): EdgeSession {
  return {id: s.id, userId: s.userId, createdAtMs: Date.parse(s.createdAt), lastUsedAtMs: s.lastUsedAtMs, expiresAtMs: s.expiresAtMs}
}

function toEdgeKey(k: SigningKeyRecord, withPrivate: boolean): EdgeSigningKey {
  return {kid: k.kid, publicJwk: k.publicJwk, ...(withPrivate ? {privateJwk: k.privateJwk} : {})}
}

/**
 * Builds the identity part of the edge snapshot from the stores: every user with their
 * directories (and ancestors), live browser sessions and all API keys by keyed hash, and the
 * signing keys. Called by whoever builds EdgeSnapshot, on start and after every feed event.
 */
export function buildEdgeIdentity(ctx: Pick<ControlContext, 'idb' | 'cdb' | 'config'>, now = Date.now()): EdgeIdentitySnapshot {
  const {idb, cdb} = ctx
  const tree = directoryTree(idb)
  const members = membershipsByUser(idb)
  const users = new Map<string, EdgeUser>()
  for (let cursor: string | undefined, first = true; first || cursor; first = false) {
    const page = listUsers(idb, {limit: 500, cursor})
    for (const u of page.items) users.set(u.id, toEdgeUser(u, members.get(u.id) ?? [], tree))
    cursor = page.nextCursor ?? undefined
  }

  const sessions = new Map<string, EdgeSession>()
  const rows = idb.db.prepare('SELECT id, user_id, token_hash, created_at, last_used_at, expires_at, doc FROM sessions WHERE revoked_at IS NULL AND expires_at > ?').all(now) as Array<{id: string; user_id: string; token_hash: Buffer; created_at: number; last_used_at: number; expires_at: number; doc: Buffer}>
  for (const r of rows) {
    if (idb.cipher.openJson<{client: string}>('sessions', r.id, r.doc).client !== BROWSER_CLIENT) continue
    sessions.set(r.token_hash.toString('hex'), {id: r.id, userId: r.user_id, createdAtMs: r.created_at, lastUsedAtMs: r.last_used_at, expiresAtMs: r.expires_at})
  }

  const accounts = new Map(listServiceAccounts(idb).map((a) => [a.id, a]))
  const serviceKeys = new Map<string, EdgeServiceKey>()
  const keys = idb.db.prepare('SELECT id, service_account_id, key_hash, expires_at, revoked_at FROM api_keys').all() as Array<{id: string; service_account_id: string; key_hash: Buffer; expires_at: number | null; revoked_at: number | null}>
  for (const k of keys) {
    const a = accounts.get(k.service_account_id)
    if (!a) continue
    const expiries = [k.expires_at, a.expiresAtMs].filter((x): x is number => x !== null)
    serviceKeys.set(k.key_hash.toString('hex'), {
      keyId: k.id, accountId: a.id, accountName: a.name,
      expiresAtMs: expiries.length ? Math.min(...expiries) : null,
      revokedAtMs: k.revoked_at ?? a.revokedAtMs,
    })
  }

  const active = ensureSigningKey(cdb, now)
  const published = publishedSigningKeys(cdb, ctx.config.edge.assertionTtlMs, now)
  return {
    users, sessions, serviceKeys,
    activeKey: toEdgeKey(active, true),
    publishedKeys: published.map((k) => toEdgeKey(k, false)),
  }
}

/** The control plane's side of EdgeAuthority: login, logout and invitations, against the stores. */
export function createEdgeAuthority(ctx: ControlContext): EdgeAuthority {
  const hashToken = (token: string) => ctx.stores.hasher.tokenHash(token).toString('hex')
  const edgeUser = (id: string): EdgeUser => toEdgeUser(getUser(ctx.idb, id)!, membershipsByUser(ctx.idb, id).get(id) ?? [], directoryTree(ctx.idb))
  const record = (actor: AuditInput['actor'], action: string, target: AuditInput['target'], ip: string | null, feed?: {kind: string; id: string; action: 'updated' | 'revoked'}) => {
    transaction(ctx.cdb.db, (onCommit) => {
      appendAudit(ctx.cdb, {actor, action, target, ip})
      if (feed) {
        const version = bumpConfigVersion(ctx.cdb.db)
        onCommit(() => ctx.feed.publish({version, ...feed}))
      }
    })
  }

  return {
    hashToken,

    async login(input): Promise<LoginOutcome> {
      try {
        const r = await passwordLogin(ctx, {...input, client: BROWSER_CLIENT, method: 'edge-password'})
        const session = findSessionByToken(ctx.idb, r.token)!
        return {ok: true, token: r.token, tokenHash: hashToken(r.token), session: toEdgeSession(session), user: edgeUser(r.user.id)}
      } catch (error) {
        if (error instanceof ApiError && error.code === 'too_many_requests') {
          return {ok: false, reason: 'limited', message: error.message, retryAfterSeconds: Number(error.headers['retry-after'] ?? 60)}
        }
        if (error instanceof ApiError && error.code === 'invalid_credentials') return {ok: false, reason: 'invalid', message: 'email or password is wrong'}
        throw error
      }
    },

    async touchSessions(entries) {
      transaction(ctx.idb.db, () => {
        for (const e of entries) touchSession(ctx.idb, e.id, e.at)
      })
    },

    async logout(token) {
      const s = findSessionByToken(ctx.idb, token)
      if (!s || s.revokedAtMs !== null) return
      revokeSession(ctx.idb, s.id)
      record({kind: 'user', id: s.userId, name: null}, 'session.logout', {type: 'session', id: s.id}, s.ip, {kind: 'session', id: s.id, action: 'revoked'})
    },

    async invitation(code) {
      const inv = usableInvite(ctx, code)
      if (!inv) return {ok: false}
      const u = getUser(ctx.idb, inv.user_id)
      return u && u.status === 'invited' ? {ok: true, email: u.email} : {ok: false}
    },

    async acceptInvitation(input) {
      if (input.password.length < MIN_PASSWORD) return {ok: false, reason: 'weak-password', message: `The password must be at least ${MIN_PASSWORD} characters long.`}
      if (input.password.length > 1024) return {ok: false, reason: 'weak-password', message: 'The password is too long.'}
      const inv = usableInvite(ctx, input.code)
      const u = inv && getUser(ctx.idb, inv.user_id)
      if (!inv || !u || u.status !== 'invited') return {ok: false, reason: 'invalid', message: 'This invitation is not valid any more.'}
      const hash = ctx.stores.passwords.hash(input.password)
      const used = transaction(ctx.idb.db, () => {
        if (ctx.idb.db.prepare('UPDATE invites SET used_at = ? WHERE id = ? AND used_at IS NULL').run(Date.now(), inv.id).changes === 0) return false
        updateUser(ctx.idb, u.id, {passwordHash: hash, status: 'active'})
        return true
      })
      if (!used) return {ok: false, reason: 'invalid', message: 'This invitation is not valid any more.'}
      record({kind: 'user', id: u.id, name: u.email}, 'invite.accept', {type: 'user', id: u.id, name: u.email}, input.ip, {kind: 'user', id: u.id, action: 'updated'})
      return {ok: true, email: u.email}
    },

    async deviceLogin(input) {
      return (await lookupDeviceLogin(ctx, input, () => ctx.deviceLogins.find(input.userCode))).result
    },

    async decideDeviceLogin(input) {
      const r = await lookupDeviceLogin(ctx, input, () => ctx.deviceLogins.decide(input.userCode, input.userId, input.approve))
      if (!r.ok) return r.result
      const u = getUser(ctx.idb, input.userId)
      const p = r.pending
      // A denial ends the login here, so it is written now; an approval is written when the CLI collects its session.
      if (!input.approve) noteLogin(ctx, input.userId, {ip: p.ip, userAgent: p.userAgent, method: DEVICE_LOGIN_METHOD, client: p.client, result: 'denied'})
      record({kind: 'user', id: input.userId, name: u?.email ?? null}, input.approve ? 'device-login.approve' : 'device-login.deny', {type: 'device-login', id: p.id, name: p.client}, input.ip)
      return r.result
    },
  }
}

function usableInvite(ctx: ControlContext, code: string): {id: string; user_id: string} | undefined {
  if (!code || code.length > 256) return undefined
  const hash = ctx.stores.hasher.tokenHash(code)
  const row = ctx.idb.db.prepare('SELECT id, user_id, code_hash, expires_at, used_at FROM invites WHERE code_hash = ?').get(hash) as {id: string; user_id: string; code_hash: Buffer; expires_at: number; used_at: number | null} | undefined
  if (!row || !ctx.stores.hasher.tokenMatches(code, row.code_hash) || row.used_at !== null || row.expires_at <= Date.now()) return undefined
  return row
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
