import {Flags} from '@oclif/core'
import {normaliseApiUrl} from '../lib/api-url.js'
import {MezuCommand} from '../lib/base-command.js'
import {loginApiUrl, loginContextName} from '../lib/credentials.js'
import {MezuError} from '../lib/errors.js'
import {acceptInvite, checkNewPassword} from '../lib/invite.js'
import {readStdin} from '../lib/prompt.js'
import {loginWithPassword, loginWithToken, resolveLoginCa} from '../lib/session.js'
import {announceWebLogin, loginWithWeb, stopOnInterrupt} from '../lib/web-login.js'

export default class Login extends MezuCommand<typeof Login> {
  static override summary = 'Log in to a platform and pin its CA; adds or updates a context (named by the API host unless --context) and makes it current.'
  static override description = 'With --web it prints a URL on auth.<domain> and a short code (under --json as one device_code event on stderr, so stdout keeps its one result document), opens the browser when a person is at a terminal (not in CI), and waits while you approve or deny the code in a browser signed in there; Ctrl-C stops waiting (exit 130). With --invite it sets your password (at least 8 characters) from a one-time invitation code.'
  static override examples = [
    '<%= config.bin %> login --api-url https://127.0.0.1:7443',
    'echo "$PASSWORD" | <%= config.bin %> login --api-url https://127.0.0.1:7443 --ca-file ca.pem --email you@example.com --password-stdin',
    'echo "$MEZU_SA_KEY" | <%= config.bin %> login --token-stdin --json',
    '<%= config.bin %> login --api-url https://127.0.0.1:7443 --ca-file ca.pem --invite mezu_inv_...',
    '<%= config.bin %> login --web --api-url https://127.0.0.1:7443 --ca-file ca.pem',
    '<%= config.bin %> login --api-url https://mezu.example:7443 --context prod',
  ]

  static override flags = {
    email: Flags.string({description: 'your email'}),
    'password-stdin': Flags.boolean({description: 'read the password from stdin', exclusive: ['token-stdin']}),
    'token-stdin': Flags.boolean({description: 'read a service-account API key (or session token) from stdin', exclusive: ['password-stdin', 'email']}),
    invite: Flags.string({description: 'accept an invitation: set your new password with this one-time code', exclusive: ['token-stdin', 'email']}),
    web: Flags.boolean({description: 'log in by approving a short code in a browser signed in on auth.<domain>', exclusive: ['email', 'password-stdin', 'token-stdin', 'invite']}),
    context: Flags.string({description: 'name of the context to add or update (default: MEZU_CONTEXT, else the one already logged in to this address, else the API host, e.g. 127.0.0.1:7443)'}),
    browser: Flags.boolean({description: 'with --web: open the browser when at a terminal', default: true, allowNo: true}),
  }

  async run() {
    const f = this.flags
    let apiUrl = f['api-url'] ?? loginApiUrl()
    if (!apiUrl) apiUrl = await this.ask('api-url', 'Platform address (https://host:port)')
    apiUrl = normaliseApiUrl(apiUrl)
    const context = f.context ?? loginContextName(apiUrl)
    const caPem = await resolveLoginCa(apiUrl, {caFile: f['ca-file'], interactive: this.canPrompt(), log: (s) => this.log(s)})

    if (f.web) {
      const {session} = await stopOnInterrupt((signal) => loginWithWeb(apiUrl, caPem, {
        signal,
        context,
        onStart: (start) => announceWebLogin(start, {json: this.jsonEnabled(), browser: f.browser}),
      }))
      this.log(`Logged in to ${apiUrl} (context ${context}) as ${session.user.email} (${session.user.role}).`)
      return {apiUrl, context, user: session.user, session: session.session}
    }

    if (f['token-stdin']) {
      const token = (await readStdin()).trim()
      if (!token) throw new MezuError('bad_input', 'no token on stdin')
      const {me} = await loginWithToken(apiUrl, caPem, token, context)
      this.log(`Logged in to ${apiUrl} (context ${context}) as ${me.principal.kind} ${me.principal.name}.`)
      return {apiUrl, context, principal: me.principal}
    }

    if (f.invite) {
      const password = f['password-stdin'] ? await readStdin() : await this.ask('password-stdin', 'New password (at least 8 characters)', {secret: true})
      checkNewPassword(password, f['password-stdin'] ? undefined : await this.ask('password-stdin', 'Repeat the new password', {secret: true}))
      const {session} = await acceptInvite(apiUrl, caPem, f.invite, password, context)
      this.log(`Password set. Logged in to ${apiUrl} (context ${context}) as ${session.user.email} (${session.user.role}).`)
      return {apiUrl, context, user: session.user, session: session.session}
    }

    const email = f.email ?? (await this.ask('email', 'Email'))
    const password = f['password-stdin'] ? await readStdin() : await this.ask('password-stdin', 'Password', {secret: true})
    if (!password) throw new MezuError('bad_input', 'empty password')
    const {session} = await loginWithPassword(apiUrl, caPem, email, password, context)
    this.log(`Logged in to ${apiUrl} (context ${context}) as ${session.user.email} (${session.user.role}).`)
    return {apiUrl, context, user: session.user, session: session.session}
  }
}
