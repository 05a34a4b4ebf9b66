/**
 * Writing a message again: lines received exactly as they are written are copied from the received text, runs of
 * them in one piece, and whatever is added, removed, reordered, changed or taken from another message is written
 * as if every line had been built from its field.
 */
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseMessage } from './parse-message.js';
import { SipRequest, type HeaderField, type SipMessage, type SipResponse } from './sip-message.js';

/** What the message must be written as: its start line, then `Name: value` for each field, Content-Length as in `head()`. */
function builtLineByLine(message: SipMessage): string {
  let out = message.startLine() + '\r\n';
  let wroteLength = false;
  for (const field of message.headers) {
    if (field.key !== 'content-length') out += `${field.name}: ${field.value}\r\n`;
    else if (!wroteLength) {
      wroteLength = true;
      out += `Content-Length: ${message.bodyLength}\r\n`;
    }
  }
  if (!wroteLength) out += `Content-Length: ${message.bodyLength}\r\n`;
  return out + '\r\n' + message.bodyText;
}

const INVITE = [
  'INVITE sip:bob@example.com SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1111',
  'Max-Forwards: 70',
  'To: <sip:bob@example.com>',
  'From: "Alice" <sip:alice@example.com>;tag=aaaa',
  'Call-ID: call-1@192.0.2.1',
  'CSeq: 1 INVITE',
  'Contact: <sip:alice@192.0.2.1:5060>',
  'Content-Type: application/sdp',
  'Content-Length: 4',
  '',
  'v=0\n',
].join('\r\n');

// The same layout, every line of the same length, other values: its fields sit at the same positions as INVITE's.
const TWIN = [
  'INVITE sip:bob@example.org SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK-9999',
  'Max-Forwards: 69',
  'To: <sip:bob@example.org>',
  'From: "Alice" <sip:alice@example.org>;tag=zzzz',
  'Call-ID: call-9@192.0.2.9',
  'CSeq: 9 INVITE',
  'Contact: <sip:alice@192.0.2.9:5060>',
  'Content-Type: application/sdp',
  'Content-Length: 4',
  '',
  'v=9\n',
].join('\r\n');

// Lines that are not written as received: compact and lower-case names, white space, a folded line, a list split.
const UNUSUAL = [
  'OPTIONS sip:carol@example.com sip/2.0',
  'v: SIP/2.0/UDP 192.0.2.3;branch=z9hG4bK-3333',
  'Max-Forwards:   70  ',
  'to: <sip:carol@example.com>',
  'From: <sip:dave@example.com>;tag=dddd',
  'Call-ID: call-3 \t',
  'CSeq: 3',
  ' OPTIONS',
  'Supported: timer, path',
  'Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>',
  'l: 0',
  '',
  '',
].join('\r\n');

const RESPONSE = [
  'SIP/2.0 180 Ringing',
  'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1111',
  'To: <sip:bob@example.com>;tag=bbbb',
  'From: "Alice" <sip:alice@example.com>;tag=aaaa',
  'Call-ID: call-1@192.0.2.1',
  'CSeq: 1 INVITE',
  'Content-Length: 0',
  '',
  '',
].join('\r\n');

const TEXTS = [INVITE, TWIN, UNUSUAL, RESPONSE];

describe('a message written again', () => {
  test('received as it would be written: the same text, character for character', () => {
    for (const text of [INVITE, TWIN, RESPONSE]) assert.equal(parseMessage(text).toString(), text);
  });

  test('received otherwise: each line written the canonical way', () => {
    const message = parseMessage(UNUSUAL);
    assert.equal(message.toString(), builtLineByLine(message));
    assert.match(message.toString(), /^OPTIONS sip:carol@example\.com SIP\/2\.0\r\nVia: .*\r\nMax-Forwards: 70\r\nTo: .*\r\nFrom: .*\r\nCall-ID: call-3\r\nCSeq: 3 OPTIONS\r\nSupported: timer, path\r\nRoute: <sip:p1.example.com;lr>\r\nRoute: <sip:p2.example.com;lr>\r\nContent-Length: 0\r\n\r\n$/);
  });

  test('a field taken from another message at the same position is its own text, not the line of this one there', () => {
    const message = parseMessage(INVITE);
    const twin = parseMessage(TWIN);
    // Swap in the twin's Max-Forwards: it starts exactly where this message's own Max-Forwards did.
    message.headers[1] = twin.headers[1]!;
    assert.match(message.toString(), /\r\nMax-Forwards: 69\r\nTo: <sip:bob@example\.com>\r\n/);
    assert.equal(message.toString(), builtLineByLine(message));
  });

  test('a field shown in a log or a dump shows its own value, not the rest of the message it came in', () => {
    const message = parseMessage(INVITE.replace('Content-Type:', 'Authorization: Digest username="alice", response="0123abcd"\r\nContent-Type:'));
    const via = message.headers[0]!;
    assert.equal(via.line, undefined, 'the Via is written as received');
    for (const shown of [JSON.stringify(via), inspect(via, { depth: 5, showHidden: true })]) {
      assert.match(shown, /z9hG4bK-1111/);
      assert.doesNotMatch(shown, /0123abcd|Max-Forwards/);
    }
  });

  test('fields copied through JSON or structuredClone, without the text they came in, are written from name and value', () => {
    const message = parseMessage(INVITE);
    const copy = message.clone();
    copy.headers = JSON.parse(JSON.stringify(message.headers)) as HeaderField[];
    assert.equal(copy.toString(), INVITE);
    copy.headers = structuredClone(message.headers);
    assert.equal(copy.toString(), INVITE);
  });

  test('a response built from a parsed request, and a clone', () => {
    const request = parseMessage(INVITE) as SipRequest;
    const response = request.createResponse(200, 'OK', { toTag: 'tttt' });
    assert.equal(response.toString(), builtLineByLine(response));
    assert.match(response.toString(), /^SIP\/2\.0 200 OK\r\nVia: [^\r]*\r\nTo: <sip:bob@example\.com>;tag=tttt\r\nFrom: [^\r]*\r\nCall-ID: call-1@192\.0\.2\.1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n$/);
    const clone = request.clone();
    clone.prepend('Via', 'SIP/2.0/TCP proxy.example.com;branch=z9hG4bK-p');
    assert.equal(clone.toString(), builtLineByLine(clone));
    assert.equal(request.toString(), INVITE);
  });
});

