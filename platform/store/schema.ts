import type {Kysely} from 'kysely'

// The tables of both stores, as the query builder sees them. Timestamps are epoch milliseconds
// (INTEGER on SQLite, BIGINT on PostgreSQL, parsed back to numbers); blobs are Buffers (BLOB /
// BYTEA). Every column other than ids, foreign keys, timestamps and keyed hashes is the sealed `doc`.

type Ms = number
type Bytes = Buffer

// identity store
export interface KeyringTable { id: string; doc: Bytes }
export interface UsersTable { id: string; email_bidx: Bytes; created_at: Ms; updated_at: Ms; doc: Bytes }
export interface DirectoriesTable { id: string; parent_id: string | null; name_bidx: Bytes; created_at: Ms; updated_at: Ms; doc: Bytes }
export interface MembershipsTable { directory_id: string; user_id: string; created_at: Ms }
export interface ProjectMembersTable { project_id: string; user_id: string; created_at: Ms }
export interface ServiceAccountsTable { id: string; name_bidx: Bytes; project_id: string | null; created_at: Ms; updated_at: Ms; expires_at: Ms | null; revoked_at: Ms | null; doc: Bytes }
export interface ApiKeysTable { id: string; service_account_id: string; key_hash: Bytes; created_at: Ms; expires_at: Ms | null; revoked_at: Ms | null; doc: Bytes }
export interface SessionsTable { id: string; user_id: string; token_hash: Bytes; created_at: Ms; last_used_at: Ms; expires_at: Ms; revoked_at: Ms | null; doc: Bytes }
export interface LoginHistoryTable { id: string; user_id: string | null; at: Ms; doc: Bytes }
/** A user's data key, sealed with the master key (AD: user_keys, doc, user id); see identity/user-keys.ts. */
export interface UserKeysTable { user_id: string; created_at: Ms; doc: Bytes }
export interface CallbackCodesTable { id: string; code_hash: Bytes; expires_at: Ms; doc: Bytes }
export interface InvitesTable { id: string; user_id: string; code_hash: Bytes; created_at: Ms; expires_at: Ms; used_at: Ms | null }

// config store
export interface MetaTable { key: string; value: number }
export interface CaTable { id: string; created_at: Ms; doc: Bytes }
export interface SigningKeysTable { id: string; created_at: Ms; retired_at: Ms | null; doc: Bytes }
export interface ProjectsTable { id: string; name_bidx: Bytes; created_at: Ms; updated_at: Ms; doc: Bytes }
export interface EnvironmentsTable { id: string; project_id: string; name_bidx: Bytes; created_at: Ms; updated_at: Ms; doc: Bytes }
export interface PoliciesTable { id: string; project_id: string; name_bidx: Bytes; created_at: Ms; updated_at: Ms; doc: Bytes }
export interface RoutesTable { id: string; project_id: string; environment_id: string; policy_id: string | null; host_path_bidx: Bytes; created_at: Ms; updated_at: Ms; doc: Bytes }
export interface WarpgatesTable { id: string; project_id: string; environment_id: string; token_hash: Bytes | null; created_at: Ms; updated_at: Ms; revoked_at: Ms | null; last_seen_at: Ms | null; doc: Bytes }
export interface AuditTable { id: string; at: Ms; doc: Bytes }
export interface AcmeAccountsTable { id: string; account_bidx: Bytes; created_at: Ms; doc: Bytes }
export interface AcmeCertificatesTable { id: string; host_bidx: Bytes; created_at: Ms; updated_at: Ms; doc: Bytes }
export interface EdgesTable { id: string; name_bidx: Bytes; join_token_hash: Bytes | null; token_expires_at: Ms; created_at: Ms; updated_at: Ms; enrolled_at: Ms | null; cert_expires_at: Ms | null; revoked_at: Ms | null; last_seen_at: Ms | null; doc: Bytes }

export interface IdentityTables {
  keyring: KeyringTable
  users: UsersTable
  directories: DirectoriesTable
  memberships: MembershipsTable
  project_members: ProjectMembersTable
  service_accounts: ServiceAccountsTable
  api_keys: ApiKeysTable
  sessions: SessionsTable
  login_history: LoginHistoryTable
  invites: InvitesTable
  user_keys: UserKeysTable
  callback_codes: CallbackCodesTable
}

export interface ConfigTables {
  meta: MetaTable
  ca: CaTable
  signing_keys: SigningKeysTable
  projects: ProjectsTable
  environments: EnvironmentsTable
  policies: PoliciesTable
  routes: RoutesTable
  warpgates: WarpgatesTable
  audit: AuditTable
  acme_accounts: AcmeAccountsTable
  acme_certificates: AcmeCertificatesTable
  edges: EdgesTable
}

/**
 * Both stores in one namespace: table names are unique across them, so queries name tables
 * without a store prefix (SQLite attaches config.db to the identity connection; PostgreSQL puts
 * both schemas on the search path).
 */
export interface Schema extends IdentityTables, ConfigTables {}

/** The root handle or the current transaction: store functions take either. */
export type Executor = Kysely<Schema>

export const IDENTITY_TABLES = ['keyring', 'users', 'directories', 'memberships', 'project_members', 'service_accounts', 'api_keys', 'sessions', 'login_history', 'invites', 'user_keys', 'callback_codes'] as const satisfies ReadonlyArray<keyof IdentityTables>
export const CONFIG_TABLES = ['meta', 'ca', 'signing_keys', 'projects', 'environments', 'policies', 'routes', 'warpgates', 'audit', 'acme_accounts', 'acme_certificates', 'edges'] as const satisfies ReadonlyArray<keyof ConfigTables>
