import {sameTunnelEdges, type TunnelEdge} from '../../../src/protocol/tunnel.js'

/**
 * Every edge's tunnel addresses, as Warpgates are told them: in the certificate answer (control
 * plane) and in an `edges` CONTROL message on each tunnel connection (edge), again on each change.
 */
export interface TunnelDirectory {
  current(): readonly TunnelEdge[]
  /** called with the new list after each change; returns the unsubscribe */
  onChange(fn: (edges: readonly TunnelEdge[]) => void): () => void
}

/** A directory set by its owner: the composition root for the in-process edge, the edge stream for a remote one. */
export class MutableTunnelDirectory implements TunnelDirectory {
  private edges: readonly TunnelEdge[]
  private readonly listeners = new Set<(edges: readonly TunnelEdge[]) => void>()

  constructor(edges: readonly TunnelEdge[] = []) {
    this.edges = snapshot(edges)
  }

  current(): readonly TunnelEdge[] {
    return this.edges
  }

  onChange(fn: (edges: readonly TunnelEdge[]) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  /** Replaces the list; listeners hear of it only when its content changed. */
  set(edges: readonly TunnelEdge[]): void {
    if (sameTunnelEdges(edges, this.edges)) return
    // swapped whole, never edited in place: a session may still be sending the previous list
    this.edges = snapshot(edges)
    for (const fn of [...this.listeners]) fn(this.edges)
  }
}

function snapshot(edges: readonly TunnelEdge[]): readonly TunnelEdge[] {
  return Object.freeze(edges.map((e) => Object.freeze({edge: e.edge, urls: Object.freeze([...e.urls]) as string[]})))
}
