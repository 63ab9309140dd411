import test from 'ava'
import {pickTunnelUrl} from '../../src/warpgate/supervisor.js'
import {tunnelEdgesOf} from '../../src/warpgate/warpgate.js'

test('an edge\'s connection slots are spread over its addresses, and a failed attempt moves a slot to the next one', (t) => {
  const urls = ['tls://a:1', 'tls://b:2']
  t.deepEqual([0, 1, 2, 3].map((slot) => pickTunnelUrl(urls, slot, 0)), ['tls://a:1', 'tls://b:2', 'tls://a:1', 'tls://b:2'])
  t.deepEqual([0, 1, 2].map((attempt) => pickTunnelUrl(urls, 0, attempt)), ['tls://a:1', 'tls://b:2', 'tls://a:1'])
})

test('a reply with only tunnelUrl or tunnelUrls (an older platform, or a saved state file) is one edge, "local"', (t) => {
  t.deepEqual(tunnelEdgesOf({tunnelUrl: 'tls://a:1'}), [{edge: 'local', urls: ['tls://a:1']}])
  t.deepEqual(tunnelEdgesOf({tunnelUrl: 'tls://a:1', tunnelUrls: []}), [{edge: 'local', urls: ['tls://a:1']}])
  t.deepEqual(tunnelEdgesOf({tunnelUrl: 'tls://a:1', tunnelUrls: ['tls://a:1', 'tls://b:2']}), [{edge: 'local', urls: ['tls://a:1', 'tls://b:2']}])
})

test('a reply with tunnelEdges is read edge by edge; one whose tunnelEdges does not read falls back to tunnelUrls', (t) => {
  const edges = [{edge: 'local', urls: ['tls://a:1']}, {edge: 'edg_0123456789abcdefghjk', urls: ['tls://b:2', 'tls://[::1]:3']}]
  t.deepEqual(tunnelEdgesOf({tunnelUrl: 'tls://a:1', tunnelUrls: ['tls://a:1', 'tls://b:2', 'tls://[::1]:3'], tunnelEdges: edges}), edges)
  t.deepEqual(tunnelEdgesOf({tunnelUrl: 'tls://a:1', tunnelUrls: ['tls://a:1'], tunnelEdges: []}), [{edge: 'local', urls: ['tls://a:1']}])
  t.deepEqual(tunnelEdgesOf({tunnelUrl: 'tls://a:1', tunnelEdges: [{edge: 'local', urls: ['https://a:1']}]}), [{edge: 'local', urls: ['tls://a:1']}])
})
