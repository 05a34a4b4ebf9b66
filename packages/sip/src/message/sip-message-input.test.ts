/**
 * What a message is asked to carry is held to the parser's rules: a message the stack writes reads back as the same
 * message, so no value can end its line early and start a header of the caller's making, and nothing goes to a peer
 * that the peer's parser (or ours) would refuse. A value refused leaves the message as it was.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SipError, SipParseError } from '../errors.js';
import { ParamList } from './param-list.js';
import { parseMessage } from './parse-message.js';
import { SipRequest, SipResponse, type SipMessage } from './sip-message.js';
import { parseUri, type SipUri } from './uri.js';

const OPTIONS = [
  'OPTIONS sip:bob@example.com SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1111',
  'Max-Forwards: 70',
  'To: <sip:bob@example.com>',
  'From: "Alice" <sip:alice@example.com>;tag=aaaa',
  'Call-ID: call-1@192.0.2.1',
  'CSeq: 1 OPTIONS',
  'X-Note: first',
  'Content-Length: 0',
  '',
  '',
].join('\r\n');

const uri = parseUri('sip:bob@example.com') as SipUri;

/** Whether `change` throws `kind` (with `code`) and leaves the message's text as it was. */
function refused(message: SipMessage, change: () => unknown, kind: new (...args: never[]) => SipError, code: string): SipError {
  const before = message.toString();
  let thrown: unknown;
  try {
    change();
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown instanceof kind, `expected ${kind.name}, got ${String(thrown)}`);
  assert.equal((thrown as SipError).code, code);
  assert.equal(message.toString(), before, 'the message is left as it was');
  return thrown as SipError;
}

/** The start line and every field of `message` as its written text reads back. */
function readBack(message: SipMessage): { start: string; fields: [string, string][] } {
  const again = parseMessage(message.toString());
  return { start: again.startLine(), fields: again.headers.map((field) => [field.name, field.value]) };
}

function asBuilt(message: SipMessage): { start: string; fields: [string, string][] } {
  return { start: message.startLine(), fields: message.headers.map((field) => [field.name, field.value]) };
}

