import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { SipError, SipParseError } from '../errors.js';
import { parseMessage } from '../message/parse-message.js';
import type { SipResponse } from '../message/sip-message.js';
import { buildErrorResponse } from './error-response.js';

const CORPUS = '/work/shared/conformance/rfc4475/';
const encoder = new TextEncoder();
const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');

function failure(data: Uint8Array): SipParseError {
  try {
    parseMessage(data);
  } catch (error) {
    assert.ok(error instanceof SipParseError);
    return error;
  }
  assert.fail('expected a parse error');
}

const BAD = 'OPTIONS sip:b@example.com SIP/2.0\r\n'
  + 'Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK1\r\nv: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK2\r\n'
  + 'Max-Forwards: lots\r\nf: "A" <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\ni: c1@example.com\r\n'
  + 'CSeq: 7 OPTIONS\r\nContent-Length: 0\r\n\r\n';

describe('buildErrorResponse', () => {
  test('answers with the parser\'s status and echoes Via, From, To, Call-ID and CSeq as they came', () => {
    const raw = encoder.encode(BAD);
    const bytes = buildErrorResponse(raw, failure(raw));
    assert.ok(bytes !== null);
    assert.equal(latin1(bytes), 'SIP/2.0 400 Bad Request\r\n'
      + 'Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK2\r\n'
      + 'From: "A" <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: c1@example.com\r\n'
      + 'CSeq: 7 OPTIONS\r\nContent-Length: 0\r\n\r\n');
  });

  test('adds a To tag when asked and the To has none', () => {
    const raw = encoder.encode(BAD);
    const tagged = latin1(buildErrorResponse(raw, failure(raw), { toTag: 'xyz' })!);
    assert.match(tagged, /^To: <sip:b@example.com>;tag=xyz\r\n/m);
    const already = encoder.encode(BAD.replace('To: <sip:b@example.com>', 'To: <sip:b@example.com>;tag=abc'));
    assert.match(latin1(buildErrorResponse(already, failure(already), { toTag: 'xyz' })!), /^To: <sip:b@example.com>;tag=abc\r\n/m);
  });

  test('leaves out echoed headers that are malformed themselves', () => {
    const raw = encoder.encode(BAD.replace('CSeq: 7 OPTIONS', 'CSeq: many OPTIONS'));
    const text = latin1(buildErrorResponse(raw, failure(raw))!);
    assert.doesNotMatch(text, /CSeq/);
    const noVia = encoder.encode(BAD.replace(/^(Via|v): .*\r\n/gm, 'Via: SIP/2.0/UDP\r\n'));
    assert.equal(buildErrorResponse(noVia, failure(noVia)), null);
  });

  test('salvages a Via with empty elements and parameters, so that RFC 4475 §3.1.2.1 still gets its 400', () => {
    const raw = readFileSync(`${CORPUS}TC_BADINV01_I.dat`);
    const text = latin1(buildErrorResponse(new Uint8Array(raw), failure(new Uint8Array(raw)))!);
    assert.match(text, /^SIP\/2.0 400 /);
    assert.match(text, /^Via: SIP\/2.0\/UDP 192.0.2.15\r\n/m);
    assert.equal(parseMessage(text).get('Call-ID'), 'badinv01.0ha0isndaksdjasdf3234nas');
  });

  test('unfolds folded lines and skips header values holding control characters', () => {
    const raw = encoder.encode(BAD.replace('Call-ID: ', 'X: ').replace('i: c1@example.com', 'i: c1\0@example.com')
      .replace('To: <sip:b@example.com>', 'To:\r\n  <sip:b@example.com>'));
    const text = latin1(buildErrorResponse(raw, new SipParseError('bad'))!);
    assert.match(text, /^To: <sip:b@example.com>\r\n/m);
    assert.doesNotMatch(text, /Call-ID/);
  });

  test('copies non-UTF-8 bytes unchanged', () => {
    const raw = Buffer.concat([Buffer.from(BAD.replace('f: "A"', 'f: "\xe9\xff"'), 'latin1')]);
    const bytes = buildErrorResponse(raw, new SipParseError('bad'))!;
    assert.ok(latin1(bytes).includes('From: "\xe9\xff" <sip:a@example.com>;tag=1\r\n'));
  });

  test('uses the status of any SipError, 400 when it has none usable', () => {
    const raw = encoder.encode(BAD);
    assert.match(latin1(buildErrorResponse(raw, new SipParseError('v', 505, 'Version Not Supported'))!), /^SIP\/2.0 505 Version Not Supported\r\n/);
    assert.match(latin1(buildErrorResponse(raw, new SipError('framing', 'x', { status: 513 }))!), /^SIP\/2.0 513 Message Too Large\r\n/);
    assert.match(latin1(buildErrorResponse(raw, new SipError('framing', 'x', { status: 200 }))!), /^SIP\/2.0 400 /);
  });

  test('returns null for responses, ACKs and requests without a Via', () => {
    const error = new SipParseError('bad');
    assert.equal(buildErrorResponse(encoder.encode('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n'), error), null);
    assert.equal(buildErrorResponse(encoder.encode(BAD.replace('OPTIONS sip', 'ACK sip').replace('7 OPTIONS', '7 ACK')), error), null);
    assert.equal(buildErrorResponse(encoder.encode(BAD.replace(/^(Via|v): .*\r\n/gm, '')), error), null);
    assert.equal(buildErrorResponse(encoder.encode('garbage'), error), null);
    assert.equal(buildErrorResponse(new Uint8Array(0), error), null);
  });

  test('on every RFC 4475 request that does not parse: null or a response that parses, with the right status', () => {
    let answered = 0;
    for (const file of readdirSync(CORPUS).filter((name) => name.endsWith('.dat'))) {
      const data = new Uint8Array(readFileSync(CORPUS + file));
      let error: SipParseError;
      try {
        parseMessage(data);
        continue;
      } catch (caught) {
        error = caught as SipParseError;
      }
      const bytes = buildErrorResponse(data, error);
      if (latin1(data).startsWith('SIP/')) {
        assert.equal(bytes, null, file);
        continue;
      }
      // Null only where there is no Via, or the Via itself is what is malformed.
      if (bytes === null) {
        assert.ok(!/^(via|v)[ \t]*:/im.test(latin1(data)) || error.message.startsWith('Via:'), file);
        continue;
      }
      const response = parseMessage(bytes) as SipResponse;
      assert.equal(response.status, error.status, file);
      assert.ok(response.has('Via'), file);
      answered++;
    }
    assert.ok(answered >= 15, `answered ${answered}`);
  });
});