type Edit =
  | { op: 'prepend' | 'append' | 'set'; name: string; value: string }
  | { op: 'remove' | 'removeFirst'; name: string }
  | { op: 'take'; from: number; field: number; at: number }
  | { op: 'delete'; at: number }
  | { op: 'move'; from: number; to: number }
  | { op: 'duplicate'; from: number; to: number }
  | { op: 'uri' | 'clone' | 'reverse' | 'respond' }
  | { op: 'body'; text: string };

const NAMES = ['Via', 'Max-Forwards', 'To', 'From', 'Call-ID', 'CSeq', 'Contact', 'Content-Type', 'Content-Length', 'Route', 'Supported', 'X-Note'];
const VALUES: Record<string, string> = {
  'Via': 'SIP/2.0/UDP proxy.example.com;branch=z9hG4bK-e', 'Max-Forwards': '7', 'To': '<sip:erin@example.com>',
  'From': '<sip:frank@example.com>;tag=ffff', 'Call-ID': 'other', 'CSeq': '5 INVITE', 'Contact': '<sip:g@192.0.2.7>',
  'Content-Type': 'text/plain', 'Content-Length': '12', 'Route': '<sip:r.example.com;lr>', 'Supported': '100rel', 'X-Note': 'hello there',
};

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constantFrom('prepend' as const, 'append' as const, 'set' as const), name: fc.constantFrom(...NAMES) })
    .map((e) => ({ ...e, value: VALUES[e.name]! })),
  fc.record({ op: fc.constantFrom('remove' as const, 'removeFirst' as const), name: fc.constantFrom(...NAMES) }),
  fc.record({ op: fc.constant('take' as const), from: fc.nat({ max: TEXTS.length - 1 }), field: fc.nat({ max: 20 }), at: fc.nat({ max: 20 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat({ max: 20 }) }),
  fc.record({ op: fc.constant('move' as const), from: fc.nat({ max: 20 }), to: fc.nat({ max: 20 }) }),
  fc.record({ op: fc.constant('duplicate' as const), from: fc.nat({ max: 20 }), to: fc.nat({ max: 20 }) }),
  fc.record({ op: fc.constantFrom('uri' as const, 'clone' as const, 'reverse' as const, 'respond' as const) }),
  fc.record({ op: fc.constant('body' as const), text: fc.constantFrom('', 'v=0\n', 'héllo') }),
);

function apply(message: SipRequest | SipResponse, change: Edit): SipRequest | SipResponse {
  const headers = message.headers;
  switch (change.op) {
    case 'prepend': return message.prepend(change.name, change.value);
    case 'append': return message.append(change.name, change.value);
    case 'set': return message.set(change.name, change.value);
    case 'remove': message.remove(change.name); return message;
    case 'removeFirst': message.removeFirst(change.name); return message;
    case 'take': {
      const other = parseMessage(TEXTS[change.from]!);
      const field: HeaderField | undefined = other.headers[change.field % Math.max(1, other.headers.length)];
      if (field !== undefined) headers.splice(change.at % (headers.length + 1), 0, field);
      return message;
    }
    case 'delete':
      if (headers.length > 0) headers.splice(change.at % headers.length, 1);
      return message;
    case 'move': {
      if (headers.length === 0) return message;
      const [field] = headers.splice(change.from % headers.length, 1);
      headers.splice(change.to % (headers.length + 1), 0, field!);
      return message;
    }
    case 'duplicate':
      if (headers.length > 0) headers.splice(change.to % (headers.length + 1), 0, headers[change.from % headers.length]!);
      return message;
    case 'reverse':
      headers.reverse();
      return message;
    case 'respond': return message instanceof SipRequest && message.has('Via') && message.has('To') ? message.createResponse(200, 'OK', { toTag: 'rrrr' }) : message;
    case 'uri':
      if (message instanceof SipRequest) message.uri = { type: 'sip', scheme: 'sip', user: 'x', password: undefined, host: 'example.net', port: undefined, params: new Map(), headers: new Map() };
      return message;
    case 'clone': return message.clone();
    case 'body': return message.setBody(change.text);
  }
}

test('any edits: written exactly as the same fields built line by line', () => {
  const seed = Number(process.env.FUZZ_SEED ?? 20060501);
  // From text, and from bytes (whose head is cut before its final CRLF, so that its last line is never as received).
  fc.assert(fc.property(fc.nat({ max: TEXTS.length - 1 }), fc.boolean(), fc.array(edit, { maxLength: 8 }), (which, bytes, edits) => {
    let message = parseMessage(bytes ? new TextEncoder().encode(TEXTS[which]!) : TEXTS[which]!);
    assert.equal(message.toString(), builtLineByLine(message));
    for (const change of edits) {
      message = apply(message, change);
      assert.equal(message.toString(), builtLineByLine(message));
    }
  }), { seed, numRuns: 4000 });
});
