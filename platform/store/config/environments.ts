import type {Environment} from '../../../src/lib/api-types/index.js'
import {newId} from '../../../src/protocol/ids.js'
import {normaliseName} from '../names.js'
import {decodeCursor, type Page, pageOf, type PageRequest} from '../page.js'
import type {StoreCtx} from './projects.js'

interface Row {
  id: string
  project_id: string
  created_at: number
  updated_at: number
  doc: Buffer
}
const T = 'environments'

function toEnv(c: StoreCtx, r: Row): Environment {
  const d = c.cipher.openJson<{name: string}>(T, r.id, r.doc)
  return {id: r.id, projectId: r.project_id, name: d.name, createdAt: new Date(r.created_at).toISOString(), updatedAt: new Date(r.updated_at).toISOString()}
}

const nameIndex = (c: StoreCtx, name: string) => c.hasher.blindIndex('environments.name', normaliseName(name))

export function createEnvironment(c: StoreCtx, projectId: string, name: string): Environment {
  const id = newId('environment')
  const now = Date.now()
  c.db.prepare(`INSERT INTO ${T} (id, project_id, name_bidx, created_at, updated_at, doc) VALUES (?, ?, ?, ?, ?, ?)`).run(
    id, projectId, nameIndex(c, name), now, now, c.cipher.sealJson(T, id, {name}),
  )
  return getEnvironment(c, id)!
}

export function getEnvironment(c: StoreCtx, id: string): Environment | undefined {
  const r = c.db.prepare(`SELECT * FROM ${T} WHERE id = ?`).get(id) as Row | undefined
  return r && toEnv(c, r)
}

export function findEnvironmentByName(c: StoreCtx, projectId: string, name: string): Environment | undefined {
  const r = c.db.prepare(`SELECT * FROM ${T} WHERE project_id = ? AND name_bidx = ?`).get(projectId, nameIndex(c, name)) as Row | undefined
  return r && toEnv(c, r)
}

export function listEnvironments(c: StoreCtx, projectId: string, page: PageRequest): Page<Environment> {
  const after = decodeCursor(page.cursor)
  const rows = (after
    ? c.db.prepare(`SELECT * FROM ${T} WHERE project_id = ? AND (created_at > ? OR (created_at = ? AND id > ?)) ORDER BY created_at, id LIMIT ?`).all(projectId, after.at, after.at, after.id, page.limit + 1)
    : c.db.prepare(`SELECT * FROM ${T} WHERE project_id = ? ORDER BY created_at, id LIMIT ?`).all(projectId, page.limit + 1)) as Row[]
  return pageOf(rows, page.limit, (r) => r.created_at, (r) => toEnv(c, r))
}

export function countEnvironments(c: StoreCtx, projectId: string): number {
  return (c.db.prepare(`SELECT count(*) AS n FROM ${T} WHERE project_id = ?`).get(projectId) as {n: number}).n
}

export function renameEnvironment(c: StoreCtx, id: string, name: string): Environment | undefined {
  const changed = c.db.prepare(`UPDATE ${T} SET name_bidx = ?, updated_at = ?, doc = ? WHERE id = ?`).run(nameIndex(c, name), Date.now(), c.cipher.sealJson(T, id, {name}), id)
  return changed.changes ? getEnvironment(c, id) : undefined
}

export function deleteEnvironment(c: StoreCtx, id: string): boolean {
  return c.db.prepare(`DELETE FROM ${T} WHERE id = ?`).run(id).changes > 0
}
