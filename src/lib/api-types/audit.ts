export interface AuditEntry {
  id: string
  at: string
  actor: {kind: 'user' | 'service-account' | 'system' | 'anonymous'; id: string | null; name: string | null}
  action: string
  target: {type: string; id: string | null; name?: string | null}
  ip: string | null
  details?: Record<string, unknown>
}
