import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ManualClock, type Random } from '../clock.js';
import { parseMessage } from '../message/parse-message.js';
import { SipRequest, type SipResponse } from '../message/sip-message.js';
import { parseUri } from '../message/uri.js';
import { rfc4475Dir } from '../test-support/paths.js';
import type { InboundMessage, TransportAddress } from '../transport/transport.js';
import { SipError } from '../errors.js';
import { InviteServerTransaction } from './invite-server-transaction.js';
import { StatelessServerTransaction } from './stateless-server-transaction.js';
import { CLIENT_SOURCE, FakeSender, makeRequest, settle, TCP_PEER, UDP_PEER } from './test-support/fixtures.js';
import { createCancel, TransactionLayer, type AckEvent, type NewRequestEvent } from './transaction-layer.js';

const ONES: Random = { bytes: (length) => new Uint8Array(length).fill(1) };

function setup() {
  const clock = new ManualClock();
  const sender = new FakeSender(clock);
  const layer = new TransactionLayer({ sender, clock, random: ONES });
  const requests: NewRequestEvent[] = [];
  const acks: AckEvent[] = [];
  const strays: SipResponse[] = [];
  layer.on('request', (event) => requests.push(event));
  layer.on('ack', (event) => acks.push(event));
  layer.on('stray-response', ({ response }) => strays.push(response));
  const inbound = (message: SipRequest | SipResponse, source: TransportAddress = CLIENT_SOURCE, connectionId?: string): InboundMessage => ({ message, source, connectionId });
  const deliver = (message: SipRequest | SipResponse, source?: TransportAddress): void => layer.receive(inbound(message, source));
  return { clock, sender, layer, requests, acks, strays, deliver };
}

