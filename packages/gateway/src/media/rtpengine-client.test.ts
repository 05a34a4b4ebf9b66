import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ManualClock, type Random } from '@switchboard/sip';
import { bencode, type BencodeDict, type BencodeValue } from './bencode.js';
import { isMediaError, MediaError, type MediaErrorCode } from './media-error.js';
import { RtpengineClient, type RtpengineClientOptions } from './rtpengine-client.js';
import { FakeNgServer, unusedUdpPort } from './test-support/fake-ng-server.js';

/** Cookies 0001…, 0002…: predictable, distinct. */
function countingRandom(): Random {
  let n = 0;
  return {
    bytes(length) {
      const out = new Uint8Array(length);
      out[length - 1] = ++n;
      return out;
    },
  };
}

interface CapturedLog {
  level: 'debug' | 'info' | 'warn';
  fields: Record<string, unknown>;
  message: string | undefined;
}

function capturingLogger(): { logger: RtpengineClientOptions['logger']; records: CapturedLog[] } {
  const records: CapturedLog[] = [];
  const at = (level: CapturedLog['level']) => (fields: unknown, message?: string) => {
    records.push({ level, fields: fields as Record<string, unknown>, message });
  };
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn') } as unknown as RtpengineClientOptions['logger'], records };
}

/** Settles a promise into a value or a MediaError, so that clock steps never meet an unhandled rejection. */
function outcome<T>(promise: Promise<T>): Promise<{ value: T } | { error: MediaError }> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => {
      if (!(error instanceof MediaError)) throw error;
      return { error };
    },
  );
}

async function expectError(promise: Promise<unknown>, code: MediaErrorCode, message?: RegExp): Promise<MediaError> {
  return assertFailed(await outcome(promise), code, message);
}

function assertFailed(result: { value: unknown } | { error: MediaError }, code: MediaErrorCode, message?: RegExp): MediaError {
  assert.ok('error' in result, `expected ${code}, got a value`);
  assert.equal(result.error.code, code, result.error.message);
  if (message) assert.match(result.error.message, message);
  return result.error;
}

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';

