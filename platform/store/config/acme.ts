import {randomBytes} from 'node:crypto'
import type {StoreCtx} from './projects.js'

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

export function findAcmeAccount(c: StoreCtx, directoryUrl: string, email: string): AcmeAccountRecord | undefined {
  const r = c.db.prepare(`SELECT id, doc FROM ${ACCOUNTS} WHERE account_bidx = ?`).get(accountIndex(c, directoryUrl, email)) as {id: string; doc: Buffer} | undefined
  return r && c.cipher.openJson<AcmeAccountRecord>(ACCOUNTS, r.id, r.doc)
}

/** The account for (directory, email), created with `keyPem` unless one exists; returns the stored one. */
export function ensureAcmeAccount(c: StoreCtx, account: AcmeAccountRecord): AcmeAccountRecord {
  return c.db.transaction(() => {
    const existing = findAcmeAccount(c, account.directoryUrl, account.email)
    if (existing) return existing
    const id = rowId('acct')
    c.db.prepare(`INSERT INTO ${ACCOUNTS} (id, account_bidx, created_at, doc) VALUES (?, ?, ?, ?)`).run(
      id, accountIndex(c, account.directoryUrl, account.email), Date.now(), c.cipher.sealJson(ACCOUNTS, id, account),
    )
    return account
  })()
}

export function listAcmeCertificates(c: StoreCtx): AcmeCertificateRecord[] {
  const rows = c.db.prepare(`SELECT id, doc FROM ${CERTS} ORDER BY created_at, id`).all() as Array<{id: string; doc: Buffer}>
  return rows.map((r) => c.cipher.openJson<AcmeCertificateRecord>(CERTS, r.id, r.doc))
}

/** Stores the certificate for its hostname, replacing the one before it. */
export function saveAcmeCertificate(c: StoreCtx, cert: AcmeCertificateRecord): void {
  const bidx = hostIndex(c, cert.hostname)
  const now = Date.now()
  c.db.transaction(() => {
    const cur = c.db.prepare(`SELECT id FROM ${CERTS} WHERE host_bidx = ?`).get(bidx) as {id: string} | undefined
    if (cur) {
      c.db.prepare(`UPDATE ${CERTS} SET updated_at = ?, doc = ? WHERE id = ?`).run(now, c.cipher.sealJson(CERTS, cur.id, cert), cur.id)
    } else {
      const id = rowId('acrt')
      c.db.prepare(`INSERT INTO ${CERTS} (id, host_bidx, created_at, updated_at, doc) VALUES (?, ?, ?, ?, ?)`).run(id, bidx, now, now, c.cipher.sealJson(CERTS, id, cert))
    }
  })()
}

export function deleteAcmeCertificate(c: StoreCtx, hostname: string): boolean {
  return c.db.prepare(`DELETE FROM ${CERTS} WHERE host_bidx = ?`).run(hostIndex(c, hostname)).changes > 0
}
