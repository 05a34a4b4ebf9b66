import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../clock.js';
import { SipError } from '../errors.js';
import type { SipRequest, SipResponse } from '../message/sip-message.js';
import type { TransportAddress } from '../transport/transport.js';
import { createNon2xxAck, InviteClientTransaction, type InviteClientState } from './invite-client-transaction.js';
import { FakeSender, makeRequest, settle, TCP_PEER, UDP_PEER } from './test-support/fixtures.js';
import type { TimerOptions } from './timers.js';

function setup(peer: TransportAddress = UDP_PEER, timers?: TimerOptions, invite: SipRequest = makeRequest('INVITE')) {
  const clock = new ManualClock();
  const sender = new FakeSender(clock);
  const tx = new InviteClientTransaction({ request: invite, destination: peer, connectionId: peer.protocol === 'tcp' ? 'conn-1' : undefined, sender, clock, timers });
  const log: string[] = [];
  const responses: SipResponse[] = [];
  const states: InviteClientState[] = [];
  tx.on('state', ({ to }) => states.push(to));
  tx.on('response', ({ response }) => responses.push(response));
  tx.on('timeout', ({ error }) => log.push(`timeout ${error.code} ${error.status} @${clock.now()}`));
  tx.on('transport-error', ({ error }) => log.push(`transport-error ${error.code} ${error.status}`));
  tx.on('terminated', ({ error }) => log.push(`terminated ${error?.code ?? 'normally'} @${clock.now()}`));
  return { clock, sender, tx, log, responses, states, invite };
}

