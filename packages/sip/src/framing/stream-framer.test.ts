import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SipFramingError, SipParseError } from '../errors.js';
import { parseMessage } from '../message/parse-message.js';
import { StreamFramer, type FramedItem, type FramerLimits } from './stream-framer.js';

const CORPUS = '/work/shared/conformance/rfc4475/';
const CHUNK_SIZES = [1, 7, 64, 4096];
const encoder = new TextEncoder();

/** What the framer produced, in a form deepEqual compares by content. */
function summarize(item: FramedItem): Record<string, unknown> {
  switch (item.type) {
    case 'message':
      return { type: item.type, raw: Buffer.from(item.raw), bytes: Buffer.from(item.message.serialize()) };
    case 'invalid':
      return { type: item.type, raw: Buffer.from(item.raw), status: item.error.status, message: item.error.message };
    case 'error':
      return { type: item.type, status: item.error.status, message: item.error.message };
    default:
      return { type: item.type };
  }
}

function frame(data: Uint8Array, chunkSize: number, limits: Partial<FramerLimits> = {}) {
  const framer = new StreamFramer(limits);
  const items: FramedItem[] = [];
  for (let at = 0; at < data.length; at += chunkSize) items.push(...framer.push(data.subarray(at, at + chunkSize)));
  return { items, summary: items.map(summarize), buffered: framer.buffered, closed: framer.closed };
}

function frameAll(data: Uint8Array | string, limits: Partial<FramerLimits> = {}) {
  const bytes = typeof data === 'string' ? encoder.encode(data) : data;
  const results = CHUNK_SIZES.map((size) => frame(bytes, size, limits));
  for (const result of results.slice(1)) {
    assert.deepEqual({ ...result, items: undefined }, { ...results[0]!, items: undefined });
  }
  return results[results.length - 1]!;
}

function request(body = '', extra = ''): string {
  return 'OPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n'
    + 'From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: c1@example.com\r\nCSeq: 1 OPTIONS\r\n'
    + extra + `Content-Length: ${encoder.encode(body).length}\r\n\r\n${body}`;
}

const types = (items: FramedItem[]): string[] => items.map((item) => item.type);

describe('StreamFramer on the RFC 4475 torture tests', () => {
  const files = readdirSync(CORPUS).filter((name) => name.endsWith('.dat')).sort();
  test('the corpus is all there', () => assert.equal(files.length, 50));

  for (const file of files) {
    test(file, () => {
      const data = new Uint8Array(readFileSync(CORPUS + file));
      const { items } = frameAll(data);
      const text = Buffer.from(data).toString('latin1');
      const headEnd = text.indexOf('\r\n\r\n');
      const lengths = [...text.slice(0, headEnd === -1 ? text.length : headEnd).matchAll(/^(?:content-length|l)[ \t]*:[ \t]*(.*?)[ \t]*$/gim)];
      const first = items[0];
      if (lengths.length === 1 && /^[0-9]+$/.test(lengths[0]![1]!) && first !== undefined && first.type !== 'error') {
        let expected: Uint8Array | SipParseError;
        try {
          expected = parseMessage(data).serialize();
        } catch (error) {
          assert.ok(error instanceof SipParseError);
          expected = error;
        }
        if (expected instanceof SipParseError) {
          assert.equal(first.type, 'invalid');
          assert.equal(first.error.status, expected.status);
          assert.equal(first.error.message, expected.message);
        } else {
          assert.equal(first.type, 'message');
          assert.deepEqual(Buffer.from(first.message.serialize()), Buffer.from(expected));
        }
      }
    });
  }

  test('streams need a Content-Length: missing, duplicate and negative ones close the stream', () => {
    const expectError = (file: string, before: string[], message: RegExp): void => {
      const result = frameAll(new Uint8Array(readFileSync(CORPUS + file)));
      assert.deepEqual(types(result.items), [...before, 'error']);
      const last = result.items[result.items.length - 1]!;
      assert.ok(last.type === 'error' && last.error instanceof SipFramingError && last.error.code === 'framing');
      assert.match(last.error.message, message);
      assert.equal(result.closed, true);
    };
    expectError('TC_INV2543_I.dat', [], /no Content-Length/);
    expectError('TC_MCL01_I.dat', [], /more than one Content-Length/);
    expectError('TC_NCL_I.dat', [], /invalid Content-Length "-999"/);
    // Two requests back to back, then 5 bytes the second one's Content-Length leaves over: "C\r\n\r\n".
    expectError('TC_DBLREQ.dat', ['message', 'pong', 'message'], /no Content-Length/);
  });

  test('incomplete messages are held, not reported', () => {
    for (const file of ['TC_CLERR_I.dat', 'TC_BADDN_I.dat']) {
      const data = new Uint8Array(readFileSync(CORPUS + file));
      const result = frameAll(data);
      assert.deepEqual(result.items, []);
      assert.equal(result.buffered, data.length);
      assert.equal(result.closed, false);
    }
  });

  test('the files that frame, concatenated into one stream, give the same items in order', () => {
    const parts: Uint8Array[] = [];
    const expected: Record<string, unknown>[] = [];
    for (const file of files) {
      const data = new Uint8Array(readFileSync(CORPUS + file));
      const alone = frame(data, data.length);
      if (alone.closed || alone.buffered > 0) continue;
      parts.push(data, encoder.encode('\r\n\r\n'));
      expected.push(...alone.summary, { type: 'ping' });
    }
    assert.ok(expected.length > 80);
    const stream = Buffer.concat(parts);
    assert.deepEqual(frameAll(stream).summary, expected);
    // Arbitrary cut points, not just fixed chunk sizes.
    fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 300 }), (cuts) => {
      const framer = new StreamFramer();
      const items: FramedItem[] = [];
      let at = 0;
      for (const cut of [...cuts.sort((x, y) => x - y), stream.length]) {
        items.push(...framer.push(stream.subarray(at, cut)));
        at = cut;
      }
      assert.deepEqual(items.map(summarize), expected);
    }), { numRuns: 40 });
  });
});

