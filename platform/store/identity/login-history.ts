import type {LoginRecord} from '../../../src/lib/api-types/index.js'
import {newId} from '../../../src/protocol/ids.js'
import type {StoreCtx} from '../config/projects.js'

interface Row {
  id: string
  user_id: string | null
  at: number
  doc: Buffer
}
type Doc = Omit<LoginRecord, 'id' | 'at'>
const T = 'login_history'

export function recordLogin(c: StoreCtx, userId: string | null, entry: Doc): void {
  const id = newId('login')
  c.db.prepare(`INSERT INTO ${T} (id, user_id, at, doc) VALUES (?, ?, ?, ?)`).run(id, userId, Date.now(), c.cipher.sealJson(T, id, entry))
}

/** Newest first. */
export function loginHistory(c: StoreCtx, userId: string, limit = 100): LoginRecord[] {
  const rows = c.db.prepare(`SELECT * FROM ${T} WHERE user_id = ? ORDER BY at DESC, id DESC LIMIT ?`).all(userId, limit) as Row[]
  return rows.map((r) => ({id: r.id, at: new Date(r.at).toISOString(), ...c.cipher.openJson<Doc>(T, r.id, r.doc)}))
}
