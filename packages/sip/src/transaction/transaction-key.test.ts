import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseMessage } from '../message/parse-message.js';
import { SipRequest } from '../message/sip-message.js';
import { parseUri } from '../message/uri.js';
import { rfc4475Dir } from '../test-support/paths.js';
import { makeRequest } from './test-support/fixtures.js';
import {
  cancelTargetKey, canonicalUri, clientTransactionKey, isLegacyKey, isRfc3261Branch, legacyToTagMatches, serverTransactionKey,
} from './transaction-key.js';

const BAD_BRANCH = readFileSync(join(rfc4475Dir, 'TC_BADBRANCH_V.dat'), 'latin1');

function parseRequest(text: string): SipRequest {
  const message = parseMessage(text);
  assert.ok(message instanceof SipRequest);
  return message;
}

describe('client transaction matching (§17.1.3)', () => {
  test('a response matches the request by top-Via branch and CSeq method', () => {
    const invite = makeRequest('INVITE');
    const key = clientTransactionKey(invite);
    assert.ok(key !== undefined);
    assert.equal(clientTransactionKey(invite.createResponse(180, undefined, { toTag: 'x' })), key);
    assert.equal(clientTransactionKey(invite.createResponse(486, undefined, { toTag: 'y' })), key);
    assert.notEqual(clientTransactionKey(makeRequest('INVITE', { branch: 'z9hG4bKother' })), key);
  });

  test('the CANCEL for an INVITE shares its branch but is another transaction', () => {
    const invite = makeRequest('INVITE');
    const cancel = makeRequest('CANCEL');
    assert.notEqual(clientTransactionKey(cancel), clientTransactionKey(invite));
    assert.equal(clientTransactionKey(cancel.createResponse(200)), clientTransactionKey(cancel));
    assert.notEqual(clientTransactionKey(cancel.createResponse(200)), clientTransactionKey(invite));
  });

  test('responses without an RFC 3261 branch cannot match anything of ours', () => {
    assert.equal(clientTransactionKey(makeRequest('OPTIONS', { branch: 'abc' }).createResponse(200)), undefined);
  });
});

describe('server transaction matching (§17.2.3)', () => {
  test('branch, sent-by and method; an ACK matches its INVITE', () => {
    const key = serverTransactionKey(makeRequest('INVITE'));
    assert.ok(key !== undefined && !isLegacyKey(key));
    assert.equal(serverTransactionKey(makeRequest('INVITE')), key, 'a retransmission');
    assert.equal(serverTransactionKey(makeRequest('ACK', { toTag: 'x' })), key, 'the ACK for a non-2xx');
    assert.equal(serverTransactionKey(makeRequest('INVITE', { via: 'SIP/2.0/UDP PC33.Atlanta.Example.com' })), key, 'host case');
    assert.notEqual(serverTransactionKey(makeRequest('INVITE', { via: 'SIP/2.0/UDP pc33.atlanta.example.com:5070' })), key, 'other port');
    assert.notEqual(serverTransactionKey(makeRequest('INVITE', { via: 'SIP/2.0/UDP 192.0.2.99' })), key, 'other sent-by, same branch');
    assert.notEqual(serverTransactionKey(makeRequest('INVITE', { branch: 'z9hG4bK776asdhdt' })), key, 'other branch');
    assert.notEqual(serverTransactionKey(makeRequest('ACK', { branch: 'z9hG4bKnew' })), key, 'the ACK for a 2xx has its own branch');
    assert.notEqual(serverTransactionKey(makeRequest('OPTIONS')), key, 'other method');
  });

  test('§9.2: a CANCEL is its own transaction, and finds the INVITE as if it were one', () => {
    const invite = makeRequest('INVITE');
    const cancel = makeRequest('CANCEL');
    assert.notEqual(serverTransactionKey(cancel), serverTransactionKey(invite));
    assert.equal(cancelTargetKey(cancel), serverTransactionKey(invite));
    assert.notEqual(cancelTargetKey(makeRequest('CANCEL', { branch: 'z9hG4bKelse' })), serverTransactionKey(invite));
    assert.notEqual(cancelTargetKey(makeRequest('CANCEL', { via: 'SIP/2.0/UDP 192.0.2.99' })), serverTransactionKey(invite));
  });

  test('a request missing Via or CSeq has no key', () => {
    const bare = new SipRequest('OPTIONS', parseUri('sip:bob@example.com'));
    assert.equal(serverTransactionKey(bare), undefined);
    bare.append('Via', 'SIP/2.0/UDP host.example.com;branch=z9hG4bK1234');
    assert.equal(serverTransactionKey(bare), undefined);
    bare.append('CSeq', '1 OPTIONS');
    assert.ok(serverTransactionKey(bare) !== undefined);
  });
});