describe('StreamFramer keep-alives (RFC 5626 §4.4.1)', () => {
  test('a double CRLF is a ping', () => {
    assert.deepEqual(types(frameAll('\r\n\r\n').items), ['ping']);
  });

  test('a lone CRLF is a pong once the next byte shows it is not a ping', () => {
    const framer = new StreamFramer();
    assert.deepEqual(framer.push(encoder.encode('\r\n')), []);
    assert.equal(framer.buffered, 2);
    assert.equal(framer.inMessage, false);
    assert.deepEqual(types(framer.push(encoder.encode(request()))), ['pong', 'message']);
  });

  test('a side awaiting a pong takes a held lone CRLF as one; nothing else is taken', () => {
    const framer = new StreamFramer();
    assert.equal(framer.takeHeldPong(), false, 'nothing held');
    framer.push(encoder.encode('\r'));
    assert.equal(framer.takeHeldPong(), false, 'half a CRLF');
    framer.push(encoder.encode('\n'));
    assert.equal(framer.takeHeldPong(), true);
    assert.equal(framer.buffered, 0);
    assert.deepEqual(types(framer.push(encoder.encode(request()))), ['message'], 'the stream goes on in step');
    framer.push(encoder.encode(request().slice(0, 20)));
    assert.equal(framer.takeHeldPong(), false, 'part of a message');
    const other = new StreamFramer();
    other.push(encoder.encode('\r\n\r'));
    assert.equal(other.takeHeldPong(), false, 'the start of a ping');
    assert.equal(other.holdsLoneCr(), false);
    const half = new StreamFramer();
    half.push(encoder.encode('\r'));
    assert.equal(half.holdsLoneCr(), true, 'the first half of a pong');
    half.push(encoder.encode('\n'));
    assert.equal(half.holdsLoneCr(), false);
  });

  test('keep-alives between and before messages', () => {
    const stream = '\r\n\r\n\r\n' + request('a') + '\r\n\r\n' + request('b') + '\r\n' + request() + '\r\n\r\n';
    const { items } = frameAll(stream);
    assert.deepEqual(types(items), ['ping', 'pong', 'message', 'ping', 'message', 'pong', 'message', 'ping']);
  });

  test('a CR that does not start a CRLF begins a message (which then fails to parse, but frames)', () => {
    const { items } = frameAll('\r' + request());
    assert.deepEqual(types(items), ['invalid']);
  });
});

