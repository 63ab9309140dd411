import type {Db} from './db.js'

export interface Migration {
  version: number
  name: string
  up(db: Db): void
}

export class SchemaError extends Error {
  override name = 'SchemaError'
}

/**
 * Applies migrations by PRAGMA user_version, one transaction each. A database newer than the
 * code is refused before anything is written.
 */
export function migrate(db: Db, migrations: readonly Migration[], label: string): number {
  for (const [i, m] of migrations.entries()) {
    if (m.version !== i + 1) throw new SchemaError(`${label} migration ${m.name} is numbered ${m.version}, expected ${i + 1}`)
  }
  const current = db.pragma('user_version', {simple: true}) as number
  const latest = migrations.length
  if (current > latest) {
    throw new SchemaError(`${label} has schema version ${current}, newer than this mezu understands (${latest}); upgrade mezu`)
  }
  for (const m of migrations.slice(current)) {
    db.transaction(() => {
      m.up(db)
      db.pragma(`user_version = ${m.version}`)
    }).immediate()
  }
  return latest
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', {simple: true}) as number
}
