/** A writable side that can be corked (net/tls sockets, http requests and responses, HTTP/2 streams). */
export interface Corkable {
  cork(): void
  uncork(): void
  write(chunk: Buffer): boolean
  readonly writableEnded: boolean
  on(event: 'drain', listener: () => void): unknown
}

/** The readable side whose flow a batch writer holds back. */
export interface Pausable {
  pause(): unknown
  resume(): unknown
}

/**
 * Returns a write function that passes chunks from `source` to `dest`, writing every chunk that
 * arrives in the same tick as one batch: `dest` is corked on the first and uncorked on the next
 * tick. A TLS socket then encrypts and sends a tunnel read's worth of data (several 16 KiB
 * records) in one write instead of one syscall and one trip through the stream machinery per
 * record. Back-pressure is applied per batch: when `dest` asked for a drain, `source` pauses until
 * it drains, so at most one batch more than `dest`'s high-water mark is ever buffered.
 */
export function batchWriter(dest: Corkable, source: Pausable): (chunk: Buffer) => void {
  let corked = false
  let full = false
  const flush = () => {
    corked = false
    // end() uncorks fully on its own
    if (dest.writableEnded) return
    dest.uncork()
    if (full) source.pause()
  }
  dest.on('drain', () => {
    full = false
    source.resume()
  })
  return (chunk) => {
    if (!corked) {
      corked = true
      dest.cork()
      process.nextTick(flush)
    }
    if (!dest.write(chunk)) full = true
  }
}
