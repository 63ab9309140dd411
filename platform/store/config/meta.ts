import type {Db} from '../db.js'

/** The configuration version the edge follows; bumped in the same transaction as the change. */
export function bumpConfigVersion(db: Db): number {
  db.prepare(`UPDATE meta SET value = value + 1 WHERE key = 'config_version'`).run()
  return configVersion(db)
}

export function configVersion(db: Db): number {
  return (db.prepare(`SELECT value FROM meta WHERE key = 'config_version'`).get() as {value: number}).value
}
