import {readFileSync} from 'node:fs'
import {X509Certificate} from 'node:crypto'
import {writeJson} from '../lib/credentials.js'
import {MezuError} from '../lib/errors.js'
import {readTunnelEdges, type TunnelEdge} from '../protocol/tunnel.js'
import type {Credentials} from './registration.js'

/**
 * A Warpgate's saved identity (`--state FILE`): its private key and current certificate, so a
 * restarted Warpgate (a server reboot, a systemd restart) comes back as itself without a new
 * one-time token, and the latest edge list, so it dials the edges it last knew of. Written 0600
 * and atomically at registration, after every renewal and on every change of the edge list.
 */
interface StateFile {
  version: 1
  apiUrl: string
  credentials: Credentials
  /** absent in files written before edge lists: then the certificate's addresses are used */
  edges?: TunnelEdge[]
}

/** Saves the credentials (and the edge list) for `apiUrl`. */
export function saveState(path: string, apiUrl: string, credentials: Credentials, edges?: readonly TunnelEdge[]): void {
  const state: StateFile = {version: 1, apiUrl, credentials, ...(edges?.length && {edges: edges.map((e) => ({edge: e.edge, urls: [...e.urls]}))})}
  writeJson(path, state, 0o600)
}

/**
 * The saved credentials, when FILE holds some for this platform that are still valid at `now`,
 * with the saved edge list (when it reads: a bad one is left out, the certificate's is used);
 * `undefined` with the reason when it does not exist, is for another platform, or has expired.
 * A file that is there but unreadable or malformed is an error naming it: never silently replaced.
 */
export function loadState(path: string, apiUrl: string, now = Date.now()): {credentials?: Credentials; edges?: TunnelEdge[]; reason: string} {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {reason: `${path} does not exist yet`}
    throw new MezuError('bad_input', `cannot read the Warpgate state file ${path}: ${(error as Error).message}`)
  }
  let state: StateFile
  try {
    state = JSON.parse(text) as StateFile
    const c = state.credentials
    if (state.version !== 1 || typeof state.apiUrl !== 'string' || !c || typeof c.keyPem !== 'string' || typeof c.caPem !== 'string' || typeof c.expiresAt !== 'number' || typeof c.issuedAt !== 'number' || typeof c.info?.warpgateId !== 'string') throw new Error('fields missing')
    new X509Certificate(c.certPem)
  } catch {
    throw new MezuError('bad_input', `${path} is not a Warpgate state file; delete it to register again with a token`)
  }
  if (state.apiUrl !== apiUrl) return {reason: `${path} belongs to the platform at ${state.apiUrl}, not ${apiUrl}`}
  if (state.credentials.expiresAt <= now) return {reason: `the certificate saved in ${path} expired at ${new Date(state.credentials.expiresAt).toISOString()}`}
  const edges = state.edges === undefined ? undefined : readTunnelEdges(state.edges)
  return {credentials: state.credentials, ...(edges && 'edges' in edges && {edges: edges.edges}), reason: 'saved credentials'}
}
