import {MezuCommand} from '../lib/base-command.js'
import {clearToken, contextFor, selectedContext} from '../lib/credentials.js'
import {MezuError} from '../lib/errors.js'

export default class Logout extends MezuCommand<typeof Logout> {
  static override summary = 'Revoke the current context\'s session on the platform and forget its token (the context and its pinned CA stay).'
  static override examples = ['<%= config.bin %> logout']

  async run() {
    // --api-url (MEZU_API_URL) picks the context for that platform; otherwise the one in use.
    const creds = this.flags['api-url'] ? contextFor(this.apiUrl()) : selectedContext()
    if (!creds?.token) throw new MezuError('not_logged_in', creds ? `not logged in to context ${creds.name}` : 'not logged in')
    let revoked = false
    if (creds.tokenKind !== 'api-key') {
      try {
        // The stored session, not MEZU_TOKEN: logout forgets what login saved.
        await this.api({token: creds.token, apiUrl: creds.apiUrl}).delete('sessions/current')
        revoked = true
      } catch (error) {
        // An expired or revoked session is already logged out on the server.
        if (!(error instanceof MezuError) || !['token_expired', 'token_revoked', 'unauthenticated'].includes(error.code)) throw error
      }
    }
    clearToken(creds.name)
    this.log(`Logged out of ${creds.apiUrl} (context ${creds.name}).`)
    return {apiUrl: creds.apiUrl, context: creds.name, revoked}
  }
}
