import {randomBytes} from 'node:crypto'
import {changed, type StoreCtx, transaction} from '../db.js'

/**
 * ACME state: the CA account key per (directory, contact) and the certificate + private key per
 * hostname. Every field is sealed like the rest of the configuration.
 */
const ACCOUNTS = 'acme_accounts'
const CERTS = 'acme_certificates'

export interface AcmeAccountRecord {
  directoryUrl: string
  email: string
  keyPem: string
}

/** A certificate obtained for one hostname. */
export interface AcmeCertificateRecord {
  hostname: string
  directoryUrl: string
  keyPem: string
  /** leaf first, then the chain the CA sent */
  certPem: string
  notBeforeMs: number
  notAfterMs: number
}

const accountIndex = (c: StoreCtx, directoryUrl: string, email: string) => c.hasher.blindIndex('acme_accounts.account', `${directoryUrl}\0${email.toLowerCase()}`)
const hostIndex = (c: StoreCtx, hostname: string) => c.hasher.blindIndex('acme_certificates.host', hostname.toLowerCase())
const rowId = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`

export async function findAcmeAccount(c: StoreCtx, directoryUrl: string, email: string): Promise<AcmeAccountRecord | undefined> {
  const r = await c.db.selectFrom(ACCOUNTS).select(['id', 'doc']).where('account_bidx', '=', accountIndex(c, directoryUrl, email)).executeTakeFirst()
  return r && c.cipher.openJson<AcmeAccountRecord>(ACCOUNTS, r.id, r.doc)
}

/** The account for (directory, email), created with `keyPem` unless one exists; returns the stored one. */
export async function ensureAcmeAccount(c: StoreCtx, account: AcmeAccountRecord): Promise<AcmeAccountRecord> {
  return transaction(c, async () => {
    const existing = await findAcmeAccount(c, account.directoryUrl, account.email)
    if (existing) return existing
    const id = rowId('acct')
    await c.db.insertInto(ACCOUNTS).values({
      id, account_bidx: accountIndex(c, account.directoryUrl, account.email), created_at: Date.now(), doc: c.cipher.sealJson(ACCOUNTS, id, account),
    }).execute()
    return account
  })
}

export async function listAcmeCertificates(c: StoreCtx): Promise<AcmeCertificateRecord[]> {
  const rows = await c.db.selectFrom(CERTS).select(['id', 'doc']).orderBy('created_at').orderBy('id').execute()
  return rows.map((r) => c.cipher.openJson<AcmeCertificateRecord>(CERTS, r.id, r.doc))
}

/** Stores the certificate for its hostname, replacing the one before it. */
export async function saveAcmeCertificate(c: StoreCtx, cert: AcmeCertificateRecord): Promise<void> {
  const bidx = hostIndex(c, cert.hostname)
  const now = Date.now()
  await transaction(c, async () => {
    const cur = await c.db.selectFrom(CERTS).select('id').where('host_bidx', '=', bidx).executeTakeFirst()
    if (cur) {
      await c.db.updateTable(CERTS).set({updated_at: now, doc: c.cipher.sealJson(CERTS, cur.id, cert)}).where('id', '=', cur.id).execute()
    } else {
      const id = rowId('acrt')
      await c.db.insertInto(CERTS).values({id, host_bidx: bidx, created_at: now, updated_at: now, doc: c.cipher.sealJson(CERTS, id, cert)}).execute()
    }
  })
}

export async function deleteAcmeCertificate(c: StoreCtx, hostname: string): Promise<boolean> {
  return changed(await c.db.deleteFrom(CERTS).where('host_bidx', '=', hostIndex(c, hostname)).executeTakeFirst()) > 0
}
