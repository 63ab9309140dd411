import type {Project} from '../../../src/lib/api-types/index.js'
import {newId} from '../../../src/protocol/ids.js'
import type {FieldCipher, KeyedHasher} from '../crypto.js'
import type {Db} from '../db.js'
import {normaliseName} from '../names.js'
import {decodeCursor, type Page, pageOf, type PageRequest} from '../page.js'

interface Row {
  id: string
  created_at: number
  updated_at: number
  doc: Buffer
}
interface Doc {
  name: string
  description: string
}
const T = 'projects'

export interface StoreCtx {
  db: Db
  cipher: FieldCipher
  hasher: KeyedHasher
}

function toProject(c: StoreCtx, r: Row): Project {
  const d = c.cipher.openJson<Doc>(T, r.id, r.doc)
  return {id: r.id, name: d.name, description: d.description, createdAt: new Date(r.created_at).toISOString(), updatedAt: new Date(r.updated_at).toISOString()}
}

const nameIndex = (c: StoreCtx, name: string) => c.hasher.blindIndex('projects.name', normaliseName(name))

export function createProject(c: StoreCtx, input: {name: string; description?: string}): Project {
  const id = newId('project')
  const now = Date.now()
  c.db.prepare(`INSERT INTO ${T} (id, name_bidx, created_at, updated_at, doc) VALUES (?, ?, ?, ?, ?)`).run(
    id, nameIndex(c, input.name), now, now, c.cipher.sealJson(T, id, {name: input.name, description: input.description ?? ''}),
  )
  return getProject(c, id)!
}

export function getProject(c: StoreCtx, id: string): Project | undefined {
  const r = c.db.prepare(`SELECT * FROM ${T} WHERE id = ?`).get(id) as Row | undefined
  return r && toProject(c, r)
}

export function findProjectByName(c: StoreCtx, name: string): Project | undefined {
  const r = c.db.prepare(`SELECT * FROM ${T} WHERE name_bidx = ?`).get(nameIndex(c, name)) as Row | undefined
  return r && toProject(c, r)
}

/** Lists projects, optionally only those whose id is in `only` (a member's reach). */
export function listProjects(c: StoreCtx, page: PageRequest, only?: readonly string[]): Page<Project> {
  const after = decodeCursor(page.cursor)
  const params: unknown[] = []
  let where = '1 = 1'
  if (after) {
    where += ' AND (created_at > ? OR (created_at = ? AND id > ?))'
    params.push(after.at, after.at, after.id)
  }
  if (only) {
    if (only.length === 0) return {items: [], nextCursor: null}
    where += ` AND id IN (${only.map(() => '?').join(',')})`
    params.push(...only)
  }
  const rows = c.db.prepare(`SELECT * FROM ${T} WHERE ${where} ORDER BY created_at, id LIMIT ?`).all(...params, page.limit + 1) as Row[]
  return pageOf(rows, page.limit, (r) => r.created_at, (r) => toProject(c, r))
}

export function updateProject(c: StoreCtx, id: string, patch: {name?: string; description?: string}): Project | undefined {
  const current = getProject(c, id)
  if (!current) return undefined
  const doc: Doc = {name: patch.name ?? current.name, description: patch.description ?? current.description}
  c.db.prepare(`UPDATE ${T} SET name_bidx = ?, updated_at = ?, doc = ? WHERE id = ?`).run(nameIndex(c, doc.name), Date.now(), c.cipher.sealJson(T, id, doc), id)
  return getProject(c, id)
}

export function deleteProject(c: StoreCtx, id: string): boolean {
  return c.db.prepare(`DELETE FROM ${T} WHERE id = ?`).run(id).changes > 0
}
