import test from 'ava'
import {pickTunnelUrl} from '../../src/warpgate/warpgate.js'

test('connection slots are spread over every advertised tunnel address, and a failed attempt moves a slot to the next one', (t) => {
  const info = {tunnelUrl: 'tls://a:1', tunnelUrls: ['tls://a:1', 'tls://b:2']}
  t.deepEqual([0, 1, 2, 3].map((slot) => pickTunnelUrl(info, slot, 0)), ['tls://a:1', 'tls://b:2', 'tls://a:1', 'tls://b:2'])
  t.deepEqual([0, 1, 2].map((attempt) => pickTunnelUrl(info, 0, attempt)), ['tls://a:1', 'tls://b:2', 'tls://a:1'])
})

test('a reply with only tunnelUrl (an older platform, or a saved state file) still works', (t) => {
  t.is(pickTunnelUrl({tunnelUrl: 'tls://a:1'}, 3, 5), 'tls://a:1')
  t.is(pickTunnelUrl({tunnelUrl: 'tls://a:1', tunnelUrls: []}, 1, 0), 'tls://a:1')
})
