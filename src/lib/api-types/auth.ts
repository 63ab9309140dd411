import type {Principal, Role} from './common.js'

export interface CreateSessionRequest {
  email: string
  password: string
  client?: string
}

export interface CreateSessionResponse {
  token: string
  session: {id: string; expiresAt: string}
  user: {id: string; email: string; name: string; role: Role}
}

export interface WhoAmI {
  principal: Principal
  apiUrl?: string
  /** where end users reach the edge, and where Warpgates dial in (as the platform advertises them) */
  edgeUrl?: string
  tunnelUrl?: string
  /** every advertised tunnel address (tunnelUrl is the first) */
  tunnelUrls?: string[]
}

/** POST /v1/device-logins: start a web login (the OAuth device authorization grant, RFC 8628). */
export interface StartDeviceLoginRequest {
  /** what is logging in, kept in the session and the login history (default `cli`) */
  client?: string
}

export interface DeviceLoginStart {
  /** the secret the CLI polls with; shown to nobody */
  deviceCode: string
  /** the short code the person confirms in the browser, XXXX-XXXX */
  userCode: string
  /** https://auth.<domain>[:port]/device */
  verificationUrl: string
  /** the same with ?code=<userCode> */
  verificationUrlComplete: string
  /** seconds until both codes expire */
  expiresIn: number
  /** seconds to wait between polls */
  interval: number
}

/** POST /v1/device-logins/token: answers a session like POST /v1/sessions once approved. */
export interface DeviceLoginTokenRequest {
  deviceCode: string
}
