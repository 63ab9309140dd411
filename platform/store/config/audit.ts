import type {AuditEntry} from '../../../src/lib/api-types/index.js'
import {newId} from '../../../src/protocol/ids.js'
import {decodeCursor, encodeCursor, type Page, type PageRequest} from '../page.js'
import type {StoreCtx} from './projects.js'

interface Row {
  id: string
  at: number
  doc: Buffer
}
const T = 'audit'

export type AuditInput = Omit<AuditEntry, 'id' | 'at'>

export function appendAudit(c: StoreCtx, entry: AuditInput): string {
  const id = newId('audit')
  // Ids are random, so order rests on `at` alone: keep it strictly increasing, so entries
  // written within one millisecond still read back in the order they happened.
  const last = (c.db.prepare(`SELECT max(at) AS at FROM ${T}`).get() as {at: number | null}).at ?? 0
  c.db.prepare(`INSERT INTO ${T} (id, at, doc) VALUES (?, ?, ?)`).run(id, Math.max(Date.now(), last + 1), c.cipher.sealJson(T, id, entry))
  return id
}

/** Newest first. */
export function listAudit(c: StoreCtx, page: PageRequest, filter: (e: AuditEntry) => boolean = () => true): Page<AuditEntry> {
  const after = decodeCursor(page.cursor)
  const out: AuditEntry[] = []
  let cursorAt = after?.at ?? Number.MAX_SAFE_INTEGER
  let cursorId = after?.id ?? '~'
  const stmt = c.db.prepare(`SELECT * FROM ${T} WHERE (at < ? OR (at = ? AND id < ?)) ORDER BY at DESC, id DESC LIMIT 200`)
  let last: Row | undefined
  // Filters apply to sealed fields, so scan in batches until the page is full.
  for (;;) {
    const rows = stmt.all(cursorAt, cursorAt, cursorId) as Row[]
    if (rows.length === 0) return {items: out, nextCursor: null}
    for (const r of rows) {
      last = r
      const d = c.cipher.openJson<AuditInput>(T, r.id, r.doc)
      const e: AuditEntry = {id: r.id, at: new Date(r.at).toISOString(), ...d}
      if (filter(e)) out.push(e)
      if (out.length === page.limit) {
        return {items: out, nextCursor: encodeCursor({at: r.at, id: r.id})}
      }
    }
    cursorAt = last!.at
    cursorId = last!.id
  }
}

/** Rewrites entries that name a user to an anonymous form (erasure keeps only that it happened). */
export function anonymiseAuditFor(c: StoreCtx, userId: string, matches: (e: AuditInput) => boolean, email?: string): number {
  const names = (x: {id: string | null; name?: string | null}) => x.id === userId || (!!email && x.name?.toLowerCase() === email.toLowerCase())
  const rows = c.db.prepare(`SELECT * FROM ${T}`).all() as Row[]
  const update = c.db.prepare(`UPDATE ${T} SET doc = ? WHERE id = ?`)
  let n = 0
  for (const r of rows) {
    const d = c.cipher.openJson<AuditInput>(T, r.id, r.doc)
    if (!matches(d)) continue
    const anon: AuditInput = {
      ...d,
      actor: names(d.actor) ? {kind: d.actor.kind, id: null, name: null} : d.actor,
      target: names(d.target) ? {type: d.target.type, id: null, name: null} : d.target,
      // where the person acted from is about them too
      ip: names(d.actor) ? null : d.ip,
      details: undefined,
    }
    update.run(c.cipher.sealJson(T, r.id, anon), r.id)
    n++
  }
  return n
}