describe('RFC 2543 fallback (§17.2.3)', () => {
  test('a branch that is only the magic cookie (RFC 4475 §3.2.1, TC_BADBRANCH_V) is not an RFC 3261 branch', () => {
    const request = parseRequest(BAD_BRANCH);
    assert.equal(request.via?.params.get('branch'), 'z9hG4bK');
    assert.equal(isRfc3261Branch('z9hG4bK'), false);
    assert.equal(isRfc3261Branch('z9hG4bKx'), true);
    assert.equal(isRfc3261Branch('Z9HG4BKx'), false);
    assert.equal(isRfc3261Branch(undefined), false);
    const key = serverTransactionKey(request);
    assert.ok(key !== undefined && isLegacyKey(key));
  });

  test('TC_BADBRANCH_V matches its retransmission by Request-URI, tags, Call-ID, CSeq and top Via, and nothing else', () => {
    const key = serverTransactionKey(parseRequest(BAD_BRANCH));
    assert.equal(serverTransactionKey(parseRequest(BAD_BRANCH)), key, 'the same datagram again');
    const variant = (from: string, to: string): string | undefined => {
      assert.ok(BAD_BRANCH.includes(from), from);
      return serverTransactionKey(parseRequest(BAD_BRANCH.replace(from, to)));
    };
    assert.equal(variant('OPTIONS sip:user@example.com', 'OPTIONS sip:user@EXAMPLE.com'), key, 'host case in the Request-URI');
    assert.equal(variant('OPTIONS sip:user@example.com', 'OPTIONS sip:%75ser@example.com'), key, 'escaped user part');
    assert.equal(variant('Max-Forwards: 3', 'Max-Forwards: 2'), key, 'Max-Forwards is not compared');
    assert.notEqual(variant('OPTIONS sip:user@example.com', 'OPTIONS sip:other@example.com'), key, 'Request-URI');
    assert.notEqual(variant('tag=33242', 'tag=33243'), key, 'From tag');
    assert.notEqual(variant('To: sip:user@example.com', 'To: sip:user@example.com;tag=abc'), key, 'To tag');
    assert.notEqual(variant('Call-ID: badbranch.', 'Call-ID: otherbranch.'), key, 'Call-ID');
    assert.notEqual(variant('CSeq: 8 OPTIONS', 'CSeq: 9 OPTIONS'), key, 'CSeq number');
    assert.notEqual(variant('192.0.2.1;', '192.0.2.2;'), key, 'top Via');
    assert.notEqual(variant('branch=z9hG4bK', 'branch=z9hG4bK;received=192.0.2.9'), key, 'top Via parameters');
  });

  test('an RFC 2543 ACK matches its INVITE when it carries the To tag of the response', () => {
    const invite = makeRequest('INVITE', { branch: null });
    const response = invite.createResponse(486, undefined, { toTag: 'resp-tag' });
    const ack = makeRequest('ACK', { branch: null, toTag: 'resp-tag' });
    const key = serverTransactionKey(invite);
    assert.ok(key !== undefined && isLegacyKey(key));
    assert.equal(serverTransactionKey(ack), key);
    assert.equal(legacyToTagMatches(ack, invite, response), true);
    assert.equal(legacyToTagMatches(makeRequest('ACK', { branch: null, toTag: 'other' }), invite, response), false);
    assert.equal(legacyToTagMatches(ack, invite, undefined), false, 'no response sent yet');
    assert.equal(legacyToTagMatches(makeRequest('INVITE', { branch: null }), invite, response), true, 'INVITE retransmission');
    assert.equal(legacyToTagMatches(makeRequest('INVITE', { branch: null, toTag: 'x' }), invite, response), false);
  });

  test('an RFC 2543 CANCEL finds its INVITE', () => {
    const invite = makeRequest('INVITE', { branch: '1' });
    const cancel = makeRequest('CANCEL', { branch: '1' });
    assert.equal(cancelTargetKey(cancel), serverTransactionKey(invite));
    assert.notEqual(serverTransactionKey(cancel), serverTransactionKey(invite));
    assert.equal(legacyToTagMatches(cancel, invite, undefined), true);
    assert.notEqual(cancelTargetKey(makeRequest('CANCEL', { branch: '1', cseq: 1 })), serverTransactionKey(invite));
  });

  test('canonical URIs coincide where §19.1.4 calls URIs equal', () => {
    const same = ['sip:%61lice@Atlanta.COM;Transport=TCP;lr', 'sip:alice@atlanta.com;lr;transport=tcp'];
    assert.equal(canonicalUri(parseUri(same[0]!)), canonicalUri(parseUri(same[1]!)));
    assert.notEqual(canonicalUri(parseUri('sip:alice@atlanta.com')), canonicalUri(parseUri('sip:alice@atlanta.com:5060')));
    assert.notEqual(canonicalUri(parseUri('sip:alice@atlanta.com')), canonicalUri(parseUri('sips:alice@atlanta.com')));
    assert.equal(canonicalUri(parseUri('tel:+1-201-555-0123')), canonicalUri(parseUri('tel:+12015550123')));
  });
});