describe('header values a message is asked to carry', () => {
  test('a line break or other control character in text: refused, whichever way it is added', () => {
    for (const bad of ['a\r\nInjected: yes', 'a\nInjected: yes', 'a\rb', 'a\x00b', 'a\x7fb', 'a\\\r\n b']) {
      for (const name of ['X-Custom', 'Subject', 'User-Agent', 'Call-ID', 'Contact']) {
        const message = parseMessage(OPTIONS);
        refused(message, () => message.set(name, bad), SipParseError, 'parse');
        refused(message, () => message.append(name, bad), SipParseError, 'parse');
        refused(message, () => message.prepend(name, bad), SipParseError, 'parse');
      }
    }
    // HTAB is white space, and an escaped character in text is text.
    const message = parseMessage(OPTIONS).set('Subject', 'a\tb \\x');
    assert.deepEqual(readBack(message), asBuilt(message));
  });

  test('a backslash escapes a control character only inside a quoted string, in what is built and in what is read', () => {
    for (const bad of ['a\\\x00b', 'a\\\x07', '(a\\\x00)', '"a" \\\x00']) {
      for (const name of ['Subject', 'X-Custom']) {
        const message = parseMessage(OPTIONS);
        refused(message, () => message.set(name, bad), SipParseError, 'parse');
        assert.throws(() => parseMessage(OPTIONS.replace('Content-Length: 0', `${name}: ${bad}\r\nContent-Length: 0`)), (error: unknown) =>
          error instanceof SipParseError && error.status === 400 && /control character/.test(error.message), JSON.stringify(bad));
      }
    }
    for (const good of ['"a\\\x00b"', 'x="\\\x07", y', '"\\\\" "\\\x7f"']) {
      const message = parseMessage(OPTIONS).set('X-Custom', good);
      assert.deepEqual(readBack(message), asBuilt(message), JSON.stringify(good));
      const parsed = parseMessage(OPTIONS.replace('Content-Length: 0', `X-Custom: ${good}\r\nContent-Length: 0`));
      assert.equal(parsed.get('X-Custom'), good);
    }
  });

  test('structured values that would not read back: refused, with the reason as the cause', () => {
    const tag = (value: string) => new ParamList(['tag', value]);
    const cases: [string, unknown][] = [
      ['From', { displayName: 'Alice\r\nInjected: yes', uri, params: tag('1') }],
      ['From', { displayName: undefined, uri, params: tag('1\r\nInjected: yes') }],
      ['To', { displayName: undefined, uri: { ...uri, user: 'bob\r\nInjected: yes' }, params: new ParamList([]) }],
      ['Contact', { displayName: undefined, uri: { ...uri, host: 'example.com>, <sip:evil.example' }, params: new ParamList([]) }],
      ['Via', { protocol: 'SIP/2.0', transport: 'UDP', host: 'h\r\nInjected: yes', port: undefined, params: new ParamList([]) }],
      ['CSeq', { seq: -1, method: 'INVITE' }],
      ['CSeq', { seq: 1, method: 'IN VITE' }],
      ['Max-Forwards', -1],
      ['Max-Forwards', 1.5],
      ['Max-Forwards', Number.NaN],
      ['Expires', 2 ** 40],
      ['Content-Type', { mediaType: 'application/sdp\r\nInjected: yes', params: new ParamList([]) }],
      ['Supported', ['timer', 'bad token']],
      ['Date', new Date(Number.NaN)],
    ];
    for (const [name, value] of cases) {
      const message = parseMessage(OPTIONS);
      const error = refused(message, () => message.set(name, value as never), SipError, 'invalid-argument');
      assert.ok(error.cause instanceof SipError, `${name}: the parser's error is the cause`);
      assert.match(error.message, new RegExp(`^${name}: `));
    }
  });

  test('a display name with control characters other than line ends is written escaped and reads back the same', () => {
    const displayName = 'BEL:\x07 NUL:\x00 DEL:\x7f "quoted" back\\slash\ttab';
    const message = parseMessage(OPTIONS).set('From', { displayName, uri, params: new ParamList(['tag', 'aaaa']) });
    assert.equal((parseMessage(message.toString()).from)?.displayName, displayName);
    assert.deepEqual(readBack(message), asBuilt(message));
    // A response to a request whose To has one (RFC 4475 §3.1.1.2), with a To tag added.
    const request = parseMessage(OPTIONS.replace('To: <sip:bob@example.com>', 'To: "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f" <sip:bob@example.com>')) as SipRequest;
    const response = request.createResponse(501, 'Not Implemented', { toTag: 'tttt' });
    assert.equal(parseMessage(response.toString()).to?.displayName, 'BEL:\x07 NUL:\x00 DEL:\x7f');
  });

  test('credentials that would not read back are refused without quoting them', () => {
    const message = parseMessage(OPTIONS);
    const authorization = { scheme: 'Digest', params: new ParamList(['username', 'alice', 'response', 'secret-0123\r\nInjected: yes']) };
    const error = refused(message, () => message.set('Authorization', authorization), SipError, 'invalid-argument');
    assert.doesNotMatch(error.message, /secret-0123/);
  });

  test('a header name that is not a token: refused', () => {
    for (const name of ['', 'Bad Name', 'A:B', 'X\r\nY', 'Übername', 'X(1)']) {
      const message = parseMessage(OPTIONS);
      refused(message, () => message.set(name, 'value'), SipError, 'invalid-argument');
      refused(message, () => message.append(name, 'value'), SipError, 'invalid-argument');
      refused(message, () => message.prepend(name, 'value'), SipError, 'invalid-argument');
    }
  });

  test('a header the stack has no structure for takes text or a finite number', () => {
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, {}, undefined, null, true]) {
      const message = parseMessage(OPTIONS);
      refused(message, () => message.set('X-Custom', value as never), SipError, 'invalid-argument');
    }
    const message = parseMessage(OPTIONS).set('X-Custom', 42);
    assert.equal(message.get('X-Custom'), '42');
  });

  test('text with a lone surrogate, which has no UTF-8 form, is refused', () => {
    const message = parseMessage(OPTIONS);
    refused(message, () => message.set('X-Custom', 'a\ud800b'), SipParseError, 'parse');
    refused(message, () => message.set('From', { displayName: 'A\udc00', uri, params: new ParamList([]) }), SipError, 'invalid-argument');
  });

  test('a response to a request whose To is as long as the parser takes can still be built, its tag added', () => {
    const user = 'u'.repeat(16384 - '<sip:@example.com>'.length);
    const request = parseMessage(OPTIONS.replace('To: <sip:bob@example.com>', `To: <sip:${user}@example.com>`)) as SipRequest;
    const response = request.createResponse(486, 'Busy Here', { toTag: 'tttt' });
    assert.equal(response.toTag, 'tttt');
    assert.equal(response.to?.uri.type === 'sip' && response.to.uri.user, user);
  });

  test('a body and its type: a type that would not read back leaves both as they were', () => {
    const message = parseMessage(OPTIONS).setBody('v=0\r\n', 'application/sdp');
    refused(message, () => message.setBody('hello', 'text/plain\r\nInjected: yes'), SipParseError, 'parse');
    assert.equal(message.bodyText, 'v=0\r\n');
  });

  test('white space around a value is not part of it', () => {
    const message = parseMessage(OPTIONS).set('X-Custom', ' \t spaced \t ');
    assert.equal(message.get('X-Custom'), 'spaced');
    assert.deepEqual(readBack(message), asBuilt(message));
  });

  test('several values: all are checked before any is added', () => {
    for (const change of ['set', 'append', 'prepend'] as const) {
      const message = parseMessage(OPTIONS);
      refused(message, () => message[change]('X-Note', 'fine', 'bad\r\nInjected: yes'), SipParseError, 'parse');
      assert.deepEqual(message.getAll('X-Note'), ['first']);
    }
  });

  test('set replaces every field of the name where the first was; prepend goes before the first', () => {
    const message = parseMessage(OPTIONS).append('X-Note', 'second').prepend('Route', '<sip:p1.example.com;lr>');
    message.set('X-Note', 'one', 'two');
    assert.deepEqual(message.headers.map((field) => field.name), ['Route', 'Via', 'Max-Forwards', 'To', 'From', 'Call-ID', 'CSeq', 'X-Note', 'X-Note', 'Content-Length']);
    assert.deepEqual(message.getAll('X-Note'), ['one', 'two']);
    message.prepend('Via', 'SIP/2.0/TCP proxy.example.com;branch=z9hG4bK-p');
    assert.deepEqual(message.headers.slice(0, 3).map((field) => field.name), ['Route', 'Via', 'Via']);
    message.set('Max-Forwards', 69);
    assert.equal(message.maxForwards, 69);
    assert.equal(message.headers[3]!.name, 'Max-Forwards');
    message.set('X-Absent', 'new');
    assert.equal(message.headers.at(-1)!.name, 'X-Absent');
    assert.deepEqual(readBack(message), asBuilt(message));
  });
});