describe('RtpengineClient', () => {
  let server: FakeNgServer;
  let clock: ManualClock;
  let client: RtpengineClient;

  beforeEach(async () => {
    server = await FakeNgServer.start();
    clock = new ManualClock();
    client = new RtpengineClient({ host: '127.0.0.1', port: server.port, timeoutMs: 1000, clock, random: countingRandom() });
  });

  afterEach(async () => {
    await client.close();
    await server.close();
  });

  it('pings', async () => {
    server.autoReply = () => ({ result: 'pong' });
    await client.ping();
    assert.equal(server.received.length, 1);
    assert.equal(server.received[0]!.dict['command'], 'ping');
    assert.match(server.received[0]!.cookie, /^[0-9a-f]{16}$/);
  });

  it('writes an offer with the ng keys and returns the rewritten SDP', async () => {
    server.autoReply = () => ({ result: 'ok', sdp: 'v=0\r\nrewritten\r\n' });
    const reply = await client.offer({
      callId: 'call-1',
      fromTag: 'a',
      sdp: SDP,
      transportProtocol: 'RTP/AVP',
      ice: 'remove',
      dtls: 'off',
      sdes: ['off'],
      rtcpMux: ['demux'],
      replace: ['origin', 'session-connection'],
      flags: ['generate-mid'],
      codec: { strip: ['all'], except: ['PCMU'] },
    });
    assert.deepEqual(reply, { sdp: 'v=0\r\nrewritten\r\n', warning: undefined });
    const { codec, ...rest } = server.received[0]!.dict;
    assert.deepEqual(rest, {
      command: 'offer',
      'call-id': 'call-1',
      'from-tag': 'a',
      sdp: SDP,
      'transport-protocol': 'RTP/AVP',
      ICE: 'remove',
      DTLS: 'off',
      SDES: ['off'],
      'rtcp-mux': ['demux'],
      replace: ['origin', 'session-connection'],
      flags: ['generate-mid'],
    });
    assert.deepEqual({ ...(codec as object) }, { strip: ['all'], except: ['PCMU'] });
  });

  it('sends an answer with both tags, and a delete with the call id and the delay asked for', async () => {
    server.autoReply = (command): BencodeDict => (command.dict['command'] === 'delete' ? { result: 'ok' } : { result: 'ok', sdp: 'v=0\r\n' });
    await client.answer({ callId: 'c', fromTag: 'a', toTag: 'b', sdp: SDP });
    await client.delete({ callId: 'c' });
    await client.delete({ callId: 'c', delaySeconds: 0 });
    assert.equal(server.received[0]!.dict['to-tag'], 'b');
    assert.deepEqual({ ...server.received[1]!.dict }, { command: 'delete', 'call-id': 'c' });
    assert.deepEqual({ ...server.received[2]!.dict }, { command: 'delete', 'call-id': 'c', 'delete-delay': 0 });
  });

  it('plays a file to a participant and stops it, reading the length rtpengine gives when it gives one; blocks and unblocks what a participant sends', async () => {
    const durations: BencodeValue[] = [3500, 'long', -1];
    server.autoReply = (command): BencodeDict =>
      command.dict['command'] === 'play media' ? { result: 'ok', duration: durations.shift()! } : { result: 'ok', 'last-frame-pos': 12 };
    assert.deepEqual(await client.playMedia({ callId: 'c', fromTag: 'b', file: '/srv/hold.wav', repeatTimes: 3 }), { durationMs: 3500 });
    assert.deepEqual(await client.playMedia({ callId: 'c', fromTag: 'b', file: '/srv/hold.wav' }), { durationMs: undefined });
    assert.deepEqual(await client.playMedia({ callId: 'c', fromTag: 'b', file: '/srv/hold.wav' }), { durationMs: undefined });
    await client.stopMedia({ callId: 'c', fromTag: 'b' });
    await client.blockMedia({ callId: 'c', fromTag: 'a' });
    await client.unblockMedia({ callId: 'c', fromTag: 'a' });
    assert.deepEqual({ ...server.received[0]!.dict }, { command: 'play media', 'call-id': 'c', 'from-tag': 'b', file: '/srv/hold.wav', 'repeat-times': 3 });
    assert.deepEqual({ ...server.received[1]!.dict }, { command: 'play media', 'call-id': 'c', 'from-tag': 'b', file: '/srv/hold.wav' });
    assert.deepEqual(server.received.slice(3).map((c) => ({ ...c.dict })), [
      { command: 'stop media', 'call-id': 'c', 'from-tag': 'b' },
      { command: 'block media', 'call-id': 'c', 'from-tag': 'a' },
      { command: 'unblock media', 'call-id': 'c', 'from-tag': 'a' },
    ]);
  });

  it('retransmits the same datagram with doubling intervals until a reply comes', async () => {
    const pending = outcome(client.ping());
    const first = await server.next();
    clock.advance(199);
    clock.advance(1);
    const second = await server.next();
    clock.advance(400);
    const third = await server.next();
    assert.deepEqual(second.raw, first.raw);
    assert.deepEqual(third.raw, first.raw);
    server.reply(third, { result: 'pong' });
    assert.deepEqual(await pending, { value: undefined });
    assert.equal(clock.pending, 0, 'no timer left behind');
  });

  it('fails with unreachable after timeoutMs, naming the address, having retransmitted within the time only', async () => {
    const { logger, records } = capturingLogger();
    await client.close();
    client = new RtpengineClient({ host: '127.0.0.1', port: server.port, timeoutMs: 1000, clock, random: countingRandom(), logger });
    const pending = outcome(client.offer({ callId: 'c', fromTag: 'a', sdp: SDP }));
    await server.next();
    clock.advance(200);
    await server.next();
    clock.advance(400);
    await server.next();
    clock.advance(399);
    assert.equal(clock.pending, 1, 'only the deadline is left: a fourth send would come after it');
    clock.advance(1);
    const error = assertFailed(await pending, 'unreachable');
    assert.match(error.message, new RegExp(`rtpengine at 127\\.0\\.0\\.1:${server.port} did not answer ng offer within 1000 ms \\(3 attempts\\)`));
    assert.match(error.message, /may be down/);
    assert.equal(server.received.length, 3);
    assert.ok(records.some((r) => r.level === 'warn' && r.message === 'rtpengine did not answer'));
    assert.ok(records.every((r) => r.level === 'debug' || !JSON.stringify(r.fields).includes('v=0')), 'SDP only at debug level');
  });

  it('fails with unreachable when nothing listens at the address', async () => {
    const port = await unusedUdpPort();
    const lonely = new RtpengineClient({ host: '127.0.0.1', port, timeoutMs: 300, clock });
    try {
      const pending = outcome(lonely.ping());
      clock.advance(300);
      assertFailed(await pending, 'unreachable', new RegExp(`127\\.0\\.0\\.1:${port}.*may be down`));
    } finally {
      await lonely.close();
    }
  });

  it('reports rtpengine errors as refused, with its reason', async () => {
    server.autoReply = () => ({ result: 'error', 'error-reason': 'Unknown call-id' });
    await expectError(client.answer({ callId: 'c', fromTag: 'a', toTag: 'b', sdp: SDP }), 'refused', /refused ng answer: Unknown call-id/);
    server.autoReply = () => ({ result: 'load limit' });
    await expectError(client.ping(), 'refused', /over its load limit/);
  });

  it('matches replies to commands by cookie, whatever their order', async () => {
    const first = outcome(client.offer({ callId: 'one', fromTag: 'a', sdp: SDP }));
    const second = outcome(client.offer({ callId: 'two', fromTag: 'a', sdp: SDP }));
    const a = await server.next();
    const b = await server.next();
    assert.notEqual(a.cookie, b.cookie);
    const byCall = new Map([a, b].map((c) => [c.dict['call-id'], c]));
    server.reply(byCall.get('two')!, { result: 'ok', sdp: 'v=0\r\ntwo\r\n' });
    server.reply(byCall.get('one')!, { result: 'ok', sdp: 'v=0\r\none\r\n' });
    assert.deepEqual(await first, { value: { sdp: 'v=0\r\none\r\n', warning: undefined } });
    assert.deepEqual(await second, { value: { sdp: 'v=0\r\ntwo\r\n', warning: undefined } });
  });

  it('ignores garbage, unknown cookies and duplicate replies', async () => {
    const pending = outcome(client.offer({ callId: 'c', fromTag: 'a', sdp: SDP }));
    const command = await server.next();
    server.sendRaw(command.from, Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    server.sendRaw(command.from, Buffer.from('no-such-cookie d6:result5:errore'));
    server.reply(command, { result: 'ok', sdp: 'v=0\r\nfirst\r\n' });
    server.reply(command, { result: 'error', 'error-reason': 'a duplicate must not count' });
    assert.deepEqual(await pending, { value: { sdp: 'v=0\r\nfirst\r\n', warning: undefined } });
    // The duplicate reached the socket too; the next command still works and gets its own reply.
    server.autoReply = () => ({ result: 'pong' });
    await client.ping();
  });

  it('ignores replies from another address than rtpengine', async () => {
    const stranger = await FakeNgServer.start();
    try {
      const pending = outcome(client.ping());
      const command = await server.next();
      stranger.sendRaw(command.from, Buffer.concat([Buffer.from(`${command.cookie} `), bencode({ result: 'error', 'error-reason': 'spoofed' })]));
      server.reply(command, { result: 'pong' });
      assert.deepEqual(await pending, { value: undefined });
    } finally {
      await stranger.close();
    }
  });

  it('fails with invalid-reply on a malformed reply to a pending command', async () => {
    const pending = outcome(client.ping());
    const command = await server.next();
    server.sendRaw(command.from, Buffer.from(`${command.cookie} d6:result`));
    assertFailed(await pending, 'invalid-reply', /unusable reply to ng ping: malformed bencode/);
  });

  it('fails with invalid-reply when an offer reply has no SDP or an unknown result', async () => {
    server.autoReply = () => ({ result: 'ok' });
    await expectError(client.offer({ callId: 'c', fromTag: 'a', sdp: SDP }), 'invalid-reply', /no SDP/);
    server.autoReply = () => ({ result: 'maybe' });
    await expectError(client.ping(), 'invalid-reply', /unknown result "maybe"/);
    server.autoReply = () => ({ result: 'ok' });
    await expectError(client.ping(), 'invalid-reply', /instead of "pong"/);
  });

  it('passes on a warning and logs it', async () => {
    const { logger, records } = capturingLogger();
    await client.close();
    client = new RtpengineClient({ host: '127.0.0.1', port: server.port, timeoutMs: 1000, clock, logger });
    server.autoReply = () => ({ result: 'ok', sdp: 'v=0\r\n', warning: 'Unknown codec' });
    const reply = await client.offer({ callId: 'c', fromTag: 'a', sdp: SDP });
    assert.equal(reply.warning, 'Unknown codec');
    assert.ok(records.some((r) => r.level === 'warn' && r.fields['warning'] === 'Unknown codec'));
  });

  it('ends pending commands with closed, and refuses new ones', async () => {
    const pending = outcome(client.ping());
    await server.next();
    await client.close();
    assertFailed(await pending, 'closed');
    await expectError(client.ping(), 'closed');
    assert.equal(clock.pending, 0);
    await client.close();
  });

  it('refuses impossible settings and unencodable commands', async () => {
    assert.throws(() => new RtpengineClient({ host: '127.0.0.1', port: 0, timeoutMs: 100 }), (e: unknown) => isMediaError(e, 'invalid-argument'));
    assert.throws(() => new RtpengineClient({ host: '127.0.0.1', port: 22222, timeoutMs: 0 }), (e: unknown) => isMediaError(e, 'invalid-argument'));
    await expectError(client.command('offer', { 'call-id': 'c', ptime: 0.5 }), 'invalid-argument', /ptime is 0\.5/);
  });

  it('names an IPv6 address in brackets', () => {
    const v6 = new RtpengineClient({ host: '[::1]', port: 22222, timeoutMs: 100 });
    assert.equal(v6.address, '[::1]:22222');
    assert.equal(v6.host, '::1');
  });
});
