import {MezuCommand} from '../lib/base-command.js'
import {clearToken, readCredentials} from '../lib/credentials.js'
import {MezuError} from '../lib/errors.js'

export default class Logout extends MezuCommand<typeof Logout> {
  static override summary = 'Revoke this session on the platform and forget it locally.'
  static override examples = ['<%= config.bin %> logout']

  async run() {
    const creds = readCredentials()
    if (!creds?.token) throw new MezuError('not_logged_in', 'not logged in')
    let revoked = false
    if (creds.tokenKind !== 'api-key') {
      try {
        // The stored session, not MEZU_TOKEN: logout forgets what login saved.
        await this.api({token: creds.token}).delete('sessions/current')
        revoked = true
      } catch (error) {
        // An expired or revoked session is already logged out on the server.
        if (!(error instanceof MezuError) || !['token_expired', 'token_revoked', 'unauthenticated'].includes(error.code)) throw error
      }
    }
    clearToken()
    this.log(`Logged out of ${creds.apiUrl}.`)
    return {apiUrl: creds.apiUrl, revoked}
  }
}
