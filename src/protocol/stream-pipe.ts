import type {MuxStream} from './mux.js'

/** The writable side of a Node stream, as far as piping into it goes. */
export interface Sink {
  write(chunk: Buffer): boolean
  once(event: 'drain', listener: () => void): unknown
  readonly writableEnded?: boolean
  readonly destroyed?: boolean
}

/** The readable side of a Node stream that a mux stream's credit can hold back. */
export interface Source {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown
  pause(): unknown
  resume(): unknown
}

/**
 * Passes a mux stream's data into `dest`. Credit goes back to the sender only for bytes `dest`
 * accepted (write returned true, or it drained): what waits here is bounded by the stream window.
 * `count` sees every chunk (byte counters, body limits) and may return false to drop it.
 */
export function pipeStreamTo(s: MuxStream, dest: Sink, count?: (chunk: Buffer) => boolean): void {
  let owed = 0
  let waiting = false
  const drained = () => {
    waiting = false
    const n = owed
    owed = 0
    s.consumed(n)
  }
  s.onData = (chunk) => {
    if (count && !count(chunk)) return
    if (dest.writableEnded || dest.destroyed) return s.consumed(chunk.length)
    if (dest.write(chunk)) {
      if (waiting) owed += chunk.length
      else s.consumed(chunk.length)
      return
    }
    owed += chunk.length
    if (!waiting) {
      waiting = true
      dest.once('drain', drained)
    }
  }
}

/** Passes `src`'s data into a mux stream, pausing `src` while the stream waits for credit. */
export function pipeToStream(src: Source, s: MuxStream, count?: (chunk: Buffer) => void): void {
  s.onWritable = () => src.resume()
  src.on('data', (chunk) => {
    count?.(chunk)
    if (!s.write(chunk)) src.pause()
  })
}
