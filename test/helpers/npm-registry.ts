import {createServer, type IncomingMessage, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import type {ExecutionContext} from 'ava'

/** How the fake registry answers `GET /<package>/latest`. */
export type RegistryAnswer = {version: string} | 'hang' | {status: number; body: string}

export interface FakeRegistry {
  url: string
  /** the paths asked for, in order */
  requests: string[]
  answer: RegistryAnswer
}

/** An npm registry on 127.0.0.1:0 that counts the requests it gets; closed when the test ends. */
export async function startFakeRegistry(t: ExecutionContext, answer: RegistryAnswer): Promise<FakeRegistry> {
  const registry: FakeRegistry = {url: '', requests: [], answer}
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    registry.requests.push(req.url ?? '')
    const a = registry.answer
    if (a === 'hang') return
    if ('version' in a) {
      res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({name: 'mezusphere', version: a.version}))
      return
    }
    res.writeHead(a.status, {'content-type': 'application/json'}).end(a.body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  registry.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return registry
}