describe('INVITE client transaction (RFC 3261 §17.1.1, RFC 6026)', () => {
  test('over UDP the INVITE goes out at 0, 500, 1500, 3500, 7500, 15500, 31500 ms and Timer B fires at 64*T1', () => {
    const { clock, sender, tx, log } = setup();
    tx.start();
    assert.deepEqual(tx.runningTimers, ['A', 'B']);
    clock.advance(31_999);
    assert.deepEqual(sender.requests('INVITE').map((sent) => sent.at), [0, 500, 1500, 3500, 7500, 15_500, 31_500]);
    assert.equal(tx.state, 'calling');
    assert.deepEqual(log, []);
    clock.advance(1);
    assert.deepEqual(log, ['timeout transaction-timeout 408 @32000', 'terminated transaction-timeout @32000']);
    assert.equal(tx.state, 'terminated');
    assert.equal(clock.pending, 0);
    assert.equal(sender.sent.length, 7);
    for (const sent of sender.sent) assert.equal(sent.message, tx.request, 'a retransmission is the same request');
  });

  test('the schedule follows a configured T1', () => {
    const { clock, sender, tx, log } = setup(UDP_PEER, { T1: 100 });
    tx.start();
    clock.advance(6400);
    assert.deepEqual(sender.requests('INVITE').map((sent) => sent.at), [0, 100, 300, 700, 1500, 3100, 6300]);
    assert.equal(log[0], 'timeout transaction-timeout 408 @6400');
  });

  test('over a reliable transport the INVITE is sent once, on its connection, and Timer B still applies', () => {
    const { clock, sender, tx, log } = setup(TCP_PEER);
    tx.start();
    assert.deepEqual(tx.runningTimers, ['B']);
    clock.advance(32_000);
    assert.equal(sender.sent.length, 1);
    assert.equal(sender.sent[0]!.connectionId, 'conn-1');
    assert.deepEqual(log, ['timeout transaction-timeout 408 @32000', 'terminated transaction-timeout @32000']);
  });

  test('a provisional response stops retransmissions and Timer B; it goes to the TU', () => {
    const { clock, sender, tx, responses, states, invite, log } = setup();
    tx.start();
    clock.advance(600);
    tx.receiveResponse(invite.createResponse(100));
    tx.receiveResponse(invite.createResponse(180, undefined, { toTag: 'b1' }));
    assert.deepEqual(states, ['proceeding']);
    assert.deepEqual(responses.map((r) => r.status), [100, 180]);
    clock.advance(120_000);
    assert.equal(sender.sent.length, 2);
    assert.equal(tx.state, 'proceeding');
    assert.deepEqual(log, []);
  });

  test('the ACK for a 486 reuses the branch, takes To from the response, has CSeq method ACK and copies Route', () => {
    const invite = makeRequest('INVITE', { routes: ['<sip:p1.example.net;lr>', '<sip:p2.example.net;lr>'] });
    invite.append('Subject', 'not copied');
    const { sender, tx, responses } = setup(UDP_PEER, undefined, invite);
    tx.start();
    const busy = invite.createResponse(486, undefined, { toTag: 'a6c85cf' });
    tx.receiveResponse(busy);
    assert.equal(tx.state, 'completed');
    assert.deepEqual(responses, [busy]);
    const acks = sender.requests('ACK');
    assert.equal(acks.length, 1);
    assert.equal(acks[0]!.destination, UDP_PEER);
    const ack = acks[0]!.message as SipRequest;
    assert.equal(ack, tx.ackRequest);
    assert.equal(ack.startLine(), 'ACK sip:bob@biloxi.example.com SIP/2.0');
    assert.deepEqual(ack.getAll('Via'), ['SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds']);
    assert.equal(ack.get('To'), 'Bob <sip:bob@biloxi.example.com>;tag=a6c85cf');
    assert.equal(ack.get('From'), invite.get('From'));
    assert.equal(ack.get('Call-ID'), invite.get('Call-ID'));
    assert.deepEqual(ack.cseq, { seq: 314159, method: 'ACK' });
    assert.deepEqual(ack.getAll('Route'), ['<sip:p1.example.net;lr>', '<sip:p2.example.net;lr>']);
    assert.equal(ack.maxForwards, 70);
    assert.equal(ack.has('Subject'), false);
    assert.equal(ack.has('Contact'), false);
  });

  test('createNon2xxAck refuses a 2xx: that ACK is the TU\'s', () => {
    const invite = makeRequest('INVITE');
    assert.throws(() => createNon2xxAck(invite, invite.createResponse(200, undefined, { toTag: 'x' })), { code: 'invalid-argument' });
  });

  test('retransmitted final responses are absorbed and ACKed again; Timer D ends Completed after 32 s on UDP', () => {
    const { clock, sender, tx, responses, invite, log } = setup();
    tx.start();
    const busy = invite.createResponse(486, undefined, { toTag: 'a6c85cf' });
    tx.receiveResponse(busy);
    assert.deepEqual(tx.runningTimers, ['D']);
    clock.advance(1000);
    tx.receiveResponse(busy);
    tx.receiveResponse(invite.createResponse(486, undefined, { toTag: 'a6c85cf' }));
    tx.receiveResponse(invite.createResponse(180, undefined, { toTag: 'a6c85cf' }));
    assert.equal(responses.length, 1, 'only the first final response reaches the TU');
    const acks = sender.requests('ACK');
    assert.equal(acks.length, 3);
    assert.ok(acks.every((sent) => sent.message === tx.ackRequest), 'the same ACK is repeated');
    assert.equal(sender.requests('INVITE').length, 1, 'retransmissions stopped at the final response');
    clock.advance(30_999);
    assert.equal(tx.state, 'completed');
    clock.advance(1);
    assert.equal(tx.state, 'terminated');
    assert.deepEqual(log, ['terminated normally @32000']);
  });

  test('Timer D is zero on a reliable transport', () => {
    const { clock, tx, invite } = setup(TCP_PEER);
    tx.start();
    tx.receiveResponse(invite.createResponse(603, undefined, { toTag: 'x' }));
    assert.equal(tx.state, 'completed');
    assert.equal(tx.timers.D, 0);
    clock.advance(0);
    assert.equal(tx.state, 'terminated');
  });

  test('RFC 6026: a 2xx leads to Accepted; 2xx retransmissions and forked 2xx reach the TU, never ACKed here', () => {
    const { clock, sender, tx, responses, states, invite, log } = setup();
    tx.start();
    tx.receiveResponse(invite.createResponse(180, undefined, { toTag: 'b1' }));
    const ok = invite.createResponse(200, undefined, { toTag: 'b1' });
    tx.receiveResponse(ok);
    assert.deepEqual(states, ['proceeding', 'accepted']);
    assert.deepEqual(tx.runningTimers, ['M']);
    clock.advance(500);
    tx.receiveResponse(ok);
    tx.receiveResponse(invite.createResponse(200, undefined, { toTag: 'fork-2' }));
    tx.receiveResponse(invite.createResponse(486, undefined, { toTag: 'fork-3' }));
    tx.receiveResponse(invite.createResponse(183, undefined, { toTag: 'fork-4' }));
    assert.deepEqual(responses.map((r) => `${r.status} ${r.toTag}`), ['180 b1', '200 b1', '200 b1', '200 fork-2']);
    assert.equal(sender.requests('ACK').length, 0);
    assert.equal(sender.requests('INVITE').length, 1);
    clock.advance(31_499);
    assert.equal(tx.state, 'accepted');
    clock.advance(1);
    assert.equal(tx.state, 'terminated');
    assert.deepEqual(log, ['terminated normally @32000']);
    tx.receiveResponse(ok);
    assert.equal(responses.length, 4, 'nothing after Terminated');
  });

  test('a 2xx straight from Calling also enters Accepted (Timer M on a reliable transport too)', () => {
    const { clock, tx, invite } = setup(TCP_PEER);
    tx.start();
    tx.receiveResponse(invite.createResponse(200, undefined, { toTag: 'b1' }));
    assert.equal(tx.state, 'accepted');
    clock.advance(31_999);
    assert.equal(tx.state, 'accepted');
    clock.advance(1);
    assert.equal(tx.state, 'terminated');
  });

  test('a transport error in Calling informs the TU with a 503-like error and terminates', async () => {
    const { sender, tx, log, clock } = setup(TCP_PEER);
    sender.failure = new SipError('transport', 'connection refused');
    tx.start();
    await settle();
    assert.deepEqual(log, ['transport-error transport 503', 'terminated transport @0']);
    assert.equal(clock.pending, 0);
  });

  test('a failed ACK in Completed informs the TU and terminates', async () => {
    const { sender, tx, log, invite } = setup();
    tx.start();
    sender.failure = new Error('EHOSTUNREACH');
    tx.receiveResponse(invite.createResponse(404, undefined, { toTag: 'x' }));
    await settle();
    assert.deepEqual(log, ['transport-error transport 503', 'terminated transport @0']);
  });

  test('a late failure of an old retransmission does not disturb Proceeding', async () => {
    const { clock, sender, tx, log, invite } = setup();
    tx.start();
    sender.failure = new Error('ENOBUFS');
    clock.advance(500);
    tx.receiveResponse(invite.createResponse(100));
    await settle();
    assert.equal(tx.state, 'proceeding');
    assert.deepEqual(log, []);
  });

  test('terminate() ends it with a transaction-terminated error; start() twice is an invalid-state error', () => {
    const { clock, tx, log } = setup();
    tx.start();
    assert.throws(() => tx.start(), { code: 'invalid-state' });
    tx.terminate();
    assert.deepEqual(log, ['terminated transaction-terminated @0']);
    assert.equal(clock.pending, 0);
    tx.terminate();
    assert.equal(log.length, 1);
  });

  test('only an INVITE with an RFC 3261 branch can start one', () => {
    const clock = new ManualClock();
    const sender = new FakeSender(clock);
    assert.throws(() => new InviteClientTransaction({ request: makeRequest('OPTIONS'), destination: UDP_PEER, sender, clock }), { code: 'invalid-argument' });
    assert.throws(() => new InviteClientTransaction({ request: makeRequest('INVITE', { branch: '1234' }), destination: UDP_PEER, sender, clock }), { code: 'invalid-argument' });
  });
});
