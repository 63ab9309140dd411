import type {Migration} from '../../migrate.js'

// Users are listed (and the edge snapshot is built) in (created_at, id) order, a page at a time:
// without this index every page sorted the whole table.
export const usersOrder: Migration = {
  version: 3,
  name: '003-users-order',
  sql: `
      CREATE INDEX users_created ON users (created_at, id);
`,
}
