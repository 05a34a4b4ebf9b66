/**
 * Bencode, the encoding of rtpengine's ng control protocol: integers `i42e`, byte strings `4:spam`, lists `l…e`
 * and dictionaries `d…e`. Decoding is bounded (input size, nesting depth) because replies arrive from the
 * network, and every malformed input fails with a `MediaError('invalid-bencode')` that says where and why.
 */
import { MediaError } from './media-error.js';

export type BencodeDict = { [key: string]: BencodeValue };
/** Integers beyond Number.MAX_SAFE_INTEGER decode as bigint so that no counter silently loses precision. */
export type BencodeValue = string | Buffer | number | bigint | BencodeValue[] | BencodeDict;

export interface BencodeLimits {
  /** Inputs (and outputs) larger than this are refused; default 1 MiB. */
  maxBytes?: number;
  /** Lists and dictionaries nested deeper than this are refused; default 32. */
  maxDepth?: number;
}

export interface DecodeOptions extends BencodeLimits {
  /**
   * How byte strings come back: `'utf8'` (default; ng replies carry SDP and reasons as text, and invalid sequences
   * become U+FFFD as with `Buffer#toString`) or `'buffer'` (the exact bytes). Dictionary keys are always strings.
   */
  strings?: 'utf8' | 'buffer';
}

export const DEFAULT_BENCODE_MAX_BYTES = 1024 * 1024;
export const DEFAULT_BENCODE_MAX_DEPTH = 32;

const I = 0x69;
const L = 0x6c;
const D = 0x64;
const E = 0x65;
const COLON = 0x3a;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
/** Far beyond any length or counter an ng peer sends; longer digit runs are refused without being read on. */
const MAX_DIGITS = 64;

/**
 * Encodes a value. Dictionary keys are written in the byte order the format requires; keys whose value is
 * `undefined` are left out, so optional command fields can be written inline. Refuses non-integer numbers, other
 * types, and structures deeper than `maxDepth` (which also stops cyclic objects).
 */
