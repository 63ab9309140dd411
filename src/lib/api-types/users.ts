import type {Role} from './common.js'

export type UserStatus = 'active' | 'invited' | 'disabled'

export interface User {
  id: string
  email: string
  name: string
  role: Role
  status: UserStatus
  createdAt: string
  updatedAt: string
}

export interface LoginRecord {
  id: string
  at: string
  ip: string | null
  userAgent: string | null
  result: string
  method: string
}

export interface SessionInfo {
  id: string
  userId: string
  createdAt: string
  lastUsedAt: string
  expiresAt: string
  revokedAt: string | null
  ip: string | null
  userAgent: string | null
  client: string
}

export interface ServiceAccount {
  id: string
  name: string
  description: string
  scopes: string[]
  projectId: string | null
  status: 'active' | 'revoked' | 'expired'
  createdAt: string
  expiresAt: string | null
  revokedAt: string | null
}

export interface CreateServiceAccountRequest {
  name: string
  scopes: string[]
  projectId?: string
  description?: string
  /** ISO time, or a duration like 30d / 12h */
  expires?: string
}

export interface CreateServiceAccountResponse {
  serviceAccount: ServiceAccount
  /** Shown once; the platform keeps only a keyed hash. */
  apiKey: string
}
