import pino from 'pino'
import type {RequestLogEntry} from '../src/lib/api-types/index.js'

type Destination = ReturnType<typeof pino.destination>

/**
 * `--access-log FILE|-`: one JSON line per request the edge served, with the fields of a `mezu
 * logs` entry (request id included; never a body, header value, cookie, token or query string).
 * Lines go through pino's asynchronous destination (sonic-boom, sync: false): a request only
 * appends to a buffer, and the file is written in batches off the request's path.
 */
export class AccessLog {
  private readonly dest: Destination
  private closed = false

  constructor(readonly target: string) {
    this.dest = pino.destination({dest: target === '-' ? 1 : target, sync: false, mkdir: true, append: true})
    // a full disk or a removed file must not take the platform down; the request log ring goes on
    this.dest.on('error', () => {})
  }

  write(entry: RequestLogEntry): void {
    if (!this.closed) this.dest.write(JSON.stringify(entry) + '\n')
  }

  /** Writes what is buffered and closes the file (stdout stays open); safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await new Promise<void>((resolve) => {
      if (this.target === '-') {
        this.dest.flush(() => resolve())
        return
      }
      this.dest.once('close', () => resolve())
      this.dest.once('error', () => resolve())
      this.dest.end()
    })
  }
}