describe('transaction layer: client side', () => {
  test('responses reach the transaction with their branch and method; others are stray and dropped', () => {
    const { layer, sender, strays, deliver } = setup();
    const invite = makeRequest('INVITE');
    const tx = layer.sendInvite(invite, UDP_PEER);
    const seen: number[] = [];
    tx.on('response', ({ response }) => seen.push(response.status));
    deliver(invite.createResponse(180, undefined, { toTag: 'b' }));
    deliver(makeRequest('INVITE', { branch: 'z9hG4bKunknown' }).createResponse(200, undefined, { toTag: 'b' }));
    deliver(makeRequest('CANCEL').createResponse(200, undefined, { toTag: 'b' }));
    deliver(makeRequest('INVITE', { branch: 'legacy' }).createResponse(200));
    assert.deepEqual(seen, [180]);
    assert.deepEqual(strays.map((r) => `${r.status} ${r.cseq?.method}`), ['200 INVITE', '200 CANCEL', '200 INVITE']);
    assert.equal(sender.sent.length, 1, 'nothing sent for a stray response');
    assert.equal(tx.state, 'proceeding');
  });

  test('a response whose top Via has a sent-by other than the request\'s is stray, whatever its branch (§18.1.2)', () => {
    const cases: { via: string; answers: [sentBy: string, reason: string][]; strays: string[]; seen: string[] }[] = [
      {
        via: 'SIP/2.0/UDP PC33.Atlanta.example.com',
        answers: [['pc34.atlanta.example.com', 'other host'], ['pc33.atlanta.example.com:5070', 'other port'], ['pc33.atlanta.example.com:5060', 'default port written out, host in other case']],
        strays: ['other host', 'other port'],
        seen: ['default port written out, host in other case'],
      },
      {
        // Over TLS the default port is 5061; an IPv6 reference compares without case.
        via: 'SIP/2.0/TLS [2001:DB8::A]',
        answers: [['[2001:db8::a]:5060', 'the UDP default'], ['[2001:db8::a]:5061', 'the TLS default']],
        strays: ['the UDP default'],
        seen: ['the TLS default'],
      },
    ];
    for (const { via, answers, strays: expectedStrays, seen: expectedSeen } of cases) {
      const { layer, strays, deliver } = setup();
      const options = makeRequest('OPTIONS', { via });
      const tx = layer.sendRequest(options, UDP_PEER);
      const seen: string[] = [];
      tx.on('response', ({ response }) => seen.push(response.reason));
      for (const [sentBy, reason] of answers) {
        const response = options.createResponse(200, reason, { toTag: 'b' });
        response.removeFirst('Via');
        response.prepend('Via', `${via.slice(0, via.indexOf(' '))} ${sentBy};branch=z9hG4bK776asdhds`);
        deliver(response);
      }
      assert.deepEqual(strays.map((r) => r.reason), expectedStrays, via);
      assert.deepEqual(seen, expectedSeen, via);
    }
  });

  test('terminated transactions leave the layer; a late retransmission is then stray', () => {
    const { clock, layer, sender, strays, deliver } = setup();
    const options = makeRequest('OPTIONS');
    const tx = layer.sendRequest(options, UDP_PEER);
    assert.equal(layer.clientTransactionCount, 1);
    const ok = options.createResponse(200, undefined, { toTag: 'b' });
    deliver(ok);
    deliver(ok);
    assert.equal(strays.length, 0, 'absorbed in Completed');
    clock.advance(5000);
    assert.equal(tx.state, 'terminated');
    assert.equal(layer.clientTransactionCount, 0);
    deliver(ok);
    assert.equal(strays.length, 1);
    assert.equal(sender.sent.length, 1);
  });

  test('a request without an RFC 3261 branch gets one from the injected randomness; duplicates are refused', () => {
    const { layer } = setup();
    const request = makeRequest('OPTIONS', { branch: null });
    const tx = layer.sendRequest(request, UDP_PEER);
    assert.equal(request.via?.params.get('branch'), 'z9hG4bKbbbbbbbbbbbbbbbb');
    assert.equal(request.getAll('Via').length, 1);
    assert.equal(tx.id, 'c|z9hG4bKbbbbbbbbbbbbbbbb|OPTIONS');
    assert.throws(() => layer.sendRequest(request, UDP_PEER), { code: 'invalid-state' });
    assert.throws(() => layer.sendRequest(makeRequest('ACK'), UDP_PEER), { code: 'invalid-argument' });
    assert.throws(() => layer.sendRequest(makeRequest('INVITE'), UDP_PEER), { code: 'invalid-argument' });
    assert.throws(() => layer.sendInvite(makeRequest('BYE'), UDP_PEER), { code: 'invalid-argument' });
    assert.throws(() => layer.sendRequest(new SipRequest('OPTIONS', parseUri('sip:x@example.com')), UDP_PEER), { code: 'invalid-argument' });
  });

  test('a transport error becomes a 503-like failure of the transaction, which leaves the layer', async () => {
    const { layer, sender } = setup();
    sender.failure = new Error('ECONNREFUSED');
    const tx = layer.sendRequest(makeRequest('REGISTER'), TCP_PEER);
    const errors: (number | undefined)[] = [];
    tx.on('transport-error', ({ error }) => errors.push(error.status));
    await settle();
    assert.deepEqual(errors, [503]);
    assert.equal(layer.clientTransactionCount, 0);
  });

  test('createCancel follows §9.1', () => {
    const invite = makeRequest('INVITE', { routes: ['<sip:p1.example.net;lr>'] });
    invite.prepend('Via', 'SIP/2.0/UDP inner.example.net;branch=z9hG4bKtop');
    const cancel = createCancel(invite);
    assert.equal(cancel.startLine(), 'CANCEL sip:bob@biloxi.example.com SIP/2.0');
    assert.deepEqual(cancel.getAll('Via'), ['SIP/2.0/UDP inner.example.net;branch=z9hG4bKtop']);
    for (const name of ['To', 'From', 'Call-ID']) assert.equal(cancel.get(name), invite.get(name), name);
    assert.deepEqual(cancel.cseq, { seq: 314159, method: 'CANCEL' });
    assert.deepEqual(cancel.getAll('Route'), ['<sip:p1.example.net;lr>']);
    assert.equal(cancel.maxForwards, 70);
    assert.throws(() => createCancel(makeRequest('ACK')), { code: 'invalid-argument' });
  });

  test('cancel() waits for a provisional response, then sends the CANCEL to the same place as its own transaction', async () => {
    const { layer, sender, deliver } = setup();
    const invite = makeRequest('INVITE');
    const tx = layer.sendInvite(invite, UDP_PEER);
    const pending = layer.cancel(tx, [['Reason', 'SIP;cause=487']]);
    await settle();
    assert.equal(sender.requests('CANCEL').length, 0, 'no CANCEL before a provisional response');
    deliver(invite.createResponse(100));
    const cancelTx = await pending;
    assert.ok(cancelTx !== undefined);
    const sent = sender.requests('CANCEL');
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.destination, UDP_PEER);
    assert.equal((sent[0]!.message as SipRequest).get('Reason'), 'SIP;cause=487');
    assert.equal(cancelTx.request.via?.params.get('branch'), invite.via?.params.get('branch'));
    deliver(cancelTx.request.createResponse(200, undefined, { toTag: 'b' }));
    deliver(invite.createResponse(487, undefined, { toTag: 'b' }));
    assert.equal(cancelTx.state, 'completed');
    assert.equal(tx.state, 'completed');
  });

  test('cancel() sends nothing when the final response comes first', async () => {
    const { layer, sender, deliver } = setup();
    const invite = makeRequest('INVITE');
    const tx = layer.sendInvite(invite, UDP_PEER);
    const pending = layer.cancel(tx);
    deliver(invite.createResponse(200, undefined, { toTag: 'b' }));
    assert.equal(await pending, undefined);
    assert.equal(await layer.cancel(tx), undefined);
    assert.equal(sender.requests('CANCEL').length, 0);
  });
});

