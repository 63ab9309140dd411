import type {ServiceAccount, UserExport} from '../../../src/lib/api-types/index.js'
import {getProject, type StoreCtx} from '../config/projects.js'
import {invitesOfUser} from './invites.js'
import {loginHistory} from './login-history.js'
import {projectsOfUser} from './project-members.js'
import {getServiceAccount} from './service-accounts.js'
import {listSessions} from './sessions.js'
import {directoriesOfUser} from './user-directories.js'
import type {UserRecord} from './users.js'

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

/** Ids of the service accounts a user created (the creator is inside the sealed doc). */
export function serviceAccountsCreatedBy(c: StoreCtx, userId: string): string[] {
  const rows = c.db.prepare('SELECT id, doc FROM service_accounts ORDER BY created_at, id').all() as Array<{id: string; doc: Buffer}>
  return rows.filter((r) => c.cipher.openJson<{createdBy: string | null}>('service_accounts', r.id, r.doc).createdBy === userId).map((r) => r.id)
}

/**
 * Everything the platform holds about one identity, for export: profile, memberships, the
 * service accounts they created, active sessions and login history. Tokens, keys and invite
 * codes never appear (only their metadata); the password hash only when asked for.
 */
export function exportUser(idb: StoreCtx, cdb: StoreCtx, u: UserRecord, opts: {credentials: boolean}): UserExport {
  const accounts: ServiceAccount[] = serviceAccountsCreatedBy(idb, u.id).map((id) => {
    const {expiresAtMs: _e, revokedAtMs: _r, ...a} = getServiceAccount(idb, id)!
    return a
  })
  return {
    id: u.id, email: u.email, name: u.name, role: u.role, status: u.status, createdAt: u.createdAt, updatedAt: u.updatedAt,
    directories: directoriesOfUser(idb, u.id).map((d) => d.path),
    projects: projectsOfUser(idb.db, u.id).map((id) => ({id, name: getProject(cdb, id)?.name ?? null})),
    ...(opts.credentials ? {passwordHash: u.passwordHash} : {}),
    invites: invitesOfUser(idb, u.id).map((i) => ({createdAt: iso(i.createdAt)!, expiresAt: iso(i.expiresAt)!, usedAt: iso(i.usedAt)})),
    serviceAccounts: accounts,
    sessions: listSessions(idb, {userId: u.id, activeOnly: true}).map(({expiresAtMs: _e, lastUsedAtMs: _l, revokedAtMs: _r, ...s}) => s),
    loginHistory: loginHistory(idb, u.id, 10_000),
  }
}