describe('start lines a message is built with', () => {
  test('a status that is not an integer from 100 to 699, or a reason with a control character: refused', () => {
    for (const status of [99, 700, 200.5, Number.NaN, -200]) {
      assert.throws(() => new SipResponse(status, 'OK'), (error: unknown) => error instanceof SipError && error.code === 'invalid-argument');
    }
    for (const reason of ['OK\r\nInjected: yes', 'OK\n', 'O\x00K', 'O\x7fK', 'OK\ud800']) {
      assert.throws(() => new SipResponse(200, reason), (error: unknown) => error instanceof SipError && error.code === 'invalid-argument');
    }
    const request = parseMessage(OPTIONS) as SipRequest;
    assert.throws(() => request.createResponse(200, 'OK\r\nInjected: yes'), (error: unknown) => error instanceof SipError && error.code === 'invalid-argument');
    for (const reason of ['Very\tFine', 'Très bien', '']) {
      const response = new SipResponse(200, reason);
      assert.equal((parseMessage(response.toString()) as SipResponse).reason, reason);
    }
  });

  test('a method that is not a token, or a Request-URI a request may not carry: refused', () => {
    const refusedRequest = (build: () => unknown) =>
      assert.throws(build, (error: unknown) => error instanceof SipError && error.code === 'invalid-argument');
    for (const method of ['', 'IN VITE', 'INVITE\r\nInjected:', 'A:B']) refusedRequest(() => new SipRequest(method, uri));
    refusedRequest(() => new SipRequest('INVITE', { ...uri, user: 'bob\r\nInjected: yes' }));
    refusedRequest(() => new SipRequest('INVITE', { ...uri, host: 'example.com SIP/2.0' }));
    refusedRequest(() => new SipRequest('INVITE', uri, 'sip:bob@example.com?Subject=hi'));
    refusedRequest(() => new SipRequest('INVITE', uri, 'sip:bob@example.com SIP/2.0\r\nInjected: yes'));
    refusedRequest(() => new SipRequest('INVITE', uri, '<sip:bob@example.com>'));
    const request = parseMessage(OPTIONS) as SipRequest;
    const before = request.toString();
    refusedRequest(() => (request.uri = { ...uri, user: 'bob carol' }));
    assert.equal(request.toString(), before, 'the Request-URI is left as it was');
    request.uri = parseUri('sip:carol@example.com;transport=tcp');
    assert.equal(request.uriText, 'sip:carol@example.com;transport=tcp');
    assert.deepEqual(readBack(request), asBuilt(request));
    // A target's header fields and method parameter are not part of a Request-URI; the URI kept is the one written.
    const target = new SipRequest('INVITE', parseUri('sip:bob@example.com;method=INVITE;lr?Subject=hi'));
    assert.equal(target.uriText, 'sip:bob@example.com;lr');
    assert.deepEqual(target.uri, parseUri('sip:bob@example.com;lr'));
    const written = new SipRequest('INVITE', uri, 'sip:carol@example.org');
    assert.equal(written.uri.type === 'sip' && written.uri.user, 'carol');
    const built = new SipRequest('MESSAGE', parseUri('tel:+15551234567'));
    assert.equal(built.startLine(), 'MESSAGE tel:+15551234567 SIP/2.0');
  });
});

