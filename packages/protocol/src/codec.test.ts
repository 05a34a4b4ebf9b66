import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  ERROR_CODES,
  EVENT_TYPES,
  MAX_FRAME_BYTES,
  MAX_SDP_BYTES,
  MAX_TARGET_LENGTH,
  PROBLEMS,
  REQUEST_TYPES,
  checkResult,
  checkServerMessage,
  encodeClientMessage,
  encodeServerMessage,
  parseClientMessage,
  parseServerMessage,
  replyError,
  replyOk,
  replyToFailure,
  type ParseResult,
  type RequestType,
} from './index.js';
import { EVENT_EXAMPLES, REQUEST_EXAMPLES, RESULT_EXAMPLES, SDP_OFFER } from './test-support/examples.js';

const start = REQUEST_EXAMPLES['call.start'];

function failure<T>(result: ParseResult<T>) {
  assert.equal(result.ok, false, `expected a failure, got ${JSON.stringify(result)}`);
  return (result as Extract<ParseResult<T>, { ok: false }>).error;
}

function refusedClient(value: unknown, code: string, path: string, problem: string) {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const error = failure(parseClientMessage(text));
  assert.deepEqual({ code: error.code, path: error.path, problem: error.problem }, { code, path, problem }, error.message);
  return error;
}

describe('valid messages round-trip', () => {
  test('every request type has an example, and each parses back to itself', () => {
    assert.deepEqual(Object.keys(REQUEST_EXAMPLES).sort(), [...REQUEST_TYPES].sort());
    for (const type of REQUEST_TYPES) {
      const message = REQUEST_EXAMPLES[type];
      assert.deepEqual(parseClientMessage(encodeClientMessage(message)), { ok: true, message }, type);
    }
  });

  test('every event type has an example, and each parses back to itself', () => {
    assert.deepEqual(Object.keys(EVENT_EXAMPLES).sort(), [...EVENT_TYPES].sort());
    for (const type of EVENT_TYPES) {
      const message = EVENT_EXAMPLES[type];
      assert.deepEqual(parseServerMessage(encodeServerMessage(message)), { ok: true, message }, type);
    }
  });

  test('every result parses inside a reply, checked against the request it answers', () => {
    for (const type of REQUEST_TYPES) {
      const reply = replyOk('r1', RESULT_EXAMPLES[type]);
      const parsed = parseServerMessage(encodeServerMessage(reply), { requestTypeOf: () => type });
      assert.deepEqual(parsed, { ok: true, message: reply }, type);
      assert.equal(checkResult(type, RESULT_EXAMPLES[type]).ok, true, type);
    }
  });

  test('error replies parse, with or without a readable request id', () => {
    for (const reply of [
      replyError('7', 'call-state', 'the call is not ringing'),
      replyError(null, 'bad-request', 'the frame is not valid JSON', { path: '', problem: 'json' }),
      replyError('8', 'rate-limited', 'slow down', { retryAfterMs: 500 }),
    ]) {
      assert.deepEqual(parseServerMessage(encodeServerMessage(reply)), { ok: true, message: reply });
    }
  });

  test('targets: extensions, E.164 numbers, user parts and feature codes', () => {
    for (const target of ['201', '+493012345678', 'alice.smith', "o'brien", '*72', '#31#', 'x'.repeat(MAX_TARGET_LENGTH)]) {
      assert.equal(parseClientMessage(JSON.stringify({ ...start, target })).ok, true, target);
    }
  });

  test('an SDP exactly at the byte limit is accepted; the limit counts UTF-8 bytes', () => {
    const filler = (n: number) => SDP_OFFER + 'a=x:'.padEnd(n - SDP_OFFER.length, 'y');
    assert.equal(parseClientMessage(JSON.stringify({ ...start, sdp: filler(MAX_SDP_BYTES) })).ok, true);
    const wide = SDP_OFFER + 's=' + 'é'.repeat((MAX_SDP_BYTES - SDP_OFFER.length) / 2);
    refusedClient({ ...start, sdp: wide }, 'too-large', '/sdp', 'too-long');
  });
});

