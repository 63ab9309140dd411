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
}
