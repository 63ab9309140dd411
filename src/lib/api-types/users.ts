import type {Role} from './common.js'

export type UserStatus = 'active' | 'invited' | 'disabled'

export interface User {
  id: string
  email: string
  name: string
  role: Role
  status: UserStatus
  createdAt: string
  updatedAt: string
}

export interface LoginRecord {
  id: string
  at: string
  ip: string | null
  userAgent: string | null
  result: string
  method: string
  /** what logged in (`cli`, `browser`, `api`); absent on records made before it was kept */
  client?: string
}

export interface SessionInfo {
  id: string
  userId: string
  createdAt: string
  lastUsedAt: string
  expiresAt: string
  revokedAt: string | null
  ip: string | null
  userAgent: string | null
  client: string
}

export interface ServiceAccount {
  id: string
  name: string
  description: string
  scopes: string[]
  projectId: string | null
  status: 'active' | 'revoked' | 'expired'
  createdAt: string
  expiresAt: string | null
  revokedAt: string | null
}

export interface CreateServiceAccountRequest {
  name: string
  scopes: string[]
  projectId?: string
  description?: string
  /** ISO time, or a duration like 30d / 12h */
  expires?: string
}

export interface CreateServiceAccountResponse {
  serviceAccount: ServiceAccount
  /** Shown once; the platform keeps only a keyed hash. */
  apiKey: string
}

/** A one-time invitation: the code is shown once; the platform keeps only a keyed hash. */
export interface Invitation {
  code: string
  /** where the person can set a password in a browser (served by the edge) */
  link: string
  expiresAt: string
}

export interface CreateUserRequest {
  email: string
  name?: string
  role?: Role
  /** directory ids, names or paths (a/b/c) */
  directories?: string[]
}

export interface CreateUserResponse {
  user: User
  invite: Invitation
}

export interface UpdateUserRequest {
  email?: string
  name?: string
  role?: Role
}

export interface UserDirectory {
  id: string
  /** names from the root, joined with "/" */
  path: string
}

/** `GET /v1/users/:ref`: the user with directories and the latest logins. */
export interface UserDetails extends User {
  directories: UserDirectory[]
  projects: string[]
  activeSessions: number
  lastLogins: LoginRecord[]
}

/** The shortest password the platform accepts (checked by the API; the CLI checks first to save a round trip). */
export const MIN_PASSWORD_LENGTH = 8

export interface AcceptInviteRequest {
  code: string
  password: string
  client?: string
}

/** Who has been disabled or enabled, and how many sessions ended with it. */
export interface UserStatusChange {
  user: User
  revokedSessions: number
}

/** One user in an export: everything the platform holds about them, never a secret token. */
export interface UserExport {
  id: string
  email: string
  name: string
  role: Role
  status: UserStatus
  createdAt: string
  updatedAt: string
  directories: string[]
  /** project ids and names the user is a member of */
  projects: Array<{id: string; name: string | null}>
  /** argon2id hash, present only in credential-bearing JSON exports (so a migration keeps passwords) */
  passwordHash?: string | null
  invites: Array<{createdAt: string; expiresAt: string; usedAt: string | null}>
  /** service accounts this user created (metadata only) */
  serviceAccounts: ServiceAccount[]
  /** active sessions (metadata only) */
  sessions: SessionInfo[]
  loginHistory: LoginRecord[]
}

/** The JSON export file; `mezu users import` reads it back. */
export interface UsersExportDocument {
  format: 'mezu-users'
  version: 1
  exportedAt: string
  users: UserExport[]
}

/** One row of an import; `line` is where it came from in the file, for error messages. */
export interface ImportUserRow {
  line?: number
  email: string
  name?: string
  role?: Role
  status?: UserStatus
  directories?: string[]
  passwordHash?: string | null
}

export interface ImportUsersRequest {
  users: ImportUserRow[]
  /** rows whose email already exists are skipped (and listed) instead of refusing the file */
  skipExisting?: boolean
}

export interface ImportUsersResponse {
  created: Array<{line: number | null; user: User; invite: Invitation | null}>
  skipped: Array<{line: number | null; email: string}>
}

export interface EraseUserResponse {
  erased: {id: string; email: string}
  removed: {sessions: number; loginHistory: number; memberships: number; projectMemberships: number; invites: number}
  anonymisedAuditEntries: number
  /** policies whose allow/deny lists named the email; it is replaced there by an address that matches nobody */
  policiesUpdated: string[]
}