describe('StreamFramer framing', () => {
  test('bodies are cut by Content-Length, binary and blank lines included', () => {
    const body = 'v=0\r\n\r\n\0\r\rbinary\r\n\r\n';
    const { items } = frameAll(request(body) + request('second'));
    assert.deepEqual(types(items), ['message', 'message']);
    const [first, second] = items as Extract<FramedItem, { type: 'message' }>[];
    assert.equal(first!.message.bodyText, body);
    assert.equal(second!.message.bodyText, 'second');
  });

  test('a message that frames but does not parse is invalid and the stream goes on', () => {
    const bad = request().replace('CSeq: 1 OPTIONS', 'CSeq: x OPTIONS');
    const { items, closed } = frameAll(bad + request('next'));
    assert.deepEqual(types(items), ['invalid', 'message']);
    assert.equal(closed, false);
    const invalid = items[0] as Extract<FramedItem, { type: 'invalid' }>;
    assert.equal(invalid.error.status, 400);
    assert.deepEqual(Buffer.from(invalid.raw), Buffer.from(bad));
  });

  test('Content-Length is found in compact form, folded, and with space before the colon', () => {
    for (const header of ['l: 4', 'Content-Length:\r\n 4', 'content-length  :\t4', 'CONTENT-LENGTH: 4']) {
      const text = request().replace('Content-Length: 0', header) + 'body';
      const { items } = frameAll(text + request());
      assert.deepEqual(types(items), ['message', 'message'], header);
      assert.equal((items[0] as Extract<FramedItem, { type: 'message' }>).message.bodyText, 'body');
    }
  });

  test('duplicate or malformed Content-Length closes the framer after what came before', () => {
    const cases: [string, RegExp][] = [
      ['Content-Length: 4\r\nContent-Length: 4', /more than one/],
      ['l: 4\r\nContent-Length: 4', /more than one/],
      ['Content-Length: 4, 4', /invalid/],
      ['Content-Length: +4', /invalid/],
      ['Content-Length: -1', /invalid/],
      ['Content-Length: four', /invalid/],
      ['Content-Length:', /invalid/],
      ['Content-Length: 99999999999999', /invalid/],
      ['X-Content-Length: 4', /no Content-Length/],
    ];
    for (const [header, message] of cases) {
      const framer = new StreamFramer();
      const items = framer.push(encoder.encode(request('ok') + request().replace('Content-Length: 0', header) + 'body'));
      assert.deepEqual(types(items), ['message', 'error'], header);
      assert.match((items[1] as Extract<FramedItem, { type: 'error' }>).error.message, message);
      assert.equal(framer.closed, true);
      assert.deepEqual(framer.push(encoder.encode(request())), []);
    }
  });
});

describe('StreamFramer limits', () => {
  const limits = { maxHeaderSize: 600, maxLineLength: 200, maxBodySize: 100, maxMessageSize: 650 };

  test('defaults are bounded', () => {
    const framer = new StreamFramer();
    for (const value of Object.values(framer.limits)) assert.ok(Number.isFinite(value) && value > 0 && value <= 1 << 20);
  });

  test('a header section up to the limit frames; one byte more closes (513)', () => {
    const base = request();
    const pad = (extra: number): string => base.replace('\r\n\r\n', `\r\nX: ${'a'.repeat(extra)}\r\n\r\n`);
    const fits = pad(limits.maxHeaderSize - base.length - 5);
    assert.equal(fits.length, limits.maxHeaderSize);
    const wide = { ...limits, maxLineLength: 1000 };
    assert.deepEqual(types(frameAll(fits, wide).items), ['message']);
    const over = frameAll(pad(limits.maxHeaderSize - base.length - 4), wide);
    assert.deepEqual(over.summary.map((s) => [s.type, s.status]), [['error', 513]]);
  });

  test('a head that never ends is cut off at the limit, not buffered forever', () => {
    const result = frameAll(`OPTIONS sip:x SIP/2.0\r\n${'X: y\r\n'.repeat(200)}`, limits);
    assert.deepEqual(result.summary.map((s) => [s.type, s.status]), [['error', 513]]);
    assert.equal(result.buffered, 0);
  });

  test('a line longer than maxLineLength closes', () => {
    const text = request().replace('\r\n\r\n', `\r\nX: ${'a'.repeat(limits.maxLineLength)}\r\n\r\n`);
    assert.deepEqual(frameAll(text, limits).summary.map((s) => [s.type, s.status]), [['error', 400]]);
    const endless = frameAll('OPTIONS ' + 'a'.repeat(300), limits);
    assert.deepEqual(endless.summary.map((s) => s.type), ['error']);
    assert.match(String(endless.summary[0]!.message), /line longer/);
  });

  test('a body over maxBodySize closes (413) before it is read', () => {
    const result = frameAll(request().replace('Content-Length: 0', 'Content-Length: 101'), limits);
    assert.deepEqual(result.summary.map((s) => [s.type, s.status]), [['error', 413]]);
    assert.deepEqual(types(frameAll(request('b'.repeat(100)), limits).items), ['message']);
  });

  test('a message over maxMessageSize closes (513)', () => {
    const head = request().replace('\r\n\r\n', `\r\nX: ${'a'.repeat(170)}\r\nY: ${'a'.repeat(170)}\r\n\r\n`);
    const result = frameAll(head.replace('Content-Length: 0', 'Content-Length: 100'), limits);
    assert.deepEqual(result.summary.map((s) => [s.type, s.status]), [['error', 513]]);
  });

  test('held bytes shrink back after a large chunk', () => {
    const framer = new StreamFramer();
    const many = request('x'.repeat(1000)).repeat(200);
    assert.equal(framer.push(encoder.encode(many)).length, 200);
    assert.equal(framer.buffered, 0);
  });
});
