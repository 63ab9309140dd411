/** A Warpgate the tunnel listener may admit: registered, not revoked. */
export interface AdmittedWarpgate {
  id: string
  name: string
  projectId: string
  environmentId: string
  service: string
}

/**
 * Which Warpgates may connect: the store-backed list in the control plane
 * (control/warpgate-admission.ts), or the edge channel's copy at an edge node.
 */
export interface Admission {
  admit(id: string): AdmittedWarpgate | undefined
  /** called when a Warpgate may no longer connect, so its live connections are closed */
  onRevoked(fn: (id: string) => void): () => void
}
