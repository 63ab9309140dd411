import type {AddressInfo, Server} from 'node:net'

/** Listens on host:port and resolves with the bound port (0 picks a free one); a bind error such as EADDRINUSE rejects. */
export async function listenOn(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return (server.address() as AddressInfo).port
}
