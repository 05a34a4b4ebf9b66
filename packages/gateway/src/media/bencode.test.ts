import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bdecode, bencode, type BencodeValue } from './bencode.js';
import { isMediaError } from './media-error.js';

const text = (value: BencodeValue): string => bencode(value).toString('latin1');

function decodeFails(input: string | Buffer, pattern: RegExp, options: Parameters<typeof bdecode>[1] = {}): void {
  assert.throws(
    () => bdecode(typeof input === 'string' ? Buffer.from(input, 'latin1') : input, options),
    (error: unknown) => isMediaError(error, 'invalid-bencode') && pattern.test(error.message),
  );
}

describe('bencode', () => {
  it('writes the four kinds of value, dictionary keys in byte order', () => {
    assert.equal(text(42), 'i42e');
    assert.equal(text(-7), 'i-7e');
    assert.equal(text(0), 'i0e');
    assert.equal(text('spam'), '4:spam');
    assert.equal(text(''), '0:');
    assert.equal(text(['a', 1, []]), 'l1:ai1elee');
    assert.equal(text({ zeta: 1, alpha: 'x', Beta: [] }), 'd4:Betale5:alpha1:x4:zetai1ee');
  });

  it('counts UTF-8 bytes, not characters, and writes buffers as they are', () => {
    assert.equal(bencode('é').toString('utf8'), '2:é');
    assert.deepEqual(bencode(Buffer.from([0xff, 0x00])), Buffer.from([0x32, 0x3a, 0xff, 0x00]));
  });

  it('leaves out dictionary entries whose value is undefined', () => {
    const command = { command: 'ping', 'to-tag': undefined } as unknown as BencodeValue;
    assert.equal(text(command), 'd7:command4:pinge');
  });

  it('writes bigints beyond the safe integer range', () => {
    assert.equal(text(2n ** 64n), 'i18446744073709551616e');
  });

  it('refuses what bencode cannot hold', () => {
    for (const bad of [1.5, Number.NaN, null, true, undefined]) {
      assert.throws(() => bencode(bad as unknown as BencodeValue), (e: unknown) => isMediaError(e, 'invalid-bencode'));
    }
    assert.throws(() => bencode({ sdp: { nested: 0.5 } }), /value\.sdp\.nested is 0\.5/);
  });

  it('refuses cyclic and too deep structures instead of recursing forever', () => {
    const cyclic: BencodeValue[] = [];
    cyclic.push(cyclic);
    assert.throws(() => bencode(cyclic), /nesting deeper than 32/);
    assert.throws(() => bencode([[[1]]], { maxDepth: 2 }), /nesting deeper than 2/);
    assert.doesNotThrow(() => bencode([[1]], { maxDepth: 2 }));
  });

  it('refuses an output beyond maxBytes', () => {
    assert.throws(() => bencode('x'.repeat(100), { maxBytes: 50 }), /exceeds 50 bytes/);
  });
});

