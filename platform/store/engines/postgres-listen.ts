import type pg from 'pg'
import type {PostgresEngine} from './postgres.js'

const MAX_BACKOFF_MS = 5_000

export interface ChannelListener {
  close(): Promise<void>
}

/**
 * LISTENs on one channel over a dedicated connection (not from the pool: a pooled client would be
 * handed back and its notifications lost). When the connection drops it reconnects with backoff;
 * `onConnected` runs after every (re)connect, so the caller can catch up on what it missed.
 * Payloads are handed over one at a time, in arrival order, which is commit order.
 */
export async function listenChannel(
  engine: PostgresEngine,
  channel: string,
  handlers: {onPayload(payload: string): Promise<void>; onConnected(): Promise<void>; onError(message: string): void},
): Promise<ChannelListener> {
  let client: pg.Client | undefined
  let closed = false
  let backoffMs = 100
  let timer: NodeJS.Timeout | undefined
  let chain: Promise<void> = Promise.resolve()

  const connect = async (): Promise<void> => {
    const c = await engine.connect()
    c.on('notification', (n) => {
      if (n.channel !== channel || !n.payload) return
      const payload = n.payload
      chain = chain.then(() => handlers.onPayload(payload)).catch((error: unknown) => handlers.onError(`a notification failed: ${(error as Error).message}`))
    })
    const lost = () => {
      if (client !== c) return
      client = undefined
      if (!closed) retry()
    }
    c.on('error', (error) => {
      handlers.onError(`lost its PostgreSQL connection: ${error.message}`)
      lost()
    })
    c.on('end', lost)
    await c.query(`LISTEN ${channel}`)
    client = c
    backoffMs = 100
    await handlers.onConnected()
  }

  const retry = (): void => {
    const wait = backoffMs
    backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS)
    timer = setTimeout(() => {
      connect().catch(() => {
        if (!closed) retry()
      })
    }, wait)
    timer.unref()
  }

  await connect()
  return {
    async close() {
      closed = true
      clearTimeout(timer)
      const c = client
      client = undefined
      await c?.end().catch(() => {})
    },
  }
}