describe('any edit of a message', () => {
  // Names the stack knows (structured or not), unknown ones, and ones that are not tokens.
  const NAMES = ['Subject', 'X-Custom', 'Call-ID', 'Contact', 'Route', 'Via', 'Supported', 'Max-Forwards', 'Content-Type', 'Expires',
    'Organization', 'Allow-Events', 'Accept', 'To', 'Bad Name', 'A:B', ''];
  // Characters that matter to a header line: line ends, controls, separators, quotes, brackets, white space, escapes.
  const CHARACTERS = ['a', 'Z', '0', '9', ' ', '\t', '\r', '\n', '\x00', '\x7f', ',', ';', ':', '=', '"', '\\', '<', '>', '@', '/', '.',
    '-', 'é', '\u2028', '\ud800', 'sip:', 'SIP/2.0/UDP ', 'h.example.com', ';branch=z9hG4bK-', '<sip:x@y>', 'timer'];
  const text = fc.array(fc.constantFrom(...CHARACTERS), { maxLength: 12 }).map((parts) => parts.join(''));
  const value = fc.oneof(
    text,
    fc.integer({ min: -5, max: 100 }),
    // A structured address, given to any header: written and read back where it is one, refused elsewhere.
    fc.record({ displayName: fc.option(text, { nil: undefined }), user: text, tag: text }).map(({ displayName, user, tag }) => ({
      displayName, uri: { ...uri, user }, params: new ParamList(['tag', tag]),
    })),
    fc.constantFrom('<sip:p1.example.com;lr>', 'SIP/2.0/TCP p.example.com;branch=z9hG4bK-x', 'timer, path', '"Bob, Jr." <sip:bob@b>', '70', '*'),
  );
  const edit = fc.record({
    change: fc.constantFrom('set' as const, 'append' as const, 'prepend' as const),
    name: fc.constantFrom(...NAMES),
    values: fc.array(value, { minLength: 1, maxLength: 3 }),
  });

  test('either is refused with a SipError, leaving the message as it was, or is written as what reads back', () => {
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 6 }), (edits) => {
        const message = parseMessage(OPTIONS);
        for (const { change, name, values } of edits) {
          const before = message.toString();
          try {
            message[change](name, ...(values as never[]));
          } catch (error) {
            assert.ok(error instanceof SipError, `${change}(${JSON.stringify(name)}, ${JSON.stringify(values)}) threw ${String(error)}`);
            assert.equal(message.toString(), before);
            continue;
          }
          assert.deepEqual(readBack(message), asBuilt(message), `${change}(${JSON.stringify(name)}, ${JSON.stringify(values)})`);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
