import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DEFAULT_UDP_RECEIVE_BUFFER_BYTES } from './transport-base.js';
import { UdpTransport } from './udp-transport.js';

/** What SO_RCVBUF can reach without privileges: the kernel caps a request at net.core.rmem_max. */
const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));

test('the UDP receive buffer is enlarged to the default, or as asked, up to what the kernel allows', async () => {
  for (const [asked, expected] of [[undefined, DEFAULT_UDP_RECEIVE_BUFFER_BYTES], [1 << 20, 1 << 20]] as const) {
    const transport = await UdpTransport.listen({ protocol: 'udp', host: '127.0.0.1', port: 0, ...(asked === undefined ? {} : { receiveBufferBytes: asked }) });
    try {
      assert.ok(transport.receiveBufferSize >= Math.min(expected, rmemMax), `${transport.receiveBufferSize} bytes for ${expected} asked (rmem_max ${rmemMax})`);
      assert.ok(transport.receiveBufferSize <= 2 * Math.min(expected, rmemMax), 'no more than asked, doubled for the kernel');
    } finally {
      await transport.close();
    }
  }
});
