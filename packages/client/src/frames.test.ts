import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { checkServerMessage, EVENT_TYPES, REQUEST_TYPES, type RequestType } from '@switchboard/protocol';
import fc from 'fast-check';
import { GENERATED_PATH, generateChecksSource } from '../scripts/generate-checks.js';
import { parseServerFrame } from './frames.js';
import { ERROR_REPLY, EVENT_EXAMPLES, OFFER, RESULT_EXAMPLES } from './test-support/examples.js';

/** Every valid frame the examples give: each event, each request's reply, an error reply. */
function validFrames(): { frame: Record<string, unknown>; pending?: RequestType }[] {
  return [
    ...EVENT_TYPES.map((type) => ({ frame: EVENT_EXAMPLES[type] as Record<string, unknown> })),
    ...REQUEST_TYPES.map((type) => ({ frame: { id: '7', ok: true, result: RESULT_EXAMPLES[type] }, pending: type })),
    { frame: { ...ERROR_REPLY } },
    { frame: { id: null, ok: false, error: { code: 'bad-request', message: 'the frame is not valid JSON', details: { path: '', problem: 'json' } } } },
  ];
}

describe('generated checkers', () => {
  it('are what the protocol schemas produce today (run `npm run generate -w packages/client` after a protocol change)', () => {
    assert.equal(readFileSync(GENERATED_PATH, 'utf8'), generateChecksSource());
  });

  it('build no code at run time, so a Content-Security-Policy without unsafe-eval allows them', () => {
    const source = readFileSync(GENERATED_PATH, 'utf8');
    assert.doesNotMatch(source, /new Function|\beval\(/);
  });

  it('accept every valid frame', () => {
    for (const { frame, pending } of validFrames()) {
      const parsed = parseServerFrame(JSON.stringify(frame), () => pending);
      assert.ok(parsed.ok, `${JSON.stringify(frame).slice(0, 80)}: ${parsed.ok ? '' : parsed.problem}`);
    }
  });

  it('reject invalid frames', () => {
    const invalid: [string, unknown, RequestType?][] = [
      ['binary', new Uint8Array([123, 125])],
      ['not JSON', '{'],
      ['null', 'null'],
      ['neither event nor reply', { id: '1' }],
      ['unknown event', { type: 'session.draining' }],
      ['non-string type', { type: 7 }],
      ['extra property', { ...EVENT_EXAMPLES['call.ringing'], extra: 1 }],
      ['wrong enum', { ...EVENT_EXAMPLES['call.ended'], cause: 'exploded' }],
      ['SIP status out of range', { ...EVENT_EXAMPLES['call.ended'], sipStatus: 700 }],
      ['float time', { ...EVENT_EXAMPLES['call.answered'], answeredAt: 1.5 }],
      ['SDP without v=0', { ...EVENT_EXAMPLES['call.progress'], sdp: 'm=audio 9 RTP/AVP 0\r\n' }],
      ['SDP over 32 KiB of UTF-8', { ...EVENT_EXAMPLES['call.progress'], sdp: OFFER + 'a=x:' + 'é'.repeat(16_400) + '\r\n' }],
      ['line break in a name', { ...EVENT_EXAMPLES['call.incoming'], from: { number: '1\n2' } }],
      ['reply with a result of the wrong shape', { id: '3', ok: true, result: { callId: '' } }, 'call.start'],
      ['welcome without operator', { id: '1', ok: true, result: { ...RESULT_EXAMPLES.hello, operator: undefined } }, 'hello'],
      ['unknown error code', { id: '1', ok: false, error: { code: 'oops', message: 'x' } }],
      ['ok not boolean', { id: '1', ok: 'yes', result: {} }],
      ['frame over 64 KiB', JSON.stringify({ type: 'call.ringing', callId: 'c-1', pad: 'x'.repeat(70_000) })],
    ];
    for (const [what, frame, pending] of invalid) {
      const text = typeof frame === 'string' || frame instanceof Uint8Array ? frame : JSON.stringify(frame);
      const parsed = parseServerFrame(text, () => pending);
      assert.equal(parsed.ok, false, what);
    }
  });

  it('give the protocol package\'s verdict on any mutation of a valid frame', () => {
    const frames = validFrames();
    const verdicts = { accepted: 0, rejected: 0 };
    const leaf = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.string({ maxLength: 70 }),
      fc.constantFrom('', 'v=0\r\n', '\u202e', '\u0000', 'https://x.example/', 'javascript:x', '0', -1, 1.5, 2 ** 53, 100, 699, 700, null),
    );
    const mutation = fc.record({
      frame: fc.nat(frames.length - 1),
      at: fc.nat(),
      action: fc.constantFrom('set', 'delete', 'add'),
      key: fc.oneof(fc.constantFrom('type', 'id', 'ok', 'callId', 'extra', '__proto__', 'sdp'), fc.string({ maxLength: 8 })),
      value: leaf,
    });
    fc.assert(
      fc.property(mutation, ({ frame: index, at, action, key, value }) => {
        const { frame, pending } = frames[index]!;
        const copy = structuredClone(frame);
        const objects = collectObjects(copy);
        const target = objects[at % objects.length]!;
        const keys = Object.keys(target);
        if (action === 'delete' && keys.length > 0) delete target[keys[at % keys.length]!];
        else if (action === 'set' && keys.length > 0) target[keys[at % keys.length]!] = value;
        else Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });
        const text = JSON.stringify(copy);
        const expected = checkServerMessage(JSON.parse(text), { requestTypeOf: () => pending }).ok;
        const actual = parseServerFrame(text, () => pending).ok;
        assert.equal(actual, expected, text.slice(0, 300));
        verdicts[actual ? 'accepted' : 'rejected']++;
      }),
      { numRuns: 3_000 },
    );
    // Both verdicts must be common, or the comparison proves little.
    assert.ok(verdicts.accepted > 300 && verdicts.rejected > 300, JSON.stringify(verdicts));
  });
});

/** Every object within a frame, the frame first. */
function collectObjects(value: unknown, found: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (typeof value === 'object' && value !== null) {
    if (!Array.isArray(value)) found.push(value as Record<string, unknown>);
    for (const child of Object.values(value)) collectObjects(child, found);
  }
  return found;
}
