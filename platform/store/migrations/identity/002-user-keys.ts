import type {Migration} from '../../migrate.js'

// Crypto-shredding (issue 11): each user's personal docs (users, sessions, login_history) are
// sealed with a data key of their own, kept here sealed with the master key. Erasure deletes the
// key, so the copies of those docs that outlive the rows (dead tuples, WAL, replicas) are sealed
// with a key the store no longer holds. No foreign key to users: deleting the key is an explicit
// step of the erasure transaction, never a side effect of a cascade.
export const userKeys: Migration = {
  version: 2,
  name: '002-user-keys',
  sql: `
      CREATE TABLE user_keys (
        user_id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        doc BLOB NOT NULL
      );
`,
}
