import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../clock.js';
import type { SipRequest, SipResponse } from '../message/sip-message.js';
import type { TransportAddress } from '../transport/transport.js';
import { InviteServerTransaction } from './invite-server-transaction.js';
import { NonInviteServerTransaction } from './non-invite-server-transaction.js';
import { CLIENT_SOURCE, FakeSender, makeRequest, settle } from './test-support/fixtures.js';

const TCP_SOURCE: TransportAddress = { protocol: 'tcp', host: '192.0.2.101', port: 49152 };

function setup(source: TransportAddress = CLIENT_SOURCE) {
  const clock = new ManualClock();
  const sender = new FakeSender(clock);
  const invite = makeRequest('INVITE');
  const tx = new InviteServerTransaction({ request: invite, source, connectionId: source.protocol === 'tcp' ? 'conn-7' : undefined, sender, clock });
  const log: string[] = [];
  tx.on('state', ({ to }) => log.push(`${to} @${clock.now()}`));
  tx.on('timeout', ({ error }) => log.push(`timeout ${error.code}`));
  tx.on('transport-error', ({ error }) => log.push(`transport-error ${error.code}`));
  tx.on('ack', () => log.push('ack'));
  const statuses = (): string[] => sender.sent.map((sent) => `${(sent.message as SipResponse).status}@${sent.at}`);
  return { clock, sender, tx, log, invite, statuses };
}

