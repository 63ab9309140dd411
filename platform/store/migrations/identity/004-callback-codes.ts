import type {Migration} from '../../migrate.js'

// Sign-in callback codes (issue 12 with several control planes): the one-time code that carries a
// fresh login from auth.<domain> to a route host lives here, not in one control plane's memory, so
// a login started at an edge of one control plane finishes at an edge of another. The code is kept
// only as a keyed hash; the session token, host and return URL it stands for are in the sealed doc.
// Rows live a minute; redeeming one deletes it (single use across processes).
export const callbackCodes: Migration = {
  version: 4,
  name: '004-callback-codes',
  sql: `
      CREATE TABLE callback_codes (
        id TEXT PRIMARY KEY,
        code_hash BLOB NOT NULL UNIQUE,
        expires_at INTEGER NOT NULL,
        doc BLOB NOT NULL
      );
      CREATE INDEX callback_codes_expiry ON callback_codes (expires_at);
`,
}
