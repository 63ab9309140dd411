import type {Migration} from '../../migrate.js'

// Every column other than ids, foreign keys, timestamps and keyed hashes is inside `doc`,
// sealed with the table, column and row id as associated data.
export const init: Migration = {
  version: 1,
  name: '001-init',
  sql: `
      CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value INTEGER NOT NULL
      );
      INSERT INTO meta (key, value) VALUES ('config_version', 0);
      CREATE TABLE ca (
        id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        doc BLOB NOT NULL
      );
      CREATE TABLE signing_keys (
        id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        retired_at INTEGER,
        doc BLOB NOT NULL
      );
      CREATE TABLE projects (
        id TEXT PRIMARY KEY,
        name_bidx BLOB NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        doc BLOB NOT NULL
      );
      CREATE TABLE environments (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        name_bidx BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        doc BLOB NOT NULL,
        UNIQUE (project_id, name_bidx)
      );
      CREATE TABLE policies (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        name_bidx BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        doc BLOB NOT NULL,
        UNIQUE (project_id, name_bidx)
      );
      CREATE TABLE routes (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
        policy_id TEXT REFERENCES policies(id) ON DELETE RESTRICT,
        host_path_bidx BLOB NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        doc BLOB NOT NULL
      );
      CREATE INDEX routes_env ON routes (environment_id);
      CREATE TABLE warpgates (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
        token_hash BLOB UNIQUE,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        revoked_at INTEGER,
        last_seen_at INTEGER,
        doc BLOB NOT NULL
      );
      CREATE TABLE audit (
        id TEXT PRIMARY KEY,
        at INTEGER NOT NULL,
        doc BLOB NOT NULL
      );
      CREATE INDEX audit_at ON audit (at);
`,
}
