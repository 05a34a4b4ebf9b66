import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DigestClient } from '../auth/digest-client.js';
import { DigestServer } from '../auth/digest-server.js';
import { ManualClock, type Random } from '../clock.js';
import type { SipRequest } from '../message/sip-message.js';
import { nodeDigestHasher } from '../node/node-digest-hash.js';
import { MemoryNetwork } from '../test-support/memory-network.js';
import { nextHop } from './next-hop.js';
import { UserAgent } from './user-agent.js';

let counter = 0;
const random: Random = { bytes: (n) => Uint8Array.from({ length: n }, () => (counter = (counter * 31 + 7) % 251)) };
const hasher = nodeDigestHasher;

function pair(protocol: 'udp' | 'tcp' = 'udp') {
  const network = new MemoryNetwork();
  const clock = new ManualClock(1_000_000);
  const alice = new UserAgent({ transports: [network.transport(protocol, '127.0.0.1', 5070)], clock, random });
  const bob = new UserAgent({ transports: [network.transport(protocol, '127.0.0.1', 5080)], clock, random });
  return { network, clock, alice, bob, bobAddress: { protocol, host: '127.0.0.1', port: 5080 } as const };
}

function invite(ua: UserAgent): SipRequest {
  const request = ua.createRequest('INVITE', 'sip:bob@127.0.0.1:5080', { from: 'sip:alice@127.0.0.1', contact: ua.contact('alice') });
  request.setBody('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n', 'application/sdp');
  return request;
}

