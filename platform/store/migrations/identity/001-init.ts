import type {Migration} from '../../migrate.js'

// Every column other than ids, foreign keys, timestamps and keyed hashes is inside `doc`,
// sealed with the table, column and row id as associated data.
export const init: Migration = {
  version: 1,
  name: '001-init',
  sql: `
      CREATE TABLE keyring (
        id TEXT PRIMARY KEY,
        doc BLOB NOT NULL
      );
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email_bidx BLOB NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        doc BLOB NOT NULL
      );
      CREATE TABLE directories (
        id TEXT PRIMARY KEY,
        parent_id TEXT REFERENCES directories(id) ON DELETE RESTRICT,
        name_bidx BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        doc BLOB NOT NULL
      );
      CREATE UNIQUE INDEX directories_sibling_name ON directories (ifnull(parent_id, ''), name_bidx);
      CREATE TABLE memberships (
        directory_id TEXT NOT NULL REFERENCES directories(id) ON DELETE CASCADE,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (directory_id, user_id)
      );
      CREATE INDEX memberships_user ON memberships (user_id);
      CREATE TABLE project_members (
        project_id TEXT NOT NULL,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (project_id, user_id)
      );
      CREATE INDEX project_members_user ON project_members (user_id);
      CREATE TABLE service_accounts (
        id TEXT PRIMARY KEY,
        name_bidx BLOB NOT NULL UNIQUE,
        project_id TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        expires_at INTEGER,
        revoked_at INTEGER,
        doc BLOB NOT NULL
      );
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        service_account_id TEXT NOT NULL REFERENCES service_accounts(id) ON DELETE CASCADE,
        key_hash BLOB NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        revoked_at INTEGER,
        doc BLOB NOT NULL
      );
      CREATE INDEX api_keys_account ON api_keys (service_account_id);
      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        token_hash BLOB NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        revoked_at INTEGER,
        doc BLOB NOT NULL
      );
      CREATE INDEX sessions_user ON sessions (user_id);
      CREATE TABLE login_history (
        id TEXT PRIMARY KEY,
        user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        doc BLOB NOT NULL
      );
      CREATE INDEX login_history_user ON login_history (user_id, at);
      CREATE TABLE invites (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        code_hash BLOB NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER
      );
`,
}
