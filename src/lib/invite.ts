import {ApiClient} from './api-client.js'
import {type CreateSessionResponse, MIN_PASSWORD_LENGTH} from './api-types/index.js'
import type {Credentials} from './credentials.js'
import {MezuError} from './errors.js'
import {saveLogin} from './session.js'

export function checkNewPassword(password: string, repeat?: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) throw new MezuError('bad_input', `the password must be at least ${MIN_PASSWORD_LENGTH} characters`)
  if (repeat !== undefined && repeat !== password) throw new MezuError('bad_input', 'the two passwords differ; nothing was changed')
}

/** Accepts an invitation: sets the password, and keeps the session it returns like a normal login. */
export async function acceptInvite(apiUrl: string, caPem: string, code: string, password: string, context?: string): Promise<{creds: Credentials; session: CreateSessionResponse}> {
  const session = await new ApiClient({apiUrl, caPem}).post<CreateSessionResponse>('invites/accept', {code: code.trim(), password, client: 'cli'})
  const creds: Credentials = {apiUrl, caPem, token: session.token, principal: session.user.email, tokenKind: 'session'}
  saveLogin(creds, context)
  return {creds, session}
}