describe('UserAgent', () => {
  test('new requests carry §8.1.1 headers and a Via of the sending transport', async () => {
    const { network, alice, bobAddress } = pair();
    const request = alice.createRequest('REGISTER', 'sip:127.0.0.1:5080', { from: 'sip:alice@example.com', contact: alice.contact('alice') });
    assert.equal(request.to?.uri.type === 'sip' && request.to.uri.user, 'alice', 'REGISTER: To is the address-of-record');
    assert.ok(request.fromTag && request.fromTag.length >= 8);
    assert.equal(request.maxForwards, 70);
    alice.sendRequest(request, bobAddress);
    await network.settle();
    const via = request.via!;
    assert.equal(via.transport, 'UDP');
    assert.equal(`${via.host}:${via.port}`, '127.0.0.1:5070');
    assert.match(via.params.get('branch') ?? '', /^z9hG4bK/);
    assert.ok(via.params.has('rport'));
    assert.equal(network.sent((text) => text.startsWith('REGISTER')).length, 1);
    // Nobody handles requests at bob: the UA answers for the application rather than leaving the transaction open.
    assert.equal(network.sent((text) => text.startsWith('SIP/2.0 501')).length, 1);
  });

  test('a challenged request is retried once with credentials and the next CSeq', async () => {
    const { network, alice, bob, bobAddress, clock } = pair();
    const server = new DigestServer({ realm: 'example.com', secret: new Uint8Array(32).fill(7), hasher, clock, random, lookup: (user) => (user === 'alice' ? 'right' : undefined) });
    bob.on('request', async (incoming) => {
      const result = await server.verify(incoming.request, { header: 'authorization' });
      if (result.ok) incoming.respond(200);
      else incoming.respond(401, { headers: server.challenge(incoming.request, { stale: result.stale }).map((value) => ['WWW-Authenticate', formatChallenge(value)] as const) });
    });
    const send = (password: string) => {
      const request = alice.createRequest('REGISTER', 'sip:127.0.0.1:5080', { from: 'sip:alice@example.com' });
      const digest = new DigestClient({ credentials: { username: 'alice', password }, hasher, random });
      const done = alice.request(request, bobAddress, { digest });
      return done;
    };
    const pending = send('right');
    for (let i = 0; i < 5; i++) await network.settle();
    const ok = await pending;
    assert.equal(ok.status, 200);
    assert.deepEqual(network.sent((text) => text.startsWith('REGISTER')).map((d) => /CSeq: (\d+)/.exec(d.text)![1]), ['1', '2']);

    const refused = send('wrong');
    for (let i = 0; i < 5; i++) await network.settle();
    assert.equal((await refused).status, 401, 'the second challenge is the answer, not a loop');
    assert.equal(network.sent((text) => text.startsWith('REGISTER')).length, 4);
  });

  test('a 2xx to an INVITE is sent again at T1, 2T1, 4T1... until the ACK, over UDP', async () => {
    const { network, clock, alice, bob, bobAddress } = pair();
    bob.on('request', (incoming) => incoming.respond(200, { body: 'v=0\r\n', contentType: 'application/sdp' }));
    const request = invite(alice);
    alice.sendInvite(request, bobAddress);
    await network.settle();
    const okCount = () => network.sent((text) => text.startsWith('SIP/2.0 200')).length;
    assert.equal(okCount(), 1);
    clock.advance(500);
    await network.settle();
    assert.equal(okCount(), 2);
    clock.advance(1000);
    await network.settle();
    assert.equal(okCount(), 3);
    // Now the caller ACKs: retransmissions stop.
    const ack = request.withMethod('ACK');
    for (const name of ['From', 'Call-ID']) ack.set(name, request.get(name)!);
    const response = network.sent((text) => text.startsWith('SIP/2.0 200'))[0]!.text;
    ack.set('To', /\r\nTo: ([^\r]+)/.exec(response)![1]!);
    ack.set('CSeq', { seq: request.cseq!.seq, method: 'ACK' });
    ack.set('Max-Forwards', 70);
    let acked = 0;
    bob.on('ack', () => acked++);
    await alice.sendAck(ack, nextHop(ack));
    await network.settle();
    assert.equal(acked, 1);
    clock.advance(60_000);
    await network.settle();
    assert.equal(okCount(), 3, 'no retransmission after the ACK');
  });

  test('a 2xx never ACKed ends in ack-timeout after 64*T1', async () => {
    const { network, clock, alice, bob, bobAddress } = pair();
    bob.on('request', (incoming) => incoming.respond(200));
    const timeouts: string[] = [];
    bob.on('ack-timeout', ({ request }) => timeouts.push(request.callId!));
    alice.sendInvite(invite(alice), bobAddress);
    await network.settle();
    for (let t = 0; t < 40; t++) {
      clock.advance(1000);
      await network.settle();
    }
    assert.equal(timeouts.length, 1);
    const sends = network.sent((text) => text.startsWith('SIP/2.0 200')).length;
    assert.ok(sends >= 9 && sends <= 12, `1 + retransmissions capped at T2 over 32 s, got ${sends}`);
  });

  test('CANCEL of a ringing INVITE: 200 to the CANCEL, 487 to the INVITE', async () => {
    const { network, alice, bob, bobAddress } = pair();
    bob.on('request', (incoming) => {
      if (incoming.request.method === 'INVITE') incoming.respond(180);
    });
    const cancelled: string[] = [];
    bob.on('cancelled', ({ request }) => cancelled.push(request.method));
    const transaction = alice.sendInvite(invite(alice), bobAddress);
    const finals: number[] = [];
    transaction.on('response', ({ response }) => { if (response.status >= 200) finals.push(response.status); });
    await network.settle();
    await alice.transactions.cancel(transaction);
    for (let i = 0; i < 3; i++) await network.settle();
    assert.deepEqual(finals, [487]);
    assert.deepEqual(cancelled, ['INVITE']);
    assert.equal(network.sent((text) => text.startsWith('SIP/2.0 200') && /CSeq: \d+ CANCEL/.test(text)).length, 1);
  });

  test('requests §8.2 refuses never reach the application; OPTIONS is answered', async () => {
    const { network, alice, bob, bobAddress } = pair('tcp');
    const seen: string[] = [];
    bob.on('request', (incoming) => {
      seen.push(incoming.request.method);
      incoming.respond(200);
    });
    const request = alice.createRequest('MESSAGE', 'sip:bob@127.0.0.1:5080', { from: 'sip:alice@127.0.0.1' });
    request.append('Require', 'no-such-extension');
    const refused = alice.request(request, bobAddress);
    for (let i = 0; i < 3; i++) await network.settle();
    const response = await refused;
    assert.equal(response.status, 420);
    assert.equal(response.get('Unsupported'), 'no-such-extension');
    assert.deepEqual(seen, []);

    const lonely = new UserAgent({ transports: [network.transport('tcp', '127.0.0.1', 5090)] });
    const options = alice.request(alice.createRequest('OPTIONS', 'sip:127.0.0.1:5090', { from: 'sip:alice@127.0.0.1' }), { protocol: 'tcp', host: '127.0.0.1', port: 5090 });
    for (let i = 0; i < 3; i++) await network.settle();
    const answer = await options;
    assert.equal(answer.status, 200);
    assert.match(answer.get('Allow') ?? '', /INVITE/);
    await lonely.close();
  });

  test('given several destinations, a request moves on after a transport error, a 503 or a timeout, and stops at any other answer (RFC 3263 §4.3)', async () => {
    const { network, clock, alice, bob, bobAddress } = pair();
    const at = (port: number) => ({ protocol: 'udp', host: '127.0.0.1', port }) as const;
    const busy = new UserAgent({ transports: [network.transport('udp', '127.0.0.1', 5091)], clock, random });
    const silent = new UserAgent({ transports: [network.transport('udp', '127.0.0.1', 5092)], clock, random });
    const picky = new UserAgent({ transports: [network.transport('udp', '127.0.0.1', 5093)], clock, random });
    busy.on('request', (incoming) => incoming.respond(503));
    picky.on('request', (incoming) => incoming.respond(404));
    bob.on('request', (incoming) => incoming.respond(200));
    network.filter = (delivery) => delivery.to.port !== 5092;
    const options = () => alice.createRequest('OPTIONS', 'sip:example.com', { from: 'sip:alice@127.0.0.1' });
    const requestsTo = () => network.sent((text) => text.startsWith('OPTIONS')).map((d) => d.to.port);

    // 5090: nothing listens; 5091: 503; 5092: never answers (Timer F, 64*T1); then bob.
    const done = alice.request(options(), [at(5090), at(5091), at(5092), bobAddress]);
    for (let i = 0; i < 5; i++) await network.settle();
    clock.advance(32_000);
    for (let i = 0; i < 5; i++) await network.settle();
    assert.equal((await done).status, 200);
    const ports = requestsTo();
    assert.deepEqual([...new Set(ports)], [5090, 5091, 5092, 5080]);
    const branches = new Set(network.sent((text) => text.startsWith('OPTIONS')).map((d) => /branch=([^;\r]+)/.exec(d.text)![1]));
    assert.equal(branches.size, 4, 'one new transaction, with a new branch, per destination');

    // Any other final answer is the answer: the 404 is not tried elsewhere.
    network.log.length = 0;
    assert.equal((await settled(network, alice.request(options(), [at(5093), bobAddress]))).status, 404);
    assert.deepEqual(requestsTo(), [5093]);
    // The last destination's 503 is the answer, and its failure the error.
    assert.equal((await settled(network, alice.request(options(), [at(5090), at(5091)]))).status, 503);
    await assert.rejects(settled(network, alice.request(options(), [at(5091), at(5090)])), { code: 'transport' });
    await assert.rejects(alice.request(options(), []), { code: 'invalid-argument' });
    await Promise.all([busy.close(), silent.close(), picky.close()]);
  });

  test('failing over after a challenge, the next server gets the next CSeq, not the first one again (§10.2)', async () => {
    const { network, clock, alice, bob, bobAddress } = pair();
    const server = new DigestServer({ realm: 'example.com', secret: new Uint8Array(32).fill(7), hasher, clock, random, lookup: () => 'right' });
    const busy = new UserAgent({ transports: [network.transport('udp', '127.0.0.1', 5091)], clock, random });
    // Challenges, then, with credentials, is too busy.
    busy.on('request', (incoming) => {
      if (incoming.request.has('Authorization')) incoming.respond(503);
      else incoming.respond(401, { headers: server.challenge(incoming.request).map((value) => ['WWW-Authenticate', formatChallenge(value)] as const) });
    });
    bob.on('request', (incoming) => incoming.respond(200));
    const request = alice.createRequest('REGISTER', 'sip:example.com', { from: 'sip:alice@example.com' });
    const digest = new DigestClient({ credentials: { username: 'alice', password: 'right' }, hasher, random });
    const response = await settled(network, alice.request(request, [{ protocol: 'udp', host: '127.0.0.1', port: 5091 }, bobAddress], { digest }));
    assert.equal(response.status, 200);
    const cseqs = network.sent((text) => text.startsWith('REGISTER')).map((d) => `${d.to.port} ${/CSeq: (\d+)/.exec(d.text)![1]}`);
    assert.deepEqual(cseqs, ['5091 1', '5091 2', '5080 3']);
    await busy.close();
  });

  test('a request the application never answers is answered for it: 500 after 60*T1, 480 for an INVITE after 3 minutes', async () => {
    const { network, clock, alice, bob, bobAddress } = pair();
    bob.on('request', () => undefined);
    const message = alice.request(alice.createRequest('MESSAGE', 'sip:bob@127.0.0.1:5080', { from: 'sip:alice@127.0.0.1' }), bobAddress);
    await network.settle();
    clock.advance(29_000);
    await network.settle();
    assert.equal(network.sent((text) => text.startsWith('SIP/2.0 5')).length, 0, 'not before the bound');
    clock.advance(1_000);
    await network.settle();
    assert.equal((await message).status, 500);

    const transaction = alice.sendInvite(invite(alice), bobAddress);
    const finals: number[] = [];
    transaction.on('response', ({ response }) => { if (response.status >= 200) finals.push(response.status); });
    await network.settle();
    // The caller's own Timer B gives up after 32 s; what matters here is what bob sends.
    clock.advance(179_000);
    await network.settle();
    assert.equal(network.sent((text) => text.startsWith('SIP/2.0 480')).length, 0);
    clock.advance(1_000);
    await network.settle();
    assert.equal(network.sent((text) => text.startsWith('SIP/2.0 480')).length, 1);
  });

  test('an answer the application cannot have sent throws to it and ends the transaction, which would otherwise wait for good', async () => {
    const { network, alice, bob, bobAddress } = pair();
    const thrown: unknown[] = [];
    const states: string[] = [];
    bob.on('request', (incoming) => {
      try {
        incoming.respond(404, { headers: [['X-Note', 'a\r\nInjected: yes']] });
      } catch (error) {
        thrown.push(error);
      }
      states.push(incoming.transaction.state);
    });
    void alice.request(alice.createRequest('MESSAGE', 'sip:bob@127.0.0.1:5080', { from: 'sip:alice@127.0.0.1' }), bobAddress).catch(() => undefined);
    await network.settle();
    assert.equal(thrown.length, 1);
    assert.equal((thrown[0] as { code?: string }).code, 'parse');
    assert.deepEqual(states, ['terminated']);
    assert.equal(network.sent((text) => /Injected/.test(text)).length, 0);
  });

  test('a request to a target with URI header fields or a method parameter goes without them (RFC 3261 §19.1.1)', () => {
    const { alice } = pair();
    const request = alice.createRequest('INVITE', 'sip:bob@127.0.0.1:5080;method=INVITE;transport=tcp?Subject=hi', { from: 'sip:alice@127.0.0.1' });
    assert.equal(request.uriText, 'sip:bob@127.0.0.1:5080;transport=tcp');
    assert.equal(request.uri.type === 'sip' && request.uri.headers.size, 0);
    assert.equal(request.toString().split('\r\n')[0], 'INVITE sip:bob@127.0.0.1:5080;transport=tcp SIP/2.0');
  });
});

function formatChallenge(value: { scheme: string; params: ReadonlyMap<string, string> }): string {
  return `${value.scheme} ${[...value.params].map(([k, v]) => (k === 'algorithm' || k === 'stale' ? `${k}=${v}` : `${k}="${v}"`)).join(', ')}`;
}

async function settled<T>(network: MemoryNetwork, pending: Promise<T>): Promise<T> {
  for (let i = 0; i < 5; i++) await network.settle();
  return pending;
}
