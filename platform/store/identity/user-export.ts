import type {ServiceAccount, UserExport} from '../../../src/lib/api-types/index.js'
import {getProject} from '../config/projects.js'
import type {StoreCtx} from '../db.js'
import {invitesOfUser} from './invites.js'
import {loginHistory} from './login-history.js'
import {projectsOfUser} from './project-members.js'
import {getServiceAccount} from './service-accounts.js'
import {listSessions} from './sessions.js'
import {directoriesOfUser} from './user-directories.js'
import type {UserRecord} from './users.js'

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

/** Ids of the service accounts a user created (the creator is inside the sealed doc). */
export async function serviceAccountsCreatedBy(c: StoreCtx, userId: string): Promise<string[]> {
  const rows = await c.db.selectFrom('service_accounts').select(['id', 'doc']).orderBy('created_at').orderBy('id').execute()
  return rows.filter((r) => c.cipher.openJson<{createdBy: string | null}>('service_accounts', r.id, r.doc).createdBy === userId).map((r) => r.id)
}

/**
 * Everything the platform holds about one identity, for export: profile, memberships, the
 * service accounts they created, active sessions and login history. Tokens, keys and invite
 * codes never appear (only their metadata); the password hash only when asked for.
 */
export async function exportUser(idb: StoreCtx, cdb: StoreCtx, u: UserRecord, opts: {credentials: boolean}): Promise<UserExport> {
  const accounts: ServiceAccount[] = []
  for (const id of await serviceAccountsCreatedBy(idb, u.id)) {
    const {expiresAtMs: _e, revokedAtMs: _r, ...a} = (await getServiceAccount(idb, id))!
    accounts.push(a)
  }
  const projects: UserExport['projects'] = []
  for (const id of await projectsOfUser(idb, u.id)) projects.push({id, name: (await getProject(cdb, id))?.name ?? null})
  return {
    id: u.id, email: u.email, name: u.name, role: u.role, status: u.status, createdAt: u.createdAt, updatedAt: u.updatedAt,
    directories: (await directoriesOfUser(idb, u.id)).map((d) => d.path),
    projects,
    ...(opts.credentials ? {passwordHash: u.passwordHash} : {}),
    invites: (await invitesOfUser(idb, u.id)).map((i) => ({createdAt: iso(i.createdAt)!, expiresAt: iso(i.expiresAt)!, usedAt: iso(i.usedAt)})),
    serviceAccounts: accounts,
    sessions: (await listSessions(idb, {userId: u.id, activeOnly: true})).map(({expiresAtMs: _e, lastUsedAtMs: _l, revokedAtMs: _r, ...s}) => s),
    loginHistory: await loginHistory(idb, u.id, 10_000),
  }
}
