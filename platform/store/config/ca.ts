import type {CaMaterial} from '../../pki/ca.js'
import type {StoreCtx} from '../db.js'

const T = 'ca'
const ID = 'platform'

/** The CA's private key is sealed like every other field; its certificate is public anyway. */
export async function saveCa(c: StoreCtx, ca: CaMaterial): Promise<void> {
  await c.db.insertInto(T).values({id: ID, created_at: Date.now(), doc: c.cipher.sealJson(T, ID, ca)}).execute()
}

export async function loadCa(c: StoreCtx): Promise<CaMaterial | undefined> {
  const r = await c.db.selectFrom(T).select(['id', 'doc']).where('id', '=', ID).executeTakeFirst()
  return r && c.cipher.openJson<CaMaterial>(T, r.id, r.doc)
}