describe('INVITE server transaction (RFC 3261 §17.2.1, RFC 6026)', () => {
  test('sends 100 Trying after 200 ms when the TU has not answered, without a To tag', () => {
    const { clock, sender, tx } = setup();
    tx.start();
    clock.advance(199);
    assert.equal(sender.sent.length, 0);
    clock.advance(1);
    assert.equal(sender.sent.length, 1);
    const trying = sender.sent[0]!.message as SipResponse;
    assert.equal(trying.status, 100);
    assert.equal(trying.toTag, undefined);
    assert.equal(trying.via?.params.get('branch'), 'z9hG4bK776asdhds');
    assert.equal(sender.sent[0]!.destination, CLIENT_SOURCE);
  });

  test('no 100 Trying when the TU answers within 200 ms', () => {
    const { clock, sender, tx, invite, statuses } = setup();
    tx.start();
    clock.advance(150);
    tx.respond(invite.createResponse(180, undefined, { toTag: 'u1' }));
    clock.advance(1000);
    assert.deepEqual(statuses(), ['180@150']);
    assert.equal(sender.responses(100).length, 0);
  });

  test('an INVITE retransmission in Proceeding gets the latest provisional response again', () => {
    const { clock, tx, invite, statuses } = setup();
    tx.start();
    tx.receiveRequest(invite);
    clock.advance(200);
    tx.receiveRequest(invite);
    tx.respond(invite.createResponse(180, undefined, { toTag: 'u1' }));
    clock.advance(300);
    tx.receiveRequest(invite);
    assert.deepEqual(statuses(), ['100@200', '100@200', '180@200', '180@500']);
  });

  test('a 486 over UDP is retransmitted by Timer G (500, 1000, 2000, 4000, 4000, ...) until Timer H', () => {
    const { clock, sender, tx, invite, log } = setup();
    tx.start();
    tx.respond(invite.createResponse(486, undefined, { toTag: 'u1' }));
    assert.deepEqual(tx.runningTimers, ['G', 'H']);
    clock.advance(31_999);
    assert.deepEqual(
      sender.sent.map((sent) => sent.at),
      [0, 500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500],
    );
    assert.ok(sender.sent.every((sent) => sent.message === tx.lastResponse));
    clock.advance(1);
    assert.deepEqual(log, ['completed @0', 'timeout transaction-timeout', 'terminated @32000']);
  });

  test('the request retransmitted in Completed gets the final response again; the ACK moves it to Confirmed, Timer I = T4', () => {
    const { clock, sender, tx, invite, log, statuses } = setup();
    tx.start();
    tx.respond(invite.createResponse(404, undefined, { toTag: 'u1' }));
    clock.advance(100);
    tx.receiveRequest(invite);
    assert.deepEqual(statuses(), ['404@0', '404@100']);
    const ack = makeRequest('ACK', { toTag: 'u1' });
    assert.equal(tx.receiveAck(ack), false, 'the ACK for a non-2xx is absorbed');
    assert.deepEqual(tx.runningTimers, ['I']);
    tx.receiveAck(ack);
    tx.receiveRequest(invite);
    clock.advance(4999);
    assert.equal(sender.sent.length, 2, 'nothing sent in Confirmed');
    assert.equal(tx.state, 'confirmed');
    clock.advance(1);
    assert.deepEqual(log, ['completed @0', 'confirmed @100', 'terminated @5100']);
  });

  test('over a reliable transport no Timer G, Timer H still 64*T1, Timer I = 0', () => {
    const { clock, sender, tx, invite, log } = setup(TCP_SOURCE);
    tx.start();
    tx.respond(invite.createResponse(500, undefined, { toTag: 'u1' }));
    assert.deepEqual(tx.runningTimers, ['H']);
    assert.equal(sender.sent[0]!.connectionId, 'conn-7');
    clock.advance(20_000);
    assert.equal(sender.sent.length, 1);
    tx.receiveAck(makeRequest('ACK', { toTag: 'u1' }));
    clock.advance(0);
    assert.deepEqual(log, ['completed @0', 'confirmed @20000', 'terminated @20000']);
  });

  test('Timer H on a reliable transport', () => {
    const { clock, tx, invite, log } = setup(TCP_SOURCE);
    tx.start();
    tx.respond(invite.createResponse(500, undefined, { toTag: 'u1' }));
    clock.advance(32_000);
    assert.deepEqual(log, ['completed @0', 'timeout transaction-timeout', 'terminated @32000']);
  });

  test('RFC 6026: after a 2xx, Accepted absorbs INVITE retransmissions, passes ACKs up and sends the TU\'s 2xx retransmissions until Timer L', () => {
    const { clock, sender, tx, invite, log, statuses } = setup();
    tx.start();
    const ok = invite.createResponse(200, undefined, { toTag: 'u1' });
    tx.respond(ok);
    assert.deepEqual(tx.runningTimers, ['L']);
    clock.advance(600);
    tx.receiveRequest(invite);
    assert.deepEqual(statuses(), ['200@0'], 'the transaction itself never retransmits a 2xx');
    tx.respond(ok);
    assert.deepEqual(statuses(), ['200@0', '200@600']);
    const acks: SipRequest[] = [];
    tx.on('ack', ({ request }) => acks.push(request));
    const ack = makeRequest('ACK', { toTag: 'u1' });
    assert.equal(tx.receiveAck(ack), true);
    assert.deepEqual(acks, [ack]);
    assert.throws(() => tx.respond(invite.createResponse(486, undefined, { toTag: 'u1' })), { code: 'invalid-state' });
    clock.advance(31_399);
    assert.equal(tx.state, 'accepted');
    clock.advance(1);
    assert.deepEqual(log, ['accepted @0', 'ack', 'terminated @32000']);
    assert.throws(() => tx.respond(ok), { code: 'transaction-terminated' });
    assert.equal(sender.sent.length, 2);
  });

  test('responses the state does not take are refused', () => {
    const { tx, invite } = setup();
    tx.start();
    assert.throws(() => tx.respond(makeRequest('OPTIONS').createResponse(200)), { code: 'invalid-argument' });
    tx.respond(invite.createResponse(486, undefined, { toTag: 'u1' }));
    assert.throws(() => tx.respond(invite.createResponse(180, undefined, { toTag: 'u1' })), { code: 'invalid-state' });
    assert.throws(() => tx.respond(invite.createResponse(200, undefined, { toTag: 'u1' })), { code: 'invalid-state' });
  });

  test('a CANCEL is announced only while the INVITE can still be answered', () => {
    const { clock, sender, tx, invite } = setup();
    const cancel = makeRequest('CANCEL');
    const cancelTx = new NonInviteServerTransaction({ request: cancel, source: CLIENT_SOURCE, sender, clock });
    const seen: string[] = [];
    tx.on('cancel', ({ request, transaction }) => seen.push(`${request.method} ${transaction === cancelTx}`));
    tx.start();
    tx.receiveCancel(cancel, cancelTx);
    tx.respond(invite.createResponse(487, undefined, { toTag: 'u1' }));
    tx.receiveCancel(cancel, cancelTx);
    assert.deepEqual(seen, ['CANCEL true']);
  });

  test('a transport error in Proceeding or Completed terminates; in Accepted it is only reported', async () => {
    const first = setup();
    first.tx.start();
    first.sender.failure = new Error('EPIPE');
    first.tx.respond(first.invite.createResponse(480, undefined, { toTag: 'u1' }));
    await settle();
    assert.deepEqual(first.log, ['completed @0', 'transport-error transport', 'terminated @0']);

    const second = setup();
    second.tx.start();
    second.sender.failure = new Error('EPIPE');
    second.tx.respond(second.invite.createResponse(200, undefined, { toTag: 'u1' }));
    await settle();
    assert.deepEqual(second.log, ['accepted @0', 'transport-error transport']);
    assert.equal(second.tx.state, 'accepted');
  });
});
