import type {Policy, PolicyRules} from '../../../src/lib/api-types/index.js'
import {randomBytes} from 'node:crypto'
import {newId} from '../../../src/protocol/ids.js'
import {normaliseName} from '../names.js'
import type {StoreCtx} from './projects.js'

interface Row {
  id: string
  project_id: string
  created_at: number
  updated_at: number
  doc: Buffer
}
/** The sealed part of a policy. */
export interface PolicyDoc {
  name: string
  public: boolean
  allow: PolicyRules
  deny: PolicyRules
}
const T = 'policies'

export const emptyRules = (): PolicyRules => ({emails: [], directories: [], serviceAccounts: [], ips: []})

function toPolicy(c: StoreCtx, r: Row): Policy {
  const d = c.cipher.openJson<PolicyDoc>(T, r.id, r.doc)
  return {id: r.id, projectId: r.project_id, ...d, createdAt: new Date(r.created_at).toISOString(), updatedAt: new Date(r.updated_at).toISOString()}
}

const nameIndex = (c: StoreCtx, name: string) => c.hasher.blindIndex('policies.name', normaliseName(name))

export function createPolicy(c: StoreCtx, projectId: string, doc: PolicyDoc): Policy {
  const id = newId('policy')
  const now = Date.now()
  c.db.prepare(`INSERT INTO ${T} (id, project_id, name_bidx, created_at, updated_at, doc) VALUES (?, ?, ?, ?, ?, ?)`).run(
    id, projectId, nameIndex(c, doc.name), now, now, c.cipher.sealJson(T, id, doc),
  )
  return getPolicy(c, id)!
}

export function getPolicy(c: StoreCtx, id: string): Policy | undefined {
  const r = c.db.prepare(`SELECT * FROM ${T} WHERE id = ?`).get(id) as Row | undefined
  return r && toPolicy(c, r)
}

export function findPolicyByName(c: StoreCtx, projectId: string, name: string): Policy | undefined {
  const r = c.db.prepare(`SELECT * FROM ${T} WHERE project_id = ? AND name_bidx = ?`).get(projectId, nameIndex(c, name)) as Row | undefined
  return r && toPolicy(c, r)
}

export function listPolicies(c: StoreCtx, projectId?: string): Policy[] {
  const rows = (projectId
    ? c.db.prepare(`SELECT * FROM ${T} WHERE project_id = ? ORDER BY created_at, id`).all(projectId)
    : c.db.prepare(`SELECT * FROM ${T} ORDER BY created_at, id`).all()) as Row[]
  return rows.map((r) => toPolicy(c, r))
}

export function updatePolicy(c: StoreCtx, id: string, doc: PolicyDoc): Policy | undefined {
  const changed = c.db.prepare(`UPDATE ${T} SET name_bidx = ?, updated_at = ?, doc = ? WHERE id = ?`).run(nameIndex(c, doc.name), Date.now(), c.cipher.sealJson(T, id, doc), id)
  return changed.changes ? getPolicy(c, id) : undefined
}

export function deletePolicy(c: StoreCtx, id: string): boolean {
  return c.db.prepare(`DELETE FROM ${T} WHERE id = ?`).run(id).changes > 0
}

/**
 * Erasure: replaces an erased user's email in every policy by an address that matches nobody
 * (`.invalid`, RFC 2606). Dropping it instead could widen a policy, since an allow list left empty
 * lets any signed-in user in. Returns the ids of the policies it changed.
 */
export function forgetEmail(c: StoreCtx, email: string): string[] {
  const wanted = email.toLowerCase()
  const stand = `erased-${randomBytes(6).toString('hex')}@erased.invalid`
  const changed: string[] = []
  for (const p of listPolicies(c)) {
    const swap = (r: PolicyRules): PolicyRules => ({...r, emails: r.emails.map((e) => (e.toLowerCase() === wanted ? stand : e))})
    if (![...p.allow.emails, ...p.deny.emails].some((e) => e.toLowerCase() === wanted)) continue
    updatePolicy(c, p.id, {name: p.name, public: p.public, allow: swap(p.allow), deny: swap(p.deny)})
    changed.push(p.id)
  }
  return changed
}