describe('invalid messages are refused with a code, a path and a problem', () => {
  const cases: [string, unknown, string, string, string][] = [
    ['malformed JSON', '{"type":', 'bad-request', '', 'json'],
    ['a bare string', '"hello"', 'bad-request', '', 'type'],
    ['an array', '[]', 'bad-request', '', 'type'],
    ['null', 'null', 'bad-request', '', 'type'],
    ['no type', { id: '1' }, 'bad-request', '/type', 'missing'],
    ['a numeric type', { type: 7, id: '1' }, 'bad-request', '/type', 'type'],
    ['an unknown type', { type: 'call.teleport', id: '1' }, 'unknown-type', '/type', 'unknown-type'],
    ['an inherited name as type', { type: 'constructor', id: '1' }, 'unknown-type', '/type', 'unknown-type'],
    ['an event name from the client', { type: 'call.incoming', id: '1' }, 'unknown-type', '/type', 'unknown-type'],
    ['no id', { type: 'ping' }, 'bad-request', '/id', 'missing'],
    ['an empty id', { type: 'ping', id: '' }, 'bad-request', '/id', 'too-short'],
    ['a numeric id', { type: 'ping', id: 1 }, 'bad-request', '/id', 'type'],
    ['an id with a space', { type: 'ping', id: 'a b' }, 'bad-request', '/id', 'pattern'],
    ['an id too long', { type: 'ping', id: 'i'.repeat(65) }, 'too-large', '/id', 'too-long'],
    ['an extra property', { type: 'ping', id: '1', debug: true }, 'bad-request', '/debug', 'unexpected'],
    ['a __proto__ property', '{"type":"ping","id":"1","__proto__":{"x":1}}', 'bad-request', '/__proto__', 'unexpected'],
    ['no target', { ...start, target: undefined }, 'bad-request', '/target', 'missing'],
    ['a numeric target', { ...start, target: 201 }, 'bad-request', '/target', 'type'],
    ['a target with a space', { ...start, target: '030 1234' }, 'invalid-target', '/target', 'pattern'],
    ['a target with <>', { ...start, target: '<sip:evil@x>' }, 'invalid-target', '/target', 'pattern'],
    ['a target with a control character', { ...start, target: '201\u0000' }, 'invalid-target', '/target', 'pattern'],
    ['a target with a line break', { ...start, target: '201\r\nVia: x' }, 'invalid-target', '/target', 'pattern'],
    ['a target with URI parameters', { ...start, target: '201;transport=tcp' }, 'invalid-target', '/target', 'pattern'],
    ['a target with a host', { ...start, target: '201@evil.example' }, 'invalid-target', '/target', 'pattern'],
    ['an empty target', { ...start, target: '' }, 'invalid-target', '/target', 'too-short'],
    ['a target too long', { ...start, target: '1'.repeat(MAX_TARGET_LENGTH + 1) }, 'invalid-target', '/target', 'too-long'],
    ['a transfer target with a space', { ...REQUEST_EXAMPLES['call.transfer'], target: '2 04' }, 'invalid-target', '/target', 'pattern'],
    ['an SDP that is not one', { ...start, sdp: '{"type":"offer"}' }, 'bad-request', '/sdp', 'pattern'],
    ['an SDP too long', { ...start, sdp: SDP_OFFER.padEnd(MAX_SDP_BYTES + 1, 'x') }, 'too-large', '/sdp', 'too-long'],
    ['a context with a line break', { ...start, context: 'deal\n4711' }, 'bad-request', '/context', 'pattern'],
    ['a context with a bidi override', { ...start, context: 'deal\u202E1174' }, 'bad-request', '/context', 'pattern'],
    ['a reject reason outside the set', { ...REQUEST_EXAMPLES['call.reject'], reason: 'later' }, 'bad-request', '/reason', 'not-allowed'],
    ['an ICE candidate of the wrong kind', { ...REQUEST_EXAMPLES['call.ice'], candidate: 'candidate:1' }, 'bad-request', '/candidate', 'type'],
    ['a nested wrong type', { ...REQUEST_EXAMPLES['call.ice'], candidate: { candidate: 1 } }, 'bad-request', '/candidate/candidate', 'type'],
    ['DTMF outside 0-9 A-D * #', { ...REQUEST_EXAMPLES['call.dtmf'], digits: '12E' }, 'bad-request', '/digits', 'pattern'],
    ['a DTMF duration out of range', { ...REQUEST_EXAMPLES['call.dtmf'], durationMs: 5 }, 'bad-request', '/durationMs', 'range'],
    ['a fractional protocol version', { ...REQUEST_EXAMPLES.hello, protocol: 1.5 }, 'bad-request', '/protocol', 'type'],
    ['an unsupported protocol version', { ...REQUEST_EXAMPLES.hello, protocol: 2, future: 1 }, 'bad-request', '/protocol', 'unsupported-version'],
    ['a token with a space', { ...REQUEST_EXAMPLES.hello, token: 'a b' }, 'bad-request', '/token', 'pattern'],
    ['a client without a version', { ...REQUEST_EXAMPLES.hello, client: { name: 'x' } }, 'bad-request', '/client/version', 'missing'],
  ];
  for (const [name, value, code, path, problem] of cases) {
    test(name, () => void refusedClient(value, code, path, problem));
  }

  test('the request id comes back with the error so that the reply can echo it', () => {
    const error = refusedClient({ type: 'call.hangup', id: 'q7' }, 'bad-request', '/callId', 'missing');
    assert.equal(error.id, 'q7');
    assert.equal(error.message, '/callId: is required');
    assert.deepEqual(replyToFailure(error), {
      id: 'q7',
      ok: false,
      error: { code: 'bad-request', message: '/callId: is required', details: { path: '/callId', problem: 'missing' } },
    });
    assert.equal(replyToFailure(failure(parseClientMessage('{'))).id, null);
  });

  test('oversized frames are refused before parsing, by UTF-8 bytes, with a configurable bound', () => {
    refusedClient(' '.repeat(MAX_FRAME_BYTES + 1), 'too-large', '', 'too-large');
    const ping = JSON.stringify({ type: 'ping', id: '1' });
    assert.equal(parseClientMessage(ping.padEnd(MAX_FRAME_BYTES, ' ')).ok, true);
    const wide = JSON.stringify({ type: 'ping', id: '1', x: '€'.repeat(MAX_FRAME_BYTES / 3) });
    assert.ok(wide.length < MAX_FRAME_BYTES);
    assert.equal(failure(parseClientMessage(wide)).code, 'too-large');
    assert.equal(failure(parseClientMessage(ping, { maxFrameBytes: 10 })).code, 'too-large');
    assert.equal(failure(parseServerMessage(' '.repeat(MAX_FRAME_BYTES + 1))).code, 'too-large');
  });

  test('server frames: unknown events, malformed replies and results that do not fit the request', () => {
    const cases: [string, Parameters<typeof parseServerMessage>[1], string, string, string][] = [
      ['{"type":"call.teleported","callId":"c"}', {}, 'unknown-type', '/type', 'unknown-type'],
      ['{"type":"ping","id":"1"}', {}, 'unknown-type', '/type', 'unknown-type'],
      ['{"id":"1"}', {}, 'bad-request', '/type', 'missing'],
      ['{"id":"1","ok":"yes","result":{}}', {}, 'bad-request', '/ok', 'type'],
      ['{"id":"1","ok":true}', {}, 'bad-request', '/result', 'missing'],
      ['{"id":"1","ok":false,"error":{"code":"oops","message":"m"}}', {}, 'bad-request', '/error/code', 'not-allowed'],
      ['{"id":"1","ok":true,"result":{}}', { requestTypeOf: () => 'call.start' }, 'bad-request', '/result/callId', 'missing'],
      ['{"id":"1","ok":true,"result":{"x":1}}', { requestTypeOf: () => 'ping' }, 'bad-request', '/result/serverTime', 'missing'],
      [JSON.stringify({ ...EVENT_EXAMPLES['call.ended'], cause: 'gone' }), {}, 'bad-request', '/cause', 'not-allowed'],
      [JSON.stringify({ ...EVENT_EXAMPLES['call.incoming'], from: { number: '' } }), {}, 'bad-request', '/from/number', 'too-short'],
      [
        JSON.stringify({ ...EVENT_EXAMPLES['call.incoming'], contact: { url: 'javascript:alert(1)' } }),
        {},
        'bad-request',
        '/contact/url',
        'pattern',
      ],
      [JSON.stringify({ ...EVENT_EXAMPLES['line.state'], state: 'up' }), {}, 'bad-request', '/state', 'not-allowed'],
    ];
    for (const [text, options, code, path, problem] of cases) {
      const error = failure(parseServerMessage(text, options));
      assert.deepEqual({ code: error.code, path: error.path, problem: error.problem }, { code, path, problem }, text);
    }
    const welcome = { ...RESULT_EXAMPLES.hello, iceServers: [{ urls: ['http://turn.example.com'] }] };
    const error = failure(checkResult('hello', welcome));
    assert.deepEqual([error.path, error.problem], ['/iceServers/0/urls/0', 'pattern']);
  });
});