describe('transaction layer: server side', () => {
  test('a new request reaches the TU once; its retransmissions are absorbed or answered by the transaction', () => {
    const { layer, sender, requests, deliver } = setup();
    const options = makeRequest('OPTIONS');
    deliver(options);
    assert.equal(requests.length, 1);
    const { transaction, source, cancels } = requests[0]!;
    assert.equal(source, CLIENT_SOURCE);
    assert.equal(cancels, undefined);
    deliver(makeRequest('OPTIONS'));
    assert.equal(requests.length, 1);
    assert.equal(sender.sent.length, 0, 'absorbed in Trying');
    transaction.respond(options.createResponse(200, undefined, { toTag: 's' }));
    deliver(makeRequest('OPTIONS'));
    assert.equal(requests.length, 1);
    assert.deepEqual(sender.sent.map((sent) => (sent.message as SipResponse).status), [200, 200]);
    assert.equal(sender.sent[1]!.destination, CLIENT_SOURCE);
    assert.equal(layer.serverTransactionCount, 1);
  });

  test('a stateless method (§8.2.7): nothing kept, each copy reaches the TU and is answered to its source', async () => {
    const clock = new ManualClock();
    const sender = new FakeSender(clock);
    const layer = new TransactionLayer({ sender, clock, random: ONES, statelessMethods: ['REGISTER'] });
    const requests: NewRequestEvent[] = [];
    layer.on('request', (event) => requests.push(event));
    const register = makeRequest('REGISTER');
    layer.receive({ message: register, source: CLIENT_SOURCE, connectionId: undefined });
    layer.receive({ message: makeRequest('REGISTER'), source: CLIENT_SOURCE, connectionId: undefined });
    assert.equal(requests.length, 2, 'no transaction to absorb the copy: the TU answers each');
    assert.equal(layer.serverTransactionCount, 0);
    const { transaction } = requests[0]!;
    assert.ok(transaction instanceof StatelessServerTransaction);
    transaction.respond(register.createResponse(100));
    assert.equal(transaction.state, 'proceeding');
    transaction.respond(register.createResponse(200, undefined, { toTag: 's' }));
    assert.equal(transaction.state, 'terminated');
    assert.throws(() => transaction.respond(register.createResponse(200, undefined, { toTag: 's' })), (e: unknown) => e instanceof SipError && e.code === 'transaction-terminated');
    await settle();
    assert.deepEqual(sender.sent.map((sent) => [(sent.message as SipResponse).status, sent.destination]), [[100, CLIENT_SOURCE], [200, CLIENT_SOURCE]]);
    // A CANCEL finds nothing to cancel; other methods keep their transactions and Timer J.
    layer.receive({ message: createCancel(register), source: CLIENT_SOURCE, connectionId: undefined });
    assert.equal(requests[2]!.cancels, undefined);
    const options = makeRequest('OPTIONS');
    layer.receive({ message: options, source: CLIENT_SOURCE, connectionId: undefined });
    requests[3]!.transaction.respond(options.createResponse(200, undefined, { toTag: 's' }));
    assert.equal(requests[3]!.transaction.state, 'completed');
    assert.throws(() => new TransactionLayer({ sender, clock, statelessMethods: ['INVITE'] }), /INVITE cannot be served statelessly/);
  });

  test('the ACK for a non-2xx is absorbed by the INVITE transaction; ACKs for 2xx go to the TU', () => {
    const { clock, layer, requests, acks, deliver } = setup();
    deliver(makeRequest('INVITE'));
    const ist = requests[0]!.transaction as InviteServerTransaction;
    ist.respond(requests[0]!.request.createResponse(486, undefined, { toTag: 's' }));
    deliver(makeRequest('ACK', { toTag: 's' }));
    assert.equal(ist.state, 'confirmed');
    assert.equal(acks.length, 0);

    deliver(makeRequest('INVITE', { branch: 'z9hG4bKsecond', cseq: 2 }));
    const second = requests[1]!.transaction as InviteServerTransaction;
    second.respond(requests[1]!.request.createResponse(200, undefined, { toTag: 's2' }));
    const ack = makeRequest('ACK', { branch: 'z9hG4bKackfor2xx', toTag: 's2', cseq: 2 });
    deliver(ack);
    assert.equal(acks.length, 1);
    assert.equal(acks[0]!.request, ack);
    assert.equal(acks[0]!.transaction, undefined);
    // An element that reuses the INVITE's branch for the 2xx ACK reaches the transaction, which passes it up.
    deliver(makeRequest('ACK', { branch: 'z9hG4bKsecond', toTag: 's2', cseq: 2 }));
    assert.equal(acks.length, 2);
    assert.equal(acks[1]!.transaction, second);
    assert.equal(requests.length, 2, 'ACKs never create transactions');
    clock.advance(32_000);
    assert.equal(layer.serverTransactionCount, 0);
  });

  test('RFC 6026: an INVITE retransmitted after the 2xx is absorbed, not a new request, until Timer L', () => {
    const { clock, layer, sender, requests, deliver } = setup();
    deliver(makeRequest('INVITE'));
    const ist = requests[0]!.transaction as InviteServerTransaction;
    ist.respond(requests[0]!.request.createResponse(200, undefined, { toTag: 's' }));
    clock.advance(31_999);
    deliver(makeRequest('INVITE'));
    assert.equal(requests.length, 1);
    assert.equal(sender.sent.length, 1);
    clock.advance(1);
    assert.equal(layer.serverTransactionCount, 0);
    deliver(makeRequest('INVITE'));
    assert.equal(requests.length, 2, 'after Timer L the same INVITE is new again');
  });

  test('100 Trying goes back to the source 200 ms after the INVITE when the TU is silent', () => {
    const { clock, sender, deliver } = setup();
    deliver(makeRequest('INVITE'));
    clock.advance(200);
    assert.deepEqual(sender.sent.map((sent) => `${(sent.message as SipResponse).status} ${sent.destination.host}`), ['100 192.0.2.101']);
  });

  test('§9.2: a CANCEL gets its own transaction and names the INVITE it cancels; the INVITE hears first', () => {
    const { layer, sender, requests, deliver } = setup();
    deliver(makeRequest('INVITE'));
    const ist = requests[0]!.transaction as InviteServerTransaction;
    const order: string[] = [];
    ist.on('cancel', ({ transaction }) => {
      order.push('ist cancel');
      ist.respond(ist.request.createResponse(487, undefined, { toTag: 's' }));
      assert.equal(transaction.request.method, 'CANCEL');
    });
    layer.on('request', ({ request }) => order.push(`layer ${request.method}`));
    deliver(makeRequest('CANCEL'));
    assert.deepEqual(order, ['ist cancel', 'layer CANCEL']);
    const event = requests[1]!;
    assert.equal(event.request.method, 'CANCEL');
    assert.equal(event.cancels, ist);
    assert.notEqual(event.transaction, ist);
    event.transaction.respond(event.request.createResponse(200, undefined, { toTag: 's' }));
    deliver(makeRequest('CANCEL'));
    assert.equal(requests.length, 2, 'a retransmitted CANCEL is absorbed');
    assert.deepEqual(sender.sent.map((sent) => `${(sent.message as SipResponse).status} ${(sent.message as SipResponse).cseq?.method}`), [
      '487 INVITE', '200 CANCEL', '200 CANCEL',
    ]);
    assert.equal(layer.serverTransactionCount, 2);
  });

  test('a CANCEL that matches no INVITE still reaches the TU, with nothing to cancel (answer 481)', () => {
    const { requests, deliver } = setup();
    deliver(makeRequest('INVITE'));
    deliver(makeRequest('CANCEL', { branch: 'z9hG4bKnothing' }));
    deliver(makeRequest('CANCEL', { via: 'SIP/2.0/UDP elsewhere.example.com' }));
    assert.deepEqual(requests.map((event) => `${event.request.method} ${event.cancels === undefined ? '-' : 'match'}`), ['INVITE -', 'CANCEL -', 'CANCEL -']);
  });

  test('RFC 2543 peers: TC_BADBRANCH_V is matched by the fallback rules', () => {
    const { sender, requests, deliver } = setup();
    const text = readFileSync(join(rfc4475Dir, 'TC_BADBRANCH_V.dat'), 'latin1');
    const first = parseMessage(text) as SipRequest;
    deliver(first);
    assert.equal(requests.length, 1);
    requests[0]!.transaction.respond(first.createResponse(200, undefined, { toTag: 'srv' }));
    deliver(parseMessage(text) as SipRequest);
    assert.equal(requests.length, 1, 'the retransmission is absorbed');
    assert.equal(sender.sent.length, 2, 'and answered again');
    deliver(parseMessage(text.replace('CSeq: 8 OPTIONS', 'CSeq: 9 OPTIONS')) as SipRequest);
    assert.equal(requests.length, 2, 'a new CSeq is a new request');
  });

  test('RFC 2543 peers: the ACK matches the INVITE only with the To tag of the response', () => {
    const { requests, acks, deliver } = setup();
    deliver(makeRequest('INVITE', { branch: null }));
    const ist = requests[0]!.transaction as InviteServerTransaction;
    ist.respond(ist.request.createResponse(486, undefined, { toTag: 'srv' }));
    deliver(makeRequest('ACK', { branch: null, toTag: 'other' }));
    assert.equal(ist.state, 'completed');
    assert.equal(acks.length, 1, 'not ours: up to the TU');
    deliver(makeRequest('ACK', { branch: null, toTag: 'srv' }));
    assert.equal(ist.state, 'confirmed');
    assert.equal(acks.length, 1);
  });

  test('a request the rules cannot key is reported as invalid and gets no transaction', () => {
    const { layer, requests } = setup();
    const invalid: SipRequest[] = [];
    layer.on('invalid', ({ request }) => invalid.push(request));
    const bare = new SipRequest('OPTIONS', parseUri('sip:bob@example.com'));
    layer.receive({ message: bare, source: CLIENT_SOURCE, connectionId: undefined });
    assert.deepEqual(invalid, [bare]);
    assert.equal(requests.length, 0);
    assert.equal(layer.serverTransactionCount, 0);
  });

  test('close() terminates every transaction', () => {
    const { clock, layer, deliver } = setup();
    deliver(makeRequest('INVITE'));
    const tx = layer.sendRequest(makeRequest('OPTIONS', { branch: 'z9hG4bKout' }), UDP_PEER);
    const ends: (string | undefined)[] = [];
    tx.on('terminated', ({ error }) => ends.push(error?.code));
    layer.close();
    assert.deepEqual(ends, ['transaction-terminated']);
    assert.equal(layer.clientTransactionCount + layer.serverTransactionCount, 0);
    assert.equal(clock.pending, 0);
  });
});
