import type {DeviceLoginLookup, EdgeAuthority, LoginOutcome, RedeemedCallback} from '../edge-authority.js'
import type {ControlChannel} from './control-channel.js'

/**
 * EdgeAuthority for a remote edge: every call goes over the control channel, and only the token
 * hash is computed here (with the key the channel's hello carries). While the control plane is
 * away, logins and invitations fail with a clear error page; already signed-in users go on.
 */
export function remoteAuthority(channel: ControlChannel, tokenHash: (token: string) => string): EdgeAuthority {
  return {
    hashToken: tokenHash,
    login: (input) => channel.call<LoginOutcome>('login', input),
    // last-use times are a best effort: the idle timeout only loses precision when they are dropped
    touchSessions: (entries) => channel.call<void>('touchSessions', {entries}).catch(() => undefined),
    logout: (token) => channel.call<void>('logout', {token}),
    invitation: (code) => channel.call<{ok: true; email: string} | {ok: false}>('invitation', {code}),
    acceptInvitation: (input) => channel.call('acceptInvitation', input),
    deviceLogin: (input) => channel.call<DeviceLoginLookup>('deviceLogin', input),
    decideDeviceLogin: (input) => channel.call<DeviceLoginLookup>('decideDeviceLogin', input),
    issueCallbackCode: (input) => channel.call<string>('issueCallbackCode', input),
    consumeCallbackCode: async (input) => (await channel.call<RedeemedCallback | null>('consumeCallbackCode', input)) ?? undefined,
  }
}
