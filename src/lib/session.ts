import {confirm} from '@inquirer/prompts'
import {ApiClient} from './api-client.js'
import type {CreateSessionResponse, WhoAmI} from './api-types/index.js'
import {fetchPresentedCa, readCaFile} from './ca-pin.js'
import {type Credentials, contextFor, defaultContextName, saveContext} from './credentials.js'
import {MezuError} from './errors.js'

/** Resolves the CA for a login: a file, the one pinned before, or (on a TTY) the one presented, confirmed. */
export async function resolveLoginCa(apiUrl: string, opts: {caFile?: string; interactive: boolean; log: (s: string) => void}): Promise<string> {
  if (opts.caFile) return readCaFile(opts.caFile)
  const pinned = contextFor(apiUrl)?.caPem
  if (pinned) return pinned
  const presented = await fetchPresentedCa(apiUrl)
  if (!opts.interactive) {
    throw new MezuError('ca_untrusted', `first contact with ${apiUrl}: pass --ca-file (or MEZU_CA_FILE) with the platform CA; it presented a CA with fingerprint ${presented.fingerprint}`)
  }
  opts.log(`The platform at ${apiUrl} presents a CA with SHA-256 fingerprint\n  ${presented.fingerprint}\nCompare it with the output of \`mezu platform trust\` on the platform's machine.`)
  const ok = await confirm({message: 'Trust this CA for this platform?', default: false})
  if (!ok) throw new MezuError('ca_untrusted', 'the CA was not trusted; nothing was saved')
  return presented.pem
}

export async function loginWithPassword(apiUrl: string, caPem: string, email: string, password: string, context?: string): Promise<{creds: Credentials; session: CreateSessionResponse}> {
  const anon = new ApiClient({apiUrl, caPem})
  const session = await anon.post<CreateSessionResponse>('sessions', {email, password, client: 'cli'})
  const creds: Credentials = {apiUrl, caPem, token: session.token, principal: session.user.email, tokenKind: 'session'}
  saveLogin(creds, context)
  return {creds, session}
}

export async function loginWithToken(apiUrl: string, caPem: string, token: string, context?: string): Promise<{creds: Credentials; me: WhoAmI}> {
  const me = await new ApiClient({apiUrl, caPem, token}).get<WhoAmI>('me')
  const creds: Credentials = {apiUrl, caPem, token, principal: me.principal.name, tokenKind: token.startsWith('mezu_sa_') ? 'api-key' : 'session'}
  saveLogin(creds, context)
  return {creds, me}
}

/** Adds or updates the login's context (named by the API host unless told) and makes it current. */
export function saveLogin(creds: Credentials, context = defaultContextName(creds.apiUrl)): string {
  saveContext(context, creds)
  return context
}
