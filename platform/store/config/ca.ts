import type {CaMaterial} from '../../pki/ca.js'
import type {StoreCtx} from './projects.js'

const T = 'ca'
const ID = 'platform'

/** The CA's private key is sealed like every other field; its certificate is public anyway. */
export function saveCa(c: StoreCtx, ca: CaMaterial): void {
  c.db.prepare(`INSERT INTO ${T} (id, created_at, doc) VALUES (?, ?, ?)`).run(ID, Date.now(), c.cipher.sealJson(T, ID, ca))
}

export function loadCa(c: StoreCtx): CaMaterial | undefined {
  const r = c.db.prepare(`SELECT * FROM ${T} WHERE id = ?`).get(ID) as {id: string; doc: Buffer} | undefined
  return r && c.cipher.openJson<CaMaterial>(T, r.id, r.doc)
}