describe('nothing throws, whatever arrives', () => {
  const jsonValue = fc.jsonValue({ maxDepth: 4 });
  const examples = [
    ...REQUEST_TYPES.map((t) => REQUEST_EXAMPLES[t] as Record<string, unknown>),
    ...EVENT_TYPES.map((t) => EVENT_EXAMPLES[t] as Record<string, unknown>),
  ];
  /** A valid message with one property replaced, removed or added: close to valid is where checks slip. */
  const mutated = fc
    .tuple(fc.constantFrom(...examples), fc.string({ maxLength: 12 }), fc.option(jsonValue, { nil: undefined }))
    .map(([example, key, value]) => {
      const keys = Object.keys(example);
      const target = keys.includes(key) || key.length === 0 ? key : keys[key.length % keys.length]!;
      return JSON.stringify({ ...example, [target]: value });
    });
  const frames = fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), jsonValue.map((v) => JSON.stringify(v)), mutated);

  function wellFormed(result: ParseResult<unknown>): void {
    if (result.ok) return;
    const { error } = result;
    assert.ok((ERROR_CODES as readonly string[]).includes(error.code), error.code);
    assert.ok((PROBLEMS as readonly string[]).includes(error.problem), error.problem);
    assert.ok(error.path === '' || error.path.startsWith('/'), error.path);
    // What the gateway would send back must itself be a valid server message.
    assert.equal(checkServerMessage(replyToFailure(error)).ok, true, JSON.stringify(error));
  }

  test('parseClientMessage and parseServerMessage return a well-formed verdict for any frame', () => {
    const types = [...REQUEST_TYPES] as RequestType[];
    fc.assert(
      fc.property(frames, fc.constantFrom(...types), (text, pending) => {
        wellFormed(parseClientMessage(text));
        wellFormed(parseServerMessage(text));
        wellFormed(parseServerMessage(text, { requestTypeOf: () => pending, maxFrameBytes: 100 }));
      }),
      { numRuns: 4000 },
    );
  });

  test('anything accepted re-encodes to an equivalent frame that is accepted again', () => {
    fc.assert(
      fc.property(frames, (text) => {
        const first = parseClientMessage(text);
        if (first.ok) assert.deepEqual(parseClientMessage(encodeClientMessage(first.message)), first);
        const server = parseServerMessage(text);
        if (server.ok) assert.deepEqual(parseServerMessage(encodeServerMessage(server.message)), server);
      }),
      { numRuns: 2000 },
    );
  });

  test('non-string frames from untyped callers are refused, not thrown on', () => {
    for (const frame of [undefined, null, 42, {}, new Uint8Array(3)]) {
      assert.equal(failure(parseClientMessage(frame as unknown as string)).code, 'bad-request');
    }
  });
});