describe('bdecode', () => {
  it('reads an ng reply, with strings as text by default', () => {
    const reply = bdecode(Buffer.from('d6:result2:ok3:sdp10:v=0\r\ns=-\r\n8:warningsl1:aee', 'latin1'));
    assert.deepEqual({ ...(reply as object) }, { result: 'ok', sdp: 'v=0\r\ns=-\r\n', warnings: ['a'] });
  });

  it('gives byte strings as buffers when asked, keys still as strings', () => {
    const value = bdecode(Buffer.from([0x64, 0x31, 0x3a, 0x6b, 0x32, 0x3a, 0xff, 0x00, 0x65]), { strings: 'buffer' }) as Record<string, unknown>;
    assert.deepEqual(Object.keys(value), ['k']);
    assert.deepEqual(value['k'], Buffer.from([0xff, 0x00]));
  });

  it('keeps precision: safe integers as numbers, larger ones as bigint', () => {
    assert.equal(bdecode(Buffer.from('i9007199254740991e')), Number.MAX_SAFE_INTEGER);
    assert.equal(bdecode(Buffer.from('i-9007199254740993e')), -9007199254740993n);
  });

  it('accepts dictionary keys out of order, as some encoders write them', () => {
    assert.deepEqual({ ...(bdecode(Buffer.from('d1:bi1e1:ai2ee')) as object) }, { a: 2, b: 1 });
  });

  it('keeps a "__proto__" key as data', () => {
    const value = bdecode(Buffer.from('d9:__proto__d8:injectedi1eee')) as Record<string, unknown>;
    assert.equal(({} as Record<string, unknown>)['injected'], undefined);
    assert.ok(Object.prototype.hasOwnProperty.call(value, '__proto__'));
  });

  it('says where and why malformed input fails', () => {
    decodeFails('', /byte 0: unexpected end of input/);
    decodeFails('i12', /byte 1: unterminated integer/);
    decodeFails('i1x2e', /integer "1x2" is not a number/);
    decodeFails('ie', /integer "" is not a number/);
    decodeFails('i-e', /not a number/);
    decodeFails('i007e', /leading zero/);
    decodeFails('i-0e', /-0/);
    decodeFails('5:abc', /string of 5 bytes runs past the end/);
    decodeFails('03:abc', /leading zero/);
    decodeFails('-3:abc', /cannot be negative/);
    decodeFails('3abc', /unterminated string length/);
    decodeFails('l1:a', /unterminated list/);
    decodeFails('d1:a', /unexpected end of input/);
    decodeFails('d1:ai1e', /unterminated dictionary/);
    decodeFails('di1ei2ee', /dictionary key is not a string/);
    decodeFails('d1:ai1e1:ai2ee', /byte 7: repeated dictionary key "a"/);
    decodeFails('i1ei2e', /3 trailing bytes/);
    decodeFails('x', /unexpected byte 0x78/);
    decodeFails(`${'9'.repeat(70)}:`, /string length is too long/);
  });

  it('refuses input beyond maxBytes before reading it', () => {
    decodeFails(Buffer.from(`${'l'.repeat(10)}${'e'.repeat(10)}`), /20 bytes exceeds the limit of 10/, { maxBytes: 10 });
  });

  it('refuses nesting beyond maxDepth without exhausting the stack', () => {
    decodeFails(`${'l'.repeat(100_000)}${'e'.repeat(100_000)}`, /nesting deeper than 32/, { maxBytes: 1_000_000 });
    decodeFails('llleee', /nesting deeper than 2/, { maxDepth: 2 });
    assert.deepEqual(bdecode(Buffer.from('llee'), { maxDepth: 2 }), [[]]);
  });

  it('accepts a Uint8Array view into a larger buffer', () => {
    const backing = Buffer.from('xxi5exx');
    assert.equal(bdecode(new Uint8Array(backing.buffer, backing.byteOffset + 2, 3)), 5);
  });
});

describe('bencode round trip (property)', () => {
  // Keys and strings in the UTF-8 mode are well-formed text, for which decoding is the exact inverse.
  const integer = fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }));
  const textValue: fc.Arbitrary<BencodeValue> = fc.letrec<{ value: BencodeValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.string({ unit: 'grapheme' }),
      integer,
      fc.array(tie('value'), { maxLength: 5 }),
      fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 8 }), tie('value'), { maxKeys: 5 }),
    ),
  })).value;
  const byteValue: fc.Arbitrary<BencodeValue> = fc.letrec<{ value: BencodeValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
      integer,
      fc.array(tie('value'), { maxLength: 5 }),
      fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 5 }),
    ),
  })).value;

  const normalize = (value: BencodeValue): unknown => {
    if (typeof value === 'bigint') return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
    if (Buffer.isBuffer(value)) return [...value];
    if (Array.isArray(value)) return value.map(normalize);
    if (typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return value;
  };

  it('decode(encode(x)) equals x for text strings', () => {
    fc.assert(fc.property(textValue, (value) => {
      assert.deepEqual(normalize(bdecode(bencode(value))), normalize(value));
    }));
  });

  it('decode(encode(x)) equals x for arbitrary bytes in buffer mode', () => {
    fc.assert(fc.property(byteValue, (value) => {
      assert.deepEqual(normalize(bdecode(bencode(value), { strings: 'buffer' })), normalize(value));
    }));
  });

  it('encode is canonical: encode(decode(b)) gives back the same bytes', () => {
    fc.assert(fc.property(byteValue, (value) => {
      const bytes = bencode(value);
      assert.deepEqual(bencode(bdecode(bytes, { strings: 'buffer' })), bytes);
    }));
  });

  it('never throws anything but MediaError on arbitrary input', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        bdecode(bytes);
      } catch (error) {
        assert.ok(isMediaError(error, 'invalid-bencode'), String(error));
      }
    }));
  });
});
