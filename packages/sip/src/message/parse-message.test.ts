/**
 * Edges of parsing and writing a message that the conformance vectors and the fuzzing reach only by chance: where the
 * head ends, how a header name is looked up, how the start line is read, when a received Content-Length is kept.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SipParseError } from '../errors.js';
import { parseMessage } from './parse-message.js';
import { SipRequest, SipResponse } from './sip-message.js';

const START = 'OPTIONS sip:bob@example.com SIP/2.0\r\n';
const HEADERS = 'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nCall-ID: a@b\r\nCSeq: 1 OPTIONS\r\n';

function fails(text: string, message: RegExp, status = 400): void {
  assert.throws(() => parseMessage(text), (error: unknown) => error instanceof SipParseError && error.status === status && message.test(error.message));
}

describe('where the head ends', () => {
  test('at the first empty line; what follows is the body, empty lines included', () => {
    const message = parseMessage(START + HEADERS + 'Content-Length: 6\r\n\r\n\r\n\r\nab');
    assert.equal(message.bodyText, '\r\n\r\nab');
    assert.equal(message.get('Content-Length'), '6');
  });

  test('right after the start line', () => {
    const message = parseMessage(START + '\r\n');
    assert.equal(message.headers.length, 0);
    assert.equal(message.toString(), START + 'Content-Length: 0\r\n\r\n');
  });

  test('a text that ends with its last header line has an empty body', () => {
    assert.equal(parseMessage(START + HEADERS).bodyLength, 0);
    assert.equal(parseMessage(START).bodyLength, 0);
  });

  test('without an empty line or a final CRLF, that is the error, whatever else is wrong', () => {
    fails(START + HEADERS + 'To: <sip:bob@example.com>', /no empty line/);
    fails('SIP/3.0 200 OK\r\nCall-ID: a@b', /no empty line/);
    fails('SIP/3.0 200 OK\r\n\r\n', /unsupported SIP version/, 505);
    fails(START + 'Via: nonsense\r\nCall-ID', /no empty line/);
  });
});

test('header names: canonical, lower-case, compact and other spellings; unknown ones kept as written', () => {
  const message = parseMessage(START + 'v: SIP/2.0/UDP h;branch=z9hG4bK2\r\ncall-id: a@b\r\nCSEQ: 2 OPTIONS\r\nX-Thing: 1\r\nl: 0\r\n\r\n');
  assert.deepEqual(message.headers.map((field) => field.name), ['Via', 'Call-ID', 'CSeq', 'X-Thing', 'Content-Length']);
  assert.deepEqual(message.cseq, { seq: 2, method: 'OPTIONS' });
  assert.equal(message.via?.params.get('branch'), 'z9hG4bK2');
  assert.match(message.toString(), /^Via: SIP\/2.0\/UDP h;branch=z9hG4bK2\r\nCall-ID: a@b\r\nCSeq: 2 OPTIONS\r\nX-Thing: 1\r\nContent-Length: 0\r\n/m);
});

test('header names with white space before the colon: found as without it, written without it', () => {
  const message = parseMessage(START + 'Via \t: SIP/2.0/UDP h;branch=z9hG4bK3\r\nCall-ID  :a@b\r\nX-Thing\t: 1\r\nCSeq: 3 OPTIONS\r\n\r\n');
  assert.deepEqual(message.headers.map((field) => field.name), ['Via', 'Call-ID', 'X-Thing', 'CSeq']);
  assert.equal(message.via?.params.get('branch'), 'z9hG4bK3');
  assert.equal(message.get('x-thing'), '1');
  assert.match(message.toString(), /^Via: SIP\/2.0\/UDP h;branch=z9hG4bK3\r\nCall-ID: a@b\r\nX-Thing: 1\r\nCSeq: 3 OPTIONS\r\n/m);
  fails(START + 'X Thing : 1\r\n\r\n', /invalid header name/);
  // The limit is on the name without the white space.
  const name = 'X-' + 'a'.repeat(98);
  assert.equal(parseMessage(START + name + ' '.repeat(20) + ': 1\r\n\r\n', { maxLineLength: 100 }).get(name), '1');
  assert.throws(() => parseMessage(START + name + 'b: 1\r\n\r\n', { maxLineLength: 100 }), /header field longer than 100/);
});

test('start lines: Request-URI read in the same match or on its own, status code', () => {
  const request = parseMessage('INVITE sip:bob:pw@example.com:5070;transport=tcp SIP/2.0\r\n\r\n') as SipRequest;
  assert.deepEqual({ ...request.uri, params: [...(request.uri.type === 'sip' ? request.uri.params : [])] }, {
    type: 'sip', scheme: 'sip', user: 'bob', password: 'pw', host: 'example.com', port: 5070, params: [['transport', 'tcp']], headers: new Map(),
  });
  assert.equal(request.uriText, 'sip:bob:pw@example.com:5070;transport=tcp');
  assert.equal((parseMessage('INVITE tel:+1-201-555-0123 SIP/2.0\r\n\r\n') as SipRequest).uri.type, 'tel');
  fails('INVITE sip:bob@example.com:65536 SIP/2.0\r\n\r\n', /port/);
  fails('INVITE sip:bob@example.com?Subject=x SIP/2.0\r\n\r\n', /must not contain headers/);
  const response = parseMessage('SIP/2.0 486 Busy Here\r\n\r\n') as SipResponse;
  assert.equal(response.status, 486);
});

test('a start line is written again as received when it was written canonically, else rebuilt', () => {
  const request = parseMessage('INVITE sip:bob@example.com;transport=tcp SIP/2.0\r\n' + HEADERS + '\r\n') as SipRequest;
  assert.match(request.toString(), /^INVITE sip:bob@example\.com;transport=tcp SIP\/2\.0\r\nVia: /);
  assert.equal(request.clone().toString(), request.toString());
  request.uri = { type: 'sip', scheme: 'sip', user: 'carol', password: undefined, host: 'example.org', port: undefined, params: new Map(), headers: new Map() };
  assert.match(request.toString(), /^INVITE sip:carol@example\.org SIP\/2\.0\r\nVia: /);
  assert.match(parseMessage('OPTIONS sip:bob@example.com sip/2.0\r\n' + HEADERS + '\r\n').toString(), /^OPTIONS sip:bob@example\.com SIP\/2\.0\r\n/);
  assert.match(parseMessage('SIP/2.0 180 Ringing\r\n' + HEADERS + '\r\n').toString(), /^SIP\/2\.0 180 Ringing\r\nVia: /);
  assert.match(parseMessage('SIP/2.0 404\r\n' + HEADERS + '\r\n').toString(), /^SIP\/2\.0 404 \r\nVia: /);
  // From bytes the head is cut before its final CRLF, so a start line without headers has none of its own there.
  assert.equal(parseMessage(new TextEncoder().encode('SIP/2.0 200 OK\r\n\r\n')).toString(), 'SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n');
  assert.equal(parseMessage('SIP/2.0 200 OK\r\n').toString(), 'SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n');
});

test('a received Content-Length is written as received only when it states the length canonically', () => {
  const written = (value: string, body: string): string | undefined =>
    /Content-Length: [^\r]*/.exec(parseMessage(START + HEADERS + `Content-Length: ${value}\r\n\r\n${body}`).toString())?.[0];
  assert.equal(written('3', 'abc'), 'Content-Length: 3');
  assert.equal(written('0', ''), 'Content-Length: 0');
  assert.equal(written('003', 'abc'), 'Content-Length: 3');
  assert.equal(written('00', ''), 'Content-Length: 0');
  const message = parseMessage(START + HEADERS + 'Content-Length: 3\r\n\r\nabc');
  message.setBody('abcd');
  assert.match(message.toString(), /Content-Length: 4\r\n\r\nabcd$/);
});
