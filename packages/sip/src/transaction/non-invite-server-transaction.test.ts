import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../clock.js';
import type { SipResponse } from '../message/sip-message.js';
import type { TransportAddress } from '../transport/transport.js';
import { NonInviteServerTransaction } from './non-invite-server-transaction.js';
import { CLIENT_SOURCE, FakeSender, makeRequest, settle } from './test-support/fixtures.js';

function setup(source: TransportAddress = CLIENT_SOURCE, method = 'REGISTER') {
  const clock = new ManualClock();
  const sender = new FakeSender(clock);
  const request = makeRequest(method);
  const tx = new NonInviteServerTransaction({ request, source, sender, clock });
  tx.start();
  const log: string[] = [];
  tx.on('state', ({ to }) => log.push(`${to} @${clock.now()}`));
  tx.on('transport-error', ({ error }) => log.push(`transport-error ${error.code}`));
  const statuses = (): string[] => sender.sent.map((sent) => `${(sent.message as SipResponse).status}@${sent.at}`);
  return { clock, sender, tx, log, request, statuses };
}

describe('non-INVITE server transaction (RFC 3261 §17.2.2)', () => {
  test('retransmissions are absorbed in Trying and answered with the latest response afterwards', () => {
    const { clock, tx, request, statuses } = setup();
    tx.receiveRequest(request);
    assert.deepEqual(statuses(), []);
    tx.respond(request.createResponse(100));
    clock.advance(500);
    tx.receiveRequest(request);
    tx.respond(request.createResponse(200, undefined, { toTag: 's1' }));
    clock.advance(1000);
    tx.receiveRequest(request);
    assert.deepEqual(statuses(), ['100@0', '100@500', '200@500', '200@1500']);
  });

  test('Timer J is 64*T1 on UDP', () => {
    const { clock, tx, request, log } = setup();
    tx.respond(request.createResponse(200, undefined, { toTag: 's1' }));
    assert.deepEqual(tx.runningTimers, ['J']);
    clock.advance(31_999);
    assert.equal(tx.state, 'completed');
    clock.advance(1);
    assert.deepEqual(log, ['completed @0', 'terminated @32000']);
  });

  test('Timer J is 0 on a reliable transport', () => {
    const { clock, tx, request, log } = setup({ protocol: 'tls', host: '192.0.2.101', port: 5061 });
    tx.respond(request.createResponse(403, undefined, { toTag: 's1' }));
    clock.advance(0);
    assert.deepEqual(log, ['completed @0', 'terminated @0']);
  });

  test('a second final response is an invalid-state error; after termination, transaction-terminated', () => {
    const { clock, tx, request } = setup();
    tx.respond(request.createResponse(200, undefined, { toTag: 's1' }));
    assert.throws(() => tx.respond(request.createResponse(500, undefined, { toTag: 's1' })), { code: 'invalid-state' });
    clock.advance(32_000);
    assert.throws(() => tx.respond(request.createResponse(500, undefined, { toTag: 's1' })), { code: 'transaction-terminated' });
    assert.throws(() => setup().tx.respond(makeRequest('INVITE').createResponse(200)), { code: 'invalid-argument' });
  });

  test('a request whose CSeq method differs from its method is still answered (RFC 4475 §3.1.2.17)', () => {
    const { tx, request, statuses } = setup(CLIENT_SOURCE, 'OPTIONS');
    request.set('CSeq', { seq: 8, method: 'INVITE' });
    // The 400 copies the request's CSeq (§8.2.6.2), so it names INVITE, and it must still go out.
    tx.respond(request.createResponse(400, 'CSeq method does not match'));
    assert.deepEqual(statuses(), ['400@0']);
    assert.equal(tx.state, 'completed');
  });

  test('a transport error while sending the final response terminates with the TU informed', async () => {
    const { sender, tx, request, log } = setup();
    sender.failure = new Error('ECONNRESET');
    tx.respond(request.createResponse(200, undefined, { toTag: 's1' }));
    await settle();
    assert.deepEqual(log, ['completed @0', 'transport-error transport', 'terminated @0']);
  });
});
