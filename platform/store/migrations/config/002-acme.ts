import type {Migration} from '../../migrate.js'

// ACME (issue 9): the CA account per directory + contact, and one certificate per hostname. Keys,
// certificates and hostnames are inside the sealed `doc`; a hostname is found by its blind index.
export const acme: Migration = {
  version: 2,
  name: '002-acme',
  sql: `
      CREATE TABLE acme_accounts (
        id TEXT PRIMARY KEY,
        account_bidx BLOB NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        doc BLOB NOT NULL
      );
      CREATE TABLE acme_certificates (
        id TEXT PRIMARY KEY,
        host_bidx BLOB NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        doc BLOB NOT NULL
      );
`,
}
