import type {ActiveAcmeConfig} from '../../acme-config.js'
import {AcmeHttpListener} from '../../edge/acme-http.js'
import type {ConfigSource} from '../../edge/config-source.js'
import type {ControlContext} from '../context.js'
import {AcmeManager} from './manager.js'

/**
 * ACME wiring for the composition root: the manager (the edge's certificate resolver, the API's
 * status view) and, with --acme-http-port, the plain-HTTP listener for HTTP-01 and redirects.
 * Orders start once the edge listens, since TLS-ALPN-01 is answered there.
 */
export function startAcme(ctx: ControlContext, source: ConfigSource, edgePort: () => number) {
  const config = ctx.config.acme as ActiveAcmeConfig
  const manager = new AcmeManager({config, cdb: ctx.cdb, source, authHost: `auth.${ctx.config.domain}`, log: ctx.log})
  const http = config.httpPort === undefined ? undefined : new AcmeHttpListener({
    host: ctx.config.host, port: config.httpPort, keyAuthorization: (token) => manager.keyAuthorization(token), httpsPort: edgePort,
  })
  ctx.acme = manager
  const wired = {
    manager,
    httpPort: null as number | null,
    async listen() {
      if (http) wired.httpPort = await http.listen()
      await manager.start()
    },
    async stop() {
      await manager.stop()
      await http?.close()
    },
  }
  return wired
}
