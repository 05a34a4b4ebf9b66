import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseUri, UserAgent } from '@switchboard/sip';
import { createTransport } from '@switchboard/sip/node';
import { pino } from 'pino';
import { startSipListener } from './sip-listener.js';

describe('SIP listener', () => {
  it('at debug level, traces every message in and out, with credentials masked', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const listener = await startSipListener({ host: '127.0.0.1', port: 0 }, logger);
    const transport = await createTransport({ protocol: 'udp', host: '127.0.0.1', port: 0 });
    const ua = new UserAgent({ transports: [transport] });
    try {
      const options = ua.createRequest('OPTIONS', parseUri(`sip:127.0.0.1:${listener.udp.port}`), { from: parseUri('sip:probe@127.0.0.1') });
      options.append('Authorization', 'Digest username="probe", realm="x", nonce="n", uri="sip:x", response="0123456789abcdef0123456789abcdef"');
      assert.equal((await ua.request(options, listener.udp)).status, 200);
      const traced = lines.map((line) => JSON.parse(line) as { msg: string; dir?: string; sip?: string }).filter((entry) => entry.msg === 'SIP message');
      assert.deepEqual(traced.map((entry) => entry.dir), ['in', 'out']);
      assert.match(traced[0]?.sip ?? '', /^OPTIONS sip:/);
      assert.match(traced[0]?.sip ?? '', /Authorization: \[credentials\]/);
      assert.match(traced[1]?.sip ?? '', /^SIP\/2.0 200 OK/);
      assert.equal(lines.join('\n').includes('0123456789abcdef0123456789abcdef'), false, 'the digest response is not logged');
    } finally {
      await ua.close();
      await transport.close();
      await listener.close();
    }
  });

  it('at info level, traces nothing', async () => {
    const lines: string[] = [];
    const listener = await startSipListener({ host: '127.0.0.1', port: 0 }, pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }));
    const transport = await createTransport({ protocol: 'udp', host: '127.0.0.1', port: 0 });
    const ua = new UserAgent({ transports: [transport] });
    try {
      const options = ua.createRequest('OPTIONS', parseUri(`sip:127.0.0.1:${listener.udp.port}`), { from: parseUri('sip:probe@127.0.0.1') });
      assert.equal((await ua.request(options, listener.udp)).status, 200);
      assert.equal(lines.some((line) => line.includes('SIP message')), false);
    } finally {
      await ua.close();
      await transport.close();
      await listener.close();
    }
  });
});
