import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../clock.js';
import { SipError } from '../errors.js';
import type { SipResponse } from '../message/sip-message.js';
import type { TransportAddress } from '../transport/transport.js';
import { NonInviteClientTransaction } from './non-invite-client-transaction.js';
import { FakeSender, makeRequest, settle, TCP_PEER, UDP_PEER } from './test-support/fixtures.js';

function setup(peer: TransportAddress = UDP_PEER, method = 'OPTIONS') {
  const clock = new ManualClock();
  const sender = new FakeSender(clock);
  const request = makeRequest(method);
  const tx = new NonInviteClientTransaction({ request, destination: peer, sender, clock });
  const log: string[] = [];
  const responses: SipResponse[] = [];
  tx.on('response', ({ response }) => responses.push(response));
  tx.on('timeout', ({ error }) => log.push(`timeout ${error.code} ${error.status} @${clock.now()}`));
  tx.on('transport-error', ({ error }) => log.push(`transport-error ${error.code} ${error.status}`));
  tx.on('terminated', ({ error }) => log.push(`terminated ${error?.code ?? 'normally'} @${clock.now()}`));
  return { clock, sender, tx, log, responses, request };
}

describe('non-INVITE client transaction (RFC 3261 §17.1.2)', () => {
  test('Timer E doubles up to T2 (500, 1000, 2000, 4000, 4000, ...) and Timer F fires at 64*T1', () => {
    const { clock, sender, tx, log } = setup();
    tx.start();
    clock.advance(31_999);
    assert.deepEqual(
      sender.sent.map((sent) => sent.at),
      [0, 500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500],
    );
    assert.deepEqual(log, []);
    clock.advance(1);
    assert.deepEqual(log, ['timeout transaction-timeout 408 @32000', 'terminated transaction-timeout @32000']);
    assert.equal(clock.pending, 0);
  });

  test('in Proceeding Timer E fires every T2, and Timer F keeps its original deadline', () => {
    const { clock, sender, tx, log, request, responses } = setup();
    tx.start();
    clock.advance(600);
    tx.receiveResponse(request.createResponse(100));
    assert.equal(tx.state, 'proceeding');
    assert.deepEqual(responses.map((r) => r.status), [100]);
    clock.advance(31_399);
    // E was pending with 1000 ms (due at 1500); from then on it runs at T2.
    assert.deepEqual(sender.sent.map((sent) => sent.at), [0, 500, 1500, 5500, 9500, 13_500, 17_500, 21_500, 25_500, 29_500]);
    clock.advance(1);
    assert.deepEqual(log, ['timeout transaction-timeout 408 @32000', 'terminated transaction-timeout @32000']);
  });

  test('over a reliable transport no retransmissions, Timer F still, and Timer K = 0', () => {
    const { clock, sender, tx, request } = setup(TCP_PEER);
    tx.start();
    assert.deepEqual(tx.runningTimers, ['F']);
    clock.advance(10_000);
    assert.equal(sender.sent.length, 1);
    tx.receiveResponse(request.createResponse(200, undefined, { toTag: 't' }));
    assert.equal(tx.state, 'completed');
    clock.advance(0);
    assert.equal(tx.state, 'terminated');
  });

  test('a final response goes to the TU once; retransmissions of it are absorbed in Completed until Timer K (T4)', () => {
    const { clock, sender, tx, request, responses, log } = setup();
    tx.start();
    clock.advance(500);
    const ok = request.createResponse(200, undefined, { toTag: 't' });
    tx.receiveResponse(ok);
    assert.deepEqual(tx.runningTimers, ['K']);
    tx.receiveResponse(ok);
    tx.receiveResponse(request.createResponse(404, undefined, { toTag: 'u' }));
    assert.deepEqual(responses, [ok]);
    assert.equal(tx.response, ok);
    clock.advance(4999);
    assert.equal(tx.state, 'completed');
    assert.equal(sender.sent.length, 2, 'no retransmission after the final response');
    clock.advance(1);
    assert.equal(tx.state, 'terminated');
    assert.deepEqual(log, ['terminated normally @5500']);
  });

  test('a transport error in Trying informs the TU (503) and terminates', async () => {
    const { sender, tx, log } = setup();
    sender.failure = new SipError('transport', 'no route', { status: 503 });
    tx.start();
    await settle();
    assert.deepEqual(log, ['transport-error transport 503', 'terminated transport @0']);
  });

  test('INVITE and ACK are refused', () => {
    const clock = new ManualClock();
    const sender = new FakeSender(clock);
    for (const method of ['INVITE', 'ACK']) {
      assert.throws(() => new NonInviteClientTransaction({ request: makeRequest(method), destination: UDP_PEER, sender, clock }), { code: 'invalid-argument' });
    }
  });
});
