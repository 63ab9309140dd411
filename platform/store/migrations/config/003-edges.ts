import type {Migration} from '../../migrate.js'

// Edge nodes (issue 12): one row per `mezu edges create`. The join token is kept only as a keyed
// hash, cleared when it is used or the edge revoked (so it can match at most once); the name is
// found by its blind index. Name, certificate serial, last address and version, advertised URLs and
// the edge's public signing JWK are inside the sealed `doc`.
export const edges: Migration = {
  version: 3,
  name: '003-edges',
  sql: `
      CREATE TABLE edges (
        id TEXT PRIMARY KEY,
        name_bidx BLOB NOT NULL UNIQUE,
        join_token_hash BLOB UNIQUE,
        token_expires_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        enrolled_at INTEGER,
        cert_expires_at INTEGER,
        revoked_at INTEGER,
        last_seen_at INTEGER,
        doc BLOB NOT NULL
      );
`,
}