export function bencode(value: BencodeValue, limits: BencodeLimits = {}): Buffer {
  const maxDepth = limits.maxDepth ?? DEFAULT_BENCODE_MAX_DEPTH;
  const maxBytes = limits.maxBytes ?? DEFAULT_BENCODE_MAX_BYTES;
  const parts: Buffer[] = [];
  let size = 0;
  const push = (part: Buffer): void => {
    size += part.length;
    if (size > maxBytes) throw new MediaError('invalid-bencode', `bencode output exceeds ${maxBytes} bytes`);
    parts.push(part);
  };
  const write = (item: unknown, depth: number, path: string): void => {
    if (typeof item === 'string' || Buffer.isBuffer(item)) {
      const bytes = typeof item === 'string' ? Buffer.from(item, 'utf8') : item;
      push(Buffer.from(`${bytes.length}:`, 'latin1'));
      push(bytes);
      return;
    }
    if (typeof item === 'number') {
      if (!Number.isSafeInteger(item)) throw new MediaError('invalid-bencode', `bencode holds only integers; ${path} is ${item}`);
      push(Buffer.from(`i${item}e`, 'latin1'));
      return;
    }
    if (typeof item === 'bigint') {
      push(Buffer.from(`i${item}e`, 'latin1'));
      return;
    }
    if (item === null || typeof item !== 'object') {
      throw new MediaError('invalid-bencode', `bencode cannot represent ${path} (${item === null ? 'null' : typeof item})`);
    }
    if (depth >= maxDepth) throw new MediaError('invalid-bencode', `bencode nesting deeper than ${maxDepth} at ${path}`);
    if (Array.isArray(item)) {
      push(Buffer.from('l'));
      item.forEach((element, index) => write(element, depth + 1, `${path}[${index}]`));
      push(Buffer.from('e'));
      return;
    }
    const entries = Object.entries(item as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .map(([key, v]) => [Buffer.from(key, 'utf8'), key, v] as const)
      .sort((a, b) => Buffer.compare(a[0], b[0]));
    push(Buffer.from('d'));
    for (const [keyBytes, key, v] of entries) {
      write(keyBytes, depth + 1, path);
      write(v, depth + 1, `${path}.${key}`);
    }
    push(Buffer.from('e'));
  };
  write(value, 0, 'value');
  return Buffer.concat(parts, size);
}

/**
 * Decodes exactly one value filling the whole input. Lenient only where real encoders differ harmlessly
 * (dictionary keys out of order); strict about everything that makes the value ambiguous: leading zeros, `-0`,
 * repeated keys, truncation and trailing bytes.
 */
export function bdecode(input: Uint8Array, options: DecodeOptions = {}): BencodeValue {
  const maxBytes = options.maxBytes ?? DEFAULT_BENCODE_MAX_BYTES;
  const maxDepth = options.maxDepth ?? DEFAULT_BENCODE_MAX_DEPTH;
  const asBuffer = options.strings === 'buffer';
  if (input.length > maxBytes) throw new MediaError('invalid-bencode', `bencode input of ${input.length} bytes exceeds the limit of ${maxBytes}`);
  const data = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.length);
  let pos = 0;

  const fail = (why: string, at = pos): never => {
    throw new MediaError('invalid-bencode', `malformed bencode at byte ${at}: ${why}`);
  };

  /** Reads the digits of an integer or length up to `terminator`, checking the canonical form. */
  const readNumber = (terminator: number, signed: boolean, what: string): bigint => {
    const start = pos;
    let end = pos;
    while (end < data.length && data[end] !== terminator) {
      if (end - start > MAX_DIGITS) fail(`${what} is too long`, start);
      end++;
    }
    if (end >= data.length) fail(`unterminated ${what}`, start);
    const text = data.toString('latin1', start, end);
    const negative = signed && text.startsWith('-');
    const digits = negative ? text.slice(1) : text;
    if (digits.length === 0 || ![...digits].every((c) => c.charCodeAt(0) >= ZERO && c.charCodeAt(0) <= NINE)) {
      fail(`${what} ${JSON.stringify(text)} is not a number`, start);
    }
    if (digits.length > 1 && digits.startsWith('0')) fail(`${what} ${JSON.stringify(text)} has a leading zero`, start);
    if (negative && digits === '0') fail(`${what} is -0`, start);
    pos = end + 1;
    return BigInt(text);
  };

  const readBytes = (): Buffer => {
    const start = pos;
    const length = readNumber(COLON, false, 'string length');
    if (length > BigInt(data.length - pos)) fail(`string of ${length} bytes runs past the end`, start);
    const bytes = data.subarray(pos, pos + Number(length));
    pos += Number(length);
    return bytes;
  };

  const parse = (depth: number): BencodeValue => {
    const c = data[pos];
    if (c === undefined) return fail('unexpected end of input');
    if (c === I) {
      pos++;
      const value = readNumber(E, true, 'integer');
      return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
    }
    if (c === L || c === D) {
      if (depth >= maxDepth) fail(`nesting deeper than ${maxDepth}`);
      pos++;
      if (c === L) {
        const list: BencodeValue[] = [];
        while (data[pos] !== E) {
          if (pos >= data.length) fail('unterminated list');
          list.push(parse(depth + 1));
        }
        pos++;
        return list;
      }
      // No prototype: a key such as "__proto__" from the network must stay a plain key.
      const dict = Object.create(null) as BencodeDict;
      while (data[pos] !== E) {
        if (pos >= data.length) fail('unterminated dictionary');
        const keyAt = pos;
        const first = data[pos];
        if (first === undefined || first < ZERO || first > NINE) fail('dictionary key is not a string');
        const key = readBytes().toString('utf8');
        if (Object.prototype.hasOwnProperty.call(dict, key)) fail(`repeated dictionary key ${JSON.stringify(key)}`, keyAt);
        dict[key] = parse(depth + 1);
      }
      pos++;
      return dict;
    }
    if (c >= ZERO && c <= NINE) {
      const bytes = readBytes();
      return asBuffer ? Buffer.from(bytes) : bytes.toString('utf8');
    }
    if (c === MINUS) return fail('a string length cannot be negative');
    return fail(`unexpected byte 0x${c.toString(16).padStart(2, '0')}`);
  };

  const value = parse(0);
  if (pos !== data.length) fail(`${data.length - pos} trailing bytes`);
  return value;
}

export function isBencodeDict(value: BencodeValue | undefined): value is BencodeDict {
  return value !== undefined && typeof value === 'object' && !Array.isArray(value) && !Buffer.isBuffer(value);
}
