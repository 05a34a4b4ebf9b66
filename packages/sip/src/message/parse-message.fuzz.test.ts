/**
 * Property-based tests of the parser's contract:
 *   - `parseMessage` returns a SipRequest/SipResponse or throws SipParseError, whatever the input, and returns quickly;
 *   - whatever parses serializes to bytes that parse to an equivalent message, and serializing is a fixed point.
 *
 * Inputs: arbitrary bytes and strings, "SIP soup" built from protocol fragments, mutations of the RFC 4475 corpus
 * and of generated messages, generated valid messages (checked against the model they were generated from), messages
 * at the parser's size limits, and repetitive values that make backtracking patterns blow up; those are parsed in a
 * worker thread with a hard time limit, so that a hang fails the run instead of stalling it.
 *
 * Beyond the contract, whatever parses must be well-formed: no control characters (CR above all) in the start line
 * or a header value other than HTAB and quoted-pairs, since serialize() writes them back out.
 *
 * Reproducible by default. Environment:
 *   FUZZ_SEED            base seed (default 20060501); each property derives its own from it
 *   FUZZ_RUNS            number of cases shared out among the properties (default 100000; 1560 more of repetitive
 *                        values and limit cases)
 *   FUZZ_FAILURE_DIR     when set, each property's (shrunk) counterexample is written there as a .dat/.json fixture
 *   SWITCHBOARD_SHARED   the `shared` folder holding conformance/rfc4475 (default: ../shared beside the repository)
 *
 * Inputs that once broke the contract live in fixtures/fuzz: `*.dat` are passed as bytes, `*.json` hold a JSON string
 * passed as a string (text input can hold what bytes cannot, such as lone surrogates). Fixtures named `accept-*` are
 * valid SIP that must parse, `reject-*` are invalid SIP that must be refused; every other fixture only has to honour
 * the contract.
 */
import assert from 'node:assert/strict';
import { Buffer, isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { SipParseError } from '../errors.js';
import { ParamList } from './param-list.js';
import { parseMessage } from './parse-message.js';
import { SipRequest, SipResponse, type SipMessage } from './sip-message.js';

// ---------------------------------------------------------------------------------------------------------------
// Configuration

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, not ${raw}`);
  return value;
}

const SEED = envInt('FUZZ_SEED', 20060501);
const TOTAL_RUNS = envInt('FUZZ_RUNS', 100_000);
const FAILURE_DIR = process.env.FUZZ_FAILURE_DIR;

// Share of FUZZ_RUNS per property, in percent, by what a case costs: arbitrary bytes cost ~0.05 ms, a generated
// message ~1.5 ms (drawing it from a deep arbitrary and checking it as bytes and as text).
const SHARES = { bytes: 25, strings: 20, soup: 25, corpus: 22, generatedMutations: 3, valid: 5 } as const;
// Fixed numbers on top of FUZZ_RUNS: repetitive values go through a worker thread, limit cases are 16-64 KB each.
const EXTRA_RUNS = { pathological: 1500, limits: 60 } as const;

function runsFor(name: keyof typeof SHARES | keyof typeof EXTRA_RUNS): number {
  if (name in EXTRA_RUNS) return EXTRA_RUNS[name as keyof typeof EXTRA_RUNS];
  return Math.max(1, Math.round((TOTAL_RUNS * SHARES[name as keyof typeof SHARES]) / 100));
}

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '../../../..');
const SHARED = process.env.SWITCHBOARD_SHARED ?? join(REPO_ROOT, '../shared');
const CORPUS_DIR = join(SHARED, 'conformance/rfc4475');
const FIXTURE_DIR = join(HERE, 'fixtures/fuzz');

// A parse of at most 64 KB takes about a millisecond; this is two orders of magnitude above that, so only
// super-linear behaviour (or a loop) trips it, not a busy machine.
const PARSE_BUDGET_MS = 500;

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

type Input = Uint8Array | string;

/** Concatenation into a plain Uint8Array (a Buffer's slice() is a view, and mutations must never write into the corpus). */
function cat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The contract

function describeInput(input: Input): string {
  const kind = typeof input === 'string' ? `string of ${input.length} UTF-16 units` : `${input.length} bytes`;
  const preview = typeof input === 'string' ? input.slice(0, 400) : Buffer.from(input.subarray(0, 400)).toString('latin1');
  const full = typeof input === 'string' ? JSON.stringify(input) : Buffer.from(input).toString('base64');
  return `${kind}; starts ${JSON.stringify(preview)}\n` +
    (full.length <= 8192 ? `${typeof input === 'string' ? 'JSON' : 'base64'}: ${full}` : '(too long to print in full)');
}

function fail(what: string, input: Input, error?: unknown): never {
  const detail = error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : error === undefined ? '' : String(error);
  assert.fail(`${what}\ninput: ${describeInput(input)}${detail === '' ? '' : `\n${detail}`}`);
}

/** Parses, allowing only SipParseError; fails on anything else or on a parse that takes too long. */
function parseOrReject(input: Input): SipMessage | SipParseError {
  const started = performance.now();
  let result: SipMessage | SipParseError;
  try {
    result = parseMessage(input);
  } catch (error) {
    if (!(error instanceof SipParseError)) fail('parseMessage threw something other than SipParseError', input, error);
    if (error.code !== 'parse' || !Number.isInteger(error.status) || error.status < 400 || error.status > 599 ||
      typeof error.reason !== 'string' || error.reason.length === 0) {
      fail(`SipParseError without a usable status/reason (status ${error.status}, reason ${JSON.stringify(error.reason)})`, input, error);
    }
    result = error;
  }
  const elapsed = performance.now() - started;
  if (elapsed > PARSE_BUDGET_MS) fail(`parseMessage took ${elapsed.toFixed(0)} ms`, input);
  return result;
}

/** A parsed value as plain data that deepStrictEqual can compare (Maps keep their order). */
function plain(value: unknown): unknown {
  if (value instanceof Map || value instanceof ParamList) return { map: [...value].map(([k, v]) => [k, plain(v)]) };
  if (value instanceof Date) return { date: value.getTime() };
  if (value instanceof Uint8Array) return { hex: Buffer.from(value).toString('hex') };
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = plain(v);
    }
    return out;
  }
  return value;
}

/**
 * What "equivalent" means: same start line, same header fields in order (name, text and structured value), same
 * body. Content-Length is left out: serialization always writes the body's real length, which the body comparison covers.
 */
function normalize(message: SipMessage): unknown {
  const start = message instanceof SipRequest
    ? { method: message.method, uri: plain(message.uri), line: message.startLine() }
    : { line: message.startLine() };
  return {
    start,
    headers: message.headers
      .filter((field) => field.key !== 'content-length')
      .map((field) => ({ name: field.name, key: field.key, value: field.value, parsed: plain(field.parsed) })),
    body: Buffer.from(message.body).toString('hex'),
  };
}

function assertRoundTrip(message: SipMessage, input: Input): void {
  let wire: Uint8Array;
  try {
    wire = message.serialize();
  } catch (error) {
    fail('serialize() threw on a parsed message', input, error);
  }
  const again = parseOrReject(wire);
  if (again instanceof SipParseError) fail(`serialize() output does not parse (status ${again.status})`, input, again);
  try {
    assert.deepStrictEqual(normalize(again), normalize(message));
  } catch (error) {
    fail('serialize() output parses to a different message', input, error);
  }
  const wire2 = again.serialize();
  if (Buffer.compare(Buffer.from(wire2), Buffer.from(wire)) !== 0) {
    fail(`serialize() is not a fixed point:\nfirst : ${JSON.stringify(Buffer.from(wire).toString('latin1'))}\nsecond: ${JSON.stringify(Buffer.from(wire2).toString('latin1'))}`, input);
  }
  // toString() decodes the body as UTF-8, so it can only round-trip bodies that are UTF-8 (its documented limit).
  if (isUtf8(message.body)) {
    const text = message.toString();
    const fromText = parseOrReject(text);
    if (fromText instanceof SipParseError) fail(`toString() output does not parse (status ${fromText.status})`, input, fromText);
    try {
      assert.deepStrictEqual(normalize(fromText), normalize(message));
    } catch (error) {
      fail('toString() output parses to a different message', input, error);
    }
  }
}

const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

/** Index of a control character (HT aside) that is not the second half of a quoted-pair, or -1. */
function strayControl(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 92) {
      const next = text.charCodeAt(i + 1);
      if (next === 13 || next === 10) return i + 1;
      i++;
    } else if ((c < 32 && c !== 9) || c === 127) return i;
  }
  return -1;
}

/**
 * What the grammar guarantees of anything a parser accepts (RFC 3261 §25.1): header names are tokens; neither the
 * start line nor a header value holds CR, LF or another control character, except as a quoted-pair (never CR or LF).
 * A bare CR that survives parsing is written back out by serialize(), where another parser may take it for a line end.
 */
function assertWellFormed(message: SipMessage, input: Input): void {
  const start = message.startLine();
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(start)) fail(`accepted a control character in the start line: ${JSON.stringify(start)}`, input);
  for (const field of message.headers) {
    if (!TOKEN.test(field.name)) fail(`accepted a header name that is not a token: ${JSON.stringify(field.name)}`, input);
    const at = strayControl(field.value);
    if (at !== -1) {
      fail(`accepted control character U+${field.value.charCodeAt(at).toString(16).padStart(4, '0')} in ${field.name}: ${JSON.stringify(field.value)}`, input);
    }
  }
}

/** The whole contract for one input; returns the message when it parsed. */
function checkContract(input: Input): SipMessage | undefined {
  const result = parseOrReject(input);
  if (result instanceof SipParseError) return undefined;
  assertWellFormed(result, input);
  assertRoundTrip(result, input);
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// Running properties

function saveCounterexample(label: string, input: Input): string {
  const dir = FAILURE_DIR!;
  mkdirSync(dir, { recursive: true });
  const data = typeof input === 'string' ? JSON.stringify(input) : input;
  const hash = createHash('sha1').update(data).digest('hex').slice(0, 10);
  const file = join(dir, `${label}-${hash}.${typeof input === 'string' ? 'json' : 'dat'}`);
  writeFileSync(file, data);
  return file;
}

/** fc.assert, plus saving the counterexample as a fixture when FUZZ_FAILURE_DIR is set. */
function runProperty<T>(label: string, seedOffset: number, arbitrary: fc.Arbitrary<T>, toInput: (value: T) => Input, check: (value: T) => void, numRuns: number): void {
  const details = fc.check(fc.property(arbitrary, (value) => { check(value); }), { seed: SEED + seedOffset, numRuns, includeErrorInReport: true });
  if (!details.failed) return;
  let saved = '';
  if (FAILURE_DIR !== undefined && details.counterexample !== null) {
    saved = `\ncounterexample saved to ${saveCounterexample(label, toInput(details.counterexample[0]))}`;
  }
  assert.fail(`${fc.defaultReportMessage(details)}${saved}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Building blocks

const ALPHA = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGIT = '0123456789';
const HEXDIG = '0123456789abcdefABCDEF';
const UNRESERVED = ALPHA + DIGIT + "-_.!~*'()";
const TOKEN_CHARS = ALPHA + DIGIT + "-.!%*_+`'~";

const charOf = (chars: string): fc.Arbitrary<string> => fc.constantFrom(...chars.split(''));
const joined = (parts: fc.Arbitrary<string[]>): fc.Arbitrary<string> => parts.map((a) => a.join(''));
const stringOf = (unit: fc.Arbitrary<string>, minLength: number, maxLength: number): fc.Arbitrary<string> =>
  joined(fc.array(unit, { minLength, maxLength }));
const escaped = fc.tuple(charOf(HEXDIG), charOf(HEXDIG)).map(([a, b]) => `%${a}${b}`);
const token = stringOf(charOf(TOKEN_CHARS), 1, 10);
// fc.string({ unit: 'binary' }) spends a second building tables on first use; code points drawn directly cost nothing.
const anyCodePoint = fc.integer({ min: 0, max: 0x10ffff }).filter((c) => c < 0xd800 || c > 0xdfff).map((c) => String.fromCodePoint(c));
const nonAsciiChar = fc.integer({ min: 0x80, max: 0x10ffff })
  .filter((c) => c < 0xd800 || c > 0xdfff)
  .map((c) => String.fromCodePoint(c));
/** Optional white space where the grammar has SWS. */
const sws = fc.constantFrom('', '', '', ' ', '\t', '  ');
/** Mandatory white space (LWS), sometimes folded onto a continuation line. */
const lws = fc.constantFrom(' ', ' ', ' ', '\t', '  ', '\r\n ', '\r\n\t');
const mixed = (text: string): fc.Arbitrary<string> => fc.oneof(fc.constant(text), fc.mixedCase(fc.constant(text)));

interface Gen<T> {
  readonly text: string;
  readonly value: T;
}

function padDigits(n: number, zeros: number, maxDigits: number): string {
  const digits = String(n);
  return digits.padStart(Math.min(maxDigits, digits.length + zeros), '0');
}

// Hand-rolled instead of fc.domain()/fc.ipV4()/fc.ipV6(), which cost more to draw than a parse does.
const LOWER_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const label = fc.oneof(
  charOf(LOWER_ALNUM),
  fc.tuple(charOf(LOWER_ALNUM), stringOf(charOf(LOWER_ALNUM + '-'), 0, 8), charOf(LOWER_ALNUM)).map(([a, b, c]) => a + b + c),
);
const domain = fc.record({
  labels: fc.array(label, { maxLength: 3 }),
  top: stringOf(charOf('abcdefghijklmnopqrstuvwxyz'), 2, 6),
  dot: fc.constantFrom('', '', '', '', '', '', '', '.'),
}).map((d) => [...d.labels, d.top].join('.') + d.dot);
const hostName = fc.oneof({ weight: 3, arbitrary: domain }, { weight: 1, arbitrary: fc.mixedCase(domain) });
const ipv4 = fc.tuple(fc.nat({ max: 255 }), fc.nat({ max: 255 }), fc.nat({ max: 255 }), fc.nat({ max: 255 })).map((o) => o.join('.'));
const ipv6 = fc.record({
  groups: fc.array(stringOf(charOf('0123456789abcdefABCDEF'), 1, 4), { minLength: 8, maxLength: 8 }),
  v4: fc.option(ipv4, { nil: undefined, freq: 6 }),
  cut: fc.nat({ max: 7 }),
  zeros: fc.nat({ max: 8 }),
}).map((a) => {
  const groups = a.v4 === undefined ? a.groups : [...a.groups.slice(0, 6), a.v4];
  // '::' stands for one or more groups of zeros.
  const zeros = Math.min(a.zeros, groups.length - a.cut);
  if (zeros === 0) return groups.join(':');
  return groups.slice(0, a.cut).join(':') + '::' + groups.slice(a.cut + zeros).join(':');
});
const host = fc.oneof(
  { weight: 4, arbitrary: hostName },
  { weight: 2, arbitrary: ipv4 },
  { weight: 2, arbitrary: ipv6.map((a) => `[${a}]`) },
);
const port = fc.tuple(fc.integer({ min: 0, max: 65535 }), fc.nat({ max: 2 })).map(([n, zeros]): Gen<number> => ({ text: padDigits(n, zeros, 5), value: n }));

// ---- URIs (RFC 3261 §19.1, §25.1; RFC 3966) ----

interface UriOptions {
  /** URI headers allowed (Contact, Refer-To; never the Request-URI). */
  headers: boolean;
  /** Bare addr-spec in a header: no ';', '?' or ',' anywhere (RFC 3261 §20.10). */
  bare: boolean;
}

const paramChar = fc.oneof({ weight: 6, arbitrary: charOf(UNRESERVED) }, { weight: 2, arbitrary: charOf('[]/:&+$') }, { weight: 1, arbitrary: escaped });
const uriParams = fc.uniqueArray(
  fc.oneof(
    { weight: 3, arbitrary: fc.record({ name: stringOf(paramChar, 1, 8), value: fc.option(stringOf(paramChar, 1, 10), { nil: null }) }) },
    { weight: 1, arbitrary: fc.record({ name: mixed('transport'), value: fc.constantFrom('udp', 'tcp', 'TLS', 'sctp', 'ws', 'wss') }) },
    { weight: 1, arbitrary: fc.record({ name: mixed('lr'), value: fc.constant(null) }) },
    { weight: 1, arbitrary: fc.record({ name: mixed('maddr'), value: fc.oneof(hostName, ipv4, ipv6.map((a) => `[${a}]`)) }) },
    { weight: 1, arbitrary: fc.record({ name: mixed('user'), value: fc.constantFrom('phone', 'ip', 'dialstring') }) },
    { weight: 1, arbitrary: fc.record({ name: fc.constant('ttl'), value: fc.integer({ min: 0, max: 255 }).map(String) }) },
    { weight: 1, arbitrary: fc.record({ name: fc.constant('method'), value: fc.constantFrom('INVITE', 'REGISTER', 'BYE') }) },
  ),
  { selector: (p) => p.name.toLowerCase(), maxLength: 4 },
).map((params): Gen<Map<string, string | null>> => ({
  text: params.map((p) => (p.value === null ? `;${p.name}` : `;${p.name}=${p.value}`)).join(''),
  value: new Map(params.map((p) => [p.name.toLowerCase(), p.value])),
}));

const hnvChar = fc.oneof({ weight: 6, arbitrary: charOf(UNRESERVED) }, { weight: 2, arbitrary: charOf('[]/?:+$') }, { weight: 1, arbitrary: escaped });
const uriHeaders = fc.uniqueArray(
  fc.oneof(
    fc.record({ name: stringOf(hnvChar, 1, 8), value: stringOf(hnvChar, 0, 12) }),
    fc.constant({ name: 'Replaces', value: 'abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2' }),
  ),
  { selector: (h) => h.name, minLength: 1, maxLength: 3 },
).map((headers): Gen<Map<string, string>> => ({
  text: '?' + headers.map((h) => `${h.name}=${h.value}`).join('&'),
  value: new Map(headers.map((h) => [h.name, h.value])),
}));

function sipUri(options: UriOptions): fc.Arbitrary<Gen<unknown>> {
  const userChar = options.bare
    ? fc.oneof({ weight: 6, arbitrary: charOf(UNRESERVED) }, { weight: 1, arbitrary: charOf('&=+$/') }, { weight: 1, arbitrary: escaped })
    : fc.oneof({ weight: 6, arbitrary: charOf(UNRESERVED) }, { weight: 2, arbitrary: charOf('&=+$,;?/') }, { weight: 1, arbitrary: escaped });
  const passwordChar = options.bare
    ? fc.oneof({ weight: 6, arbitrary: charOf(UNRESERVED) }, { weight: 1, arbitrary: charOf('&=+$') }, { weight: 1, arbitrary: escaped })
    : fc.oneof({ weight: 6, arbitrary: charOf(UNRESERVED) }, { weight: 1, arbitrary: charOf('&=+$,') }, { weight: 1, arbitrary: escaped });
  const user = fc.option(
    fc.record({ user: stringOf(userChar, 1, 14), password: fc.option(stringOf(passwordChar, 0, 10), { nil: undefined, freq: 4 }) }),
    { nil: undefined, freq: 5 },
  );
  return fc.record({
    scheme: fc.constantFrom('sip', 'sips'),
    spelling: fc.nat({ max: 5 }),
    user,
    host,
    port: fc.option(port, { nil: undefined }),
    params: options.bare ? fc.constant({ text: '', value: new Map<string, string | null>() }) : uriParams,
    headers: options.headers && !options.bare ? fc.option(uriHeaders, { nil: undefined }) : fc.constant(undefined),
  }).map((u): Gen<unknown> => {
    const scheme = u.spelling === 0 ? u.scheme.toUpperCase() : u.scheme;
    let text = `${scheme}:`;
    if (u.user !== undefined) text += u.user.user + (u.user.password === undefined ? '' : ':' + u.user.password) + '@';
    text += u.host + (u.port === undefined ? '' : ':' + u.port.text) + u.params.text + (u.headers?.text ?? '');
    return {
      text,
      value: {
        type: 'sip',
        scheme: u.scheme,
        user: u.user?.user,
        password: u.user?.password,
        host: u.host,
        port: u.port?.value,
        params: u.params.value,
        headers: u.headers?.value ?? new Map(),
      },
    };
  });
}

function telUri(options: UriOptions): fc.Arbitrary<Gen<unknown>> {
  const global = fc.tuple(charOf(DIGIT), stringOf(fc.oneof({ weight: 4, arbitrary: charOf(DIGIT) }, { weight: 1, arbitrary: charOf('-.()') }), 0, 14))
    .map(([first, rest]) => `+${first}${rest}`);
  const local = fc.tuple(charOf(DIGIT + '*#'), stringOf(fc.oneof({ weight: 4, arbitrary: charOf(HEXDIG + '*#') }, { weight: 1, arbitrary: charOf('-.()') }), 0, 10))
    .map(([first, rest]) => first + rest);
  return fc.record({
    scheme: mixed('tel'),
    number: fc.oneof(global, local),
    params: options.bare ? fc.constant({ text: '', value: new Map<string, string | null>() }) : uriParams,
  }).map((t): Gen<unknown> => ({
    text: `${t.scheme}:${t.number}${t.params.text}`,
    value: { type: 'tel', scheme: 'tel', number: t.number, params: t.params.value },
  }));
}

function absoluteUri(options: UriOptions): fc.Arbitrary<Gen<unknown>> {
  const opaqueChar = options.bare
    ? fc.oneof({ weight: 6, arbitrary: charOf(UNRESERVED) }, { weight: 2, arbitrary: charOf('/:@&=+$') }, { weight: 1, arbitrary: escaped })
    : fc.oneof({ weight: 6, arbitrary: charOf(UNRESERVED) }, { weight: 2, arbitrary: charOf(';/?:@&=+$,') }, { weight: 1, arbitrary: escaped });
  return fc.record({
    scheme: fc.oneof(
      fc.constantFrom('urn', 'http', 'mailto', 'im', 'pres', 'soap.beep', 'nobodyKnowsThisScheme', 'x-a+b.c'),
      fc.tuple(charOf('abcdefghijkmnopqruvwxyz'), stringOf(charOf('abcdefghijklmnopqrstuvwxyz0123456789+.-'), 0, 6)).map(([a, b]) => a + b),
    ),
    opaque: stringOf(opaqueChar, 1, 20),
  }).map((a): Gen<unknown> => ({ text: `${a.scheme}:${a.opaque}`, value: { type: 'absolute', scheme: a.scheme.toLowerCase(), opaque: a.opaque } }));
}

function anyUri(options: UriOptions): fc.Arbitrary<Gen<unknown>> {
  return fc.oneof({ weight: 8, arbitrary: sipUri(options) }, { weight: 1, arbitrary: telUri(options) }, { weight: 1, arbitrary: absoluteUri(options) });
}

// ---- header values (RFC 3261 §20, §25.1) ----

/** Characters of a quoted-string: qdtext as is, '"' and '\' escaped, and now and then any other quoted-pair. */
const quotedPiece = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).filter((c) => c !== 0x22 && c !== 0x5c).map((c) => String.fromCharCode(c)).map((c) => ({ text: c, value: c })) },
  { weight: 1, arbitrary: fc.constant({ text: '\t', value: '\t' }) },
  { weight: 3, arbitrary: nonAsciiChar.map((c) => ({ text: c, value: c })) },
  { weight: 2, arbitrary: fc.constantFrom('"', '\\').map((c) => ({ text: '\\' + c, value: c })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x7f }).filter((c) => c !== 10 && c !== 13).map((c) => String.fromCharCode(c)).map((c) => ({ text: '\\' + c, value: c })) },
);
const quotedString = fc.array(quotedPiece, { maxLength: 16 }).map((pieces): Gen<string> => ({
  text: '"' + pieces.map((p) => p.text).join('') + '"',
  value: pieces.map((p) => p.value).join(''),
}));

const displayName = fc.oneof(
  quotedString,
  fc.tuple(fc.array(token, { minLength: 1, maxLength: 3 }), fc.array(fc.constantFrom(' ', '\t', '  ', ' \t'), { minLength: 2, maxLength: 2 }))
    .map(([words, gaps]): Gen<string> => {
      const text = words.map((w, i) => (i === 0 ? w : gaps[i % 2] + w)).join('');
      return { text, value: text };
    }),
);

/** generic-param values: token, host, or quoted-string (kept with its quotes). */
const genericValue = fc.oneof(
  { weight: 4, arbitrary: token },
  { weight: 1, arbitrary: fc.oneof(hostName, ipv4, ipv6, ipv6.map((a) => `[${a}]`)) },
  { weight: 2, arbitrary: quotedString.map((q) => q.text) },
);

function headerParams(special: fc.Arbitrary<{ name: string; value: string | null }>[] = []): fc.Arbitrary<Gen<Map<string, string | null>>> {
  const param = fc.oneof(
    { weight: 3, arbitrary: fc.record({ name: fc.mixedCase(token), value: fc.option(genericValue, { nil: null }) }) },
    ...special.map((arbitrary) => ({ weight: 2, arbitrary })),
  );
  return fc.uniqueArray(fc.record({ param, before: sws, after: sws, aroundEq: sws }), { selector: (p) => p.param.name.toLowerCase(), maxLength: 4 })
    .map((params) => ({
      text: params.map(({ param: p, before, after, aroundEq }) =>
        `${before};${after}${p.name}` + (p.value === null ? '' : `${aroundEq}=${aroundEq}${p.value}`)).join(''),
      value: new Map(params.map(({ param: p }) => [p.name.toLowerCase(), p.value])),
    }));
}

const tagParam = fc.record({ name: mixed('tag'), value: stringOf(charOf(ALPHA + DIGIT + '-.'), 1, 12) });

function nameAddr(options: { uriHeaders: boolean; bareAllowed: boolean; special?: fc.Arbitrary<{ name: string; value: string | null }>[] }): fc.Arbitrary<Gen<unknown>> {
  const params = headerParams(options.special ?? [tagParam]);
  const angle = fc.record({
    display: fc.option(displayName, { nil: undefined, freq: 2 }),
    gap: fc.constantFrom('', ' ', ' ', '\t'),
    uri: anyUri({ headers: options.uriHeaders, bare: false }),
    params,
  }).map((a): Gen<unknown> => ({
    text: (a.display === undefined ? '' : a.display.text + a.gap) + `<${a.uri.text}>` + a.params.text,
    value: { displayName: a.display?.value, uri: a.uri.value, params: a.params.value },
  }));
  if (!options.bareAllowed) return angle;
  const bare = fc.record({ uri: anyUri({ headers: false, bare: true }), params })
    .map((b): Gen<unknown> => ({ text: b.uri.text + b.params.text, value: { displayName: undefined, uri: b.uri.value, params: b.params.value } }));
  return fc.oneof({ weight: 3, arbitrary: angle }, { weight: 1, arbitrary: bare });
}

const viaParams = headerParams([
  fc.record({ name: mixed('branch'), value: token.map((t) => 'z9hG4bK' + t) }),
  fc.record({ name: mixed('received'), value: fc.oneof(ipv4, ipv6) }),
  fc.record({ name: mixed('rport'), value: fc.option(fc.integer({ min: 1, max: 65535 }).map(String), { nil: null }) }),
  fc.record({ name: mixed('ttl'), value: fc.integer({ min: 0, max: 255 }).map(String) }),
  fc.record({ name: mixed('maddr'), value: fc.oneof(hostName, ipv4, ipv6.map((a) => `[${a}]`)) }),
]);

const via = fc.record({
  form: fc.nat({ max: 3 }),
  name: mixed('SIP'),
  gaps: fc.array(sws, { minLength: 4, maxLength: 4 }),
  fold: fc.constantFrom('', '', '\r\n '),
  transport: fc.oneof(fc.constantFrom('UDP', 'TCP', 'TLS', 'SCTP', 'WS', 'WSS', 'udp', 'tcp', 'tls', 'ws'), token),
  afterTransport: lws,
  host,
  port: fc.option(fc.record({ port, before: sws, after: sws }), { nil: undefined }),
  params: viaParams,
}).map((v): Gen<unknown> => {
  const [g0, g1, g2, g3] = v.gaps as [string, string, string, string];
  // RFC 4475 §3.1.1.1 writes "SIP  /   2.0\r\n  /UDP": LWS (folded or not) around each '/'.
  const protocol = v.form === 0 ? `SIP/2.0/${v.transport}` : `${v.name}${g0}/${g1}2.0${v.fold}${g2}/${g3}${v.transport}`;
  const sentBy = v.host + (v.port === undefined ? '' : `${v.port.before}:${v.port.after}${v.port.port.text}`);
  return {
    text: protocol + v.afterTransport + sentBy + v.params.text,
    value: { protocol: 'SIP/2.0', transport: v.transport.toUpperCase(), host: v.host, port: v.port?.port.value, params: v.params.value },
  };
});

const callIdWord = stringOf(charOf(ALPHA + DIGIT + "-.!%*_+`'~()<>:\\\"/[]?{}"), 1, 16);
const callId = fc.tuple(callIdWord, fc.option(callIdWord, { nil: undefined })).map(([a, b]) => (b === undefined ? a : `${a}@${b}`));

const authParams = fc.uniqueArray(
  fc.record({
    name: fc.oneof(fc.constantFrom('username', 'realm', 'nonce', 'uri', 'response', 'algorithm', 'cnonce', 'opaque', 'qop', 'nc'), token),
    value: fc.oneof(
      token.map((t): Gen<string> => ({ text: t, value: t })),
      quotedString,
      fc.constantFrom<Gen<string>>({ text: '"a, b, c"', value: 'a, b, c' }, { text: '"sip:bob@biloxi.com;lr"', value: 'sip:bob@biloxi.com;lr' }),
    ),
    before: sws,
    after: sws,
  }),
  { selector: (p) => p.name.toLowerCase(), maxLength: 6 },
);
const auth = fc.record({ scheme: fc.oneof(mixed('Digest'), token), gap: fc.constantFrom(' ', '  ', '\t'), params: authParams })
  .map((a): Gen<unknown> => ({
    text: a.params.length === 0 ? a.scheme : a.scheme + a.gap + a.params.map((p, i) => `${i === 0 ? '' : `${p.before},${p.after}`}${p.name}=${p.value.text}`).join(''),
    value: { scheme: a.scheme, params: new Map(a.params.map((p) => [p.name.toLowerCase(), p.value.value])) },
  }));

const contentType = fc.record({
  type: fc.oneof(mixed('application'), mixed('multipart'), mixed('text'), token),
  subtype: fc.oneof(mixed('sdp'), mixed('mixed'), mixed('plain'), token),
  before: sws,
  after: sws,
  params: headerParams([
    fc.record({ name: mixed('boundary'), value: fc.oneof(token, quotedString.map((q) => q.text)) }),
    fc.record({ name: mixed('charset'), value: fc.constantFrom('utf-8', 'UTF-8', '"us-ascii"') }),
  ]),
}).map((c): Gen<unknown> => ({
  text: `${c.type}${c.before}/${c.after}${c.subtype}${c.params.text}`,
  value: { mediaType: `${c.type}/${c.subtype}`.toLowerCase(), params: c.params.value },
}));

/** TEXT-UTF8 without surrounding white space: free text of Subject and extension headers. */
const freeText = fc.oneof(
  { weight: 1, arbitrary: fc.constant('') },
  {
    weight: 8,
    arbitrary: fc.array(fc.oneof(
      { weight: 8, arbitrary: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)) },
      { weight: 2, arbitrary: fc.constantFrom(' ', ' ', '\t', ',', '"', '<', '>', ';', '\\') },
      { weight: 2, arbitrary: nonAsciiChar },
    ), { minLength: 1, maxLength: 30 }).map((chars) => chars.join('').replace(/^[ \t]+|[ \t]+$/g, '')),
  },
);

// ---- header lines ----

interface ExpectedField {
  readonly name: string;
  /** Structured value; absent for headers without one. */
  readonly parsed?: unknown;
  /** Exact text, for headers whose text is all there is. */
  readonly value?: string;
}

interface HeaderLine {
  readonly text: string;
  readonly fields: readonly ExpectedField[];
}

function spelling(canonical: string, compact?: string): fc.Arbitrary<string> {
  const forms = [fc.constant(canonical), fc.constant(canonical.toLowerCase()), fc.constant(canonical.toUpperCase()), fc.mixedCase(fc.constant(canonical))];
  if (compact !== undefined) forms.push(fc.constant(compact), fc.constant(compact.toUpperCase()));
  return fc.oneof(...forms);
}

const beforeColon = fc.constantFrom('', '', '', ' ', '\t');
const afterColon = fc.constantFrom('', ' ', ' ', ' ', '  ', '\t', '\r\n ', ' \r\n\t');
const listSeparator = fc.constantFrom(',', ', ', ', ', ' , ', ',\t', ',\r\n ');

function line(name: fc.Arbitrary<string>, canonical: string, value: fc.Arbitrary<Gen<unknown>>): fc.Arbitrary<HeaderLine> {
  return fc.record({ name, before: beforeColon, after: afterColon, value }).map((h) => ({
    text: `${h.name}${h.before}:${h.after}${h.value.text}\r\n`,
    fields: [{ name: canonical, parsed: h.value.value }],
  }));
}

function listLine(name: fc.Arbitrary<string>, canonical: string, element: fc.Arbitrary<Gen<unknown>>): fc.Arbitrary<HeaderLine> {
  return fc.record({
    name,
    before: beforeColon,
    after: afterColon,
    elements: fc.array(fc.record({ element, separator: listSeparator }), { minLength: 1, maxLength: 3 }),
  }).map((h) => ({
    text: `${h.name}${h.before}:${h.after}${h.elements.map((e, i) => (i === 0 ? '' : e.separator) + e.element.text).join('')}\r\n`,
    fields: h.elements.map((e) => ({ name: canonical, parsed: e.element.value })),
  }));
}

function textLine(name: fc.Arbitrary<string>, canonical: ((written: string) => string), value: fc.Arbitrary<string>): fc.Arbitrary<HeaderLine> {
  return fc.record({ name, before: beforeColon, after: afterColon, value }).map((h) => ({
    text: `${h.name}${h.before}:${h.after}${h.value}\r\n`,
    fields: [{ name: canonical(h.name), value: h.value }],
  }));
}

const number = (max: number, maxDigits: number): fc.Arbitrary<Gen<number>> =>
  fc.tuple(fc.integer({ min: 0, max }), fc.nat({ max: 3 })).map(([n, zeros]) => ({ text: padDigits(n, zeros, maxDigits), value: n }));

// CSeq must name the request's method, which is drawn with the start line: the line holds a placeholder until then.
const METHOD_SLOT = '\u0001method\u0001';

const cseqLine = line(spelling('CSeq'), 'CSeq', fc.record({ seq: number(4294967295, 12), gap: lws })
  .map((c) => ({ text: `${c.seq.text}${c.gap}${METHOD_SLOT}`, value: { seq: c.seq.value, method: METHOD_SLOT } })));

function withMethod(header: HeaderLine, method: string): HeaderLine {
  if (!header.text.includes(METHOD_SLOT)) return header;
  return {
    text: header.text.replace(METHOD_SLOT, method),
    fields: header.fields.map((f) => ({ ...f, parsed: { ...(f.parsed as object), method } })),
  };
}

const optionTag = fc.oneof(fc.constantFrom('100rel', 'timer', 'path', 'outbound', 'gruu', 'replaces'), token);
const date = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true })
  .map((d): Gen<unknown> => ({ text: d.toUTCString(), value: new Date(Math.floor(d.getTime() / 1000) * 1000) }));

const headerLines: fc.Arbitrary<HeaderLine[]> = (() => {
  const one = fc.oneof(
    { weight: 4, arbitrary: listLine(spelling('Via', 'v'), 'Via', via) },
    { weight: 2, arbitrary: line(spelling('From', 'f'), 'From', nameAddr({ uriHeaders: false, bareAllowed: true })) },
    { weight: 2, arbitrary: line(spelling('To', 't'), 'To', nameAddr({ uriHeaders: false, bareAllowed: true })) },
    { weight: 2, arbitrary: line(spelling('Call-ID', 'i'), 'Call-ID', callId.map((c) => ({ text: c, value: c }))) },
    { weight: 2, arbitrary: cseqLine },
    { weight: 1, arbitrary: line(spelling('Max-Forwards'), 'Max-Forwards', number(255, 3)) },
    {
      weight: 2,
      arbitrary: fc.oneof(
        { weight: 5, arbitrary: listLine(spelling('Contact', 'm'), 'Contact', nameAddr({
          uriHeaders: true,
          bareAllowed: true,
          special: [
            fc.record({ name: mixed('expires'), value: fc.integer({ min: 0, max: 4294967295 }).map(String) }),
            fc.record({ name: mixed('q'), value: fc.constantFrom('0', '0.5', '1', '1.0', '0.001') }),
            fc.record({ name: mixed('+sip.instance'), value: fc.uuid().map((u) => `"<urn:uuid:${u}>"`) }),
          ],
        })) },
        { weight: 1, arbitrary: line(spelling('Contact', 'm'), 'Contact', fc.constant({ text: '*', value: '*' })) },
      ),
    },
    { weight: 1, arbitrary: listLine(spelling('Route'), 'Route', nameAddr({ uriHeaders: false, bareAllowed: false })) },
    { weight: 1, arbitrary: listLine(spelling('Record-Route'), 'Record-Route', nameAddr({ uriHeaders: false, bareAllowed: false })) },
    { weight: 1, arbitrary: listLine(spelling('P-Asserted-Identity'), 'P-Asserted-Identity', nameAddr({ uriHeaders: false, bareAllowed: true, special: [] })) },
    { weight: 1, arbitrary: line(spelling('Refer-To', 'r'), 'Refer-To', nameAddr({ uriHeaders: true, bareAllowed: true, special: [] })) },
    { weight: 1, arbitrary: line(spelling('Content-Type', 'c'), 'Content-Type', contentType) },
    { weight: 1, arbitrary: line(fc.constantFrom('Authorization', 'Proxy-Authorization', 'WWW-Authenticate', 'Proxy-Authenticate', 'authorization', 'WWW-AUTHENTICATE'), '', auth) },
    { weight: 1, arbitrary: line(spelling('Date'), 'Date', date) },
    { weight: 1, arbitrary: line(spelling('Expires'), 'Expires', number(4294967295, 12)) },
    { weight: 1, arbitrary: listLine(spelling('Supported', 'k'), 'Supported', optionTag.map((t) => ({ text: t, value: t }))) },
    { weight: 1, arbitrary: listLine(spelling('Require'), 'Require', optionTag.map((t) => ({ text: t, value: t }))) },
    {
      weight: 1,
      arbitrary: fc.record({ name: spelling('Supported', 'k'), after: fc.constantFrom('', ' ', '\t') })
        .map((h): HeaderLine => ({ text: `${h.name}:${h.after}\r\n`, fields: [] })),
    },
    { weight: 1, arbitrary: textLine(spelling('Subject', 's'), () => 'Subject', freeText) },
    { weight: 1, arbitrary: textLine(spelling('User-Agent'), () => 'User-Agent', freeText) },
    { weight: 2, arbitrary: textLine(token.map((t) => `X-${t}`), (written) => written, freeText) },
  );
  return fc.array(one, { maxLength: 10 }).map((lines) => lines.map(fixAuthName));
})();

/** The auth line's canonical name depends on which of the four names was drawn. */
function fixAuthName(header: HeaderLine): HeaderLine {
  if (header.fields.length !== 1 || header.fields[0]!.name !== '') return header;
  const written = header.text.slice(0, header.text.search(/[ \t]*:/)).toLowerCase();
  const canonical = { authorization: 'Authorization', 'proxy-authorization': 'Proxy-Authorization', 'www-authenticate': 'WWW-Authenticate', 'proxy-authenticate': 'Proxy-Authenticate' }[written];
  assert.ok(canonical !== undefined, written);
  return { text: header.text, fields: [{ ...header.fields[0]!, name: canonical }] };
}

// ---- whole messages ----

const METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'INFO', 'UPDATE', 'PRACK', 'REFER', 'NOTIFY', 'SUBSCRIBE', 'MESSAGE', 'PUBLISH'];

const startLine = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      method: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...METHODS) }, { weight: 1, arbitrary: token }),
      uri: anyUri({ headers: false, bare: false }),
      version: fc.oneof({ weight: 4, arbitrary: fc.constant('SIP/2.0') }, { weight: 1, arbitrary: fc.mixedCase(fc.constant('sip/2.0')) }),
    }).map((r) => ({ text: `${r.method} ${r.uri.text} ${r.version}`, method: r.method, expect: { kind: 'request' as const, method: r.method, uri: r.uri.value } })),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      status: fc.integer({ min: 100, max: 699 }),
      reason: fc.oneof(fc.constantFrom('OK', 'Ringing', 'Not Found', ''), freeText),
      version: fc.oneof({ weight: 4, arbitrary: fc.constant('SIP/2.0') }, { weight: 1, arbitrary: fc.mixedCase(fc.constant('sip/2.0')) }),
      method: fc.constantFrom(...METHODS),
    }).map((r) => ({ text: `${r.version} ${r.status} ${r.reason}`, method: r.method, expect: { kind: 'response' as const, status: r.status, reason: r.reason } })),
  },
);

/** Bodies are bytes: NUL, bare CR and LF, CRLFCRLF and high bytes are all fair game (RFC 4475 §3.1.1.11). */
const body = fc.oneof(
  { weight: 2, arbitrary: fc.constant(new Uint8Array(0)) },
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  {
    weight: 3,
    arbitrary: fc.array(fc.oneof(
      fc.constantFrom('\r\n', '\r\n\r\n', '\r', '\n', '\0', 'v=0', 'Content-Length: 5', ' ', '--boundary', '\ufeff'),
      stringOf(anyCodePoint, 0, 8),
    ), { maxLength: 20 }).map((parts) => encoder.encode(parts.join(''))),
  },
);

interface GeneratedMessage {
  readonly bytes: Uint8Array;
  /** The same message as text, when it is UTF-8 throughout. */
  readonly text: string | undefined;
  readonly expect: {
    readonly start: { kind: 'request'; method: string; uri: unknown } | { kind: 'response'; status: number; reason: string };
    readonly fields: readonly ExpectedField[];
    readonly body: Uint8Array;
  };
}

const generatedMessage: fc.Arbitrary<GeneratedMessage> = fc.record({
  start: startLine,
  headers: headerLines,
  body,
  lengthMode: fc.constantFrom('exact', 'exact', 'padded', 'absent', 'trailing', 'compact'),
  lengthAt: fc.nat(),
  trailing: fc.uint8Array({ minLength: 1, maxLength: 40 }),
}).map((m): GeneratedMessage => {
  const start = m.start;
  const headers = m.headers.map((h) => withMethod(h, start.method));
  const lines = headers.map((h) => h.text);
  if (m.lengthMode !== 'absent') {
    const length = m.lengthMode === 'padded' ? `00${m.body.length}` : String(m.body.length);
    const name = m.lengthMode === 'compact' ? 'l' : 'Content-Length';
    lines.splice(m.lengthAt % (lines.length + 1), 0, `${name}: ${length}\r\n`);
  }
  const head = encoder.encode(`${start.text}\r\n${lines.join('')}\r\n`);
  // Bytes after Content-Length's worth of body are the rest of the datagram and are discarded (RFC 4475 §3.1.1.8).
  const tail = m.lengthMode === 'trailing' ? m.trailing : new Uint8Array(0);
  const bytes = cat([head, m.body, tail]);
  let text: string | undefined;
  try {
    text = strictDecoder.decode(bytes);
  } catch {
    text = undefined;
  }
  return { bytes, text, expect: { start: start.expect, fields: headers.flatMap((h) => h.fields), body: m.body } };
});

function checkAgainstModel(message: SipMessage, generated: GeneratedMessage, input: Input): void {
  const { expect } = generated;
  try {
    if (expect.start.kind === 'request') {
      assert.ok(message instanceof SipRequest, 'expected a request');
      assert.equal(message.method, expect.start.method);
      assert.deepStrictEqual(plain(message.uri), plain(expect.start.uri));
    } else {
      assert.ok(message instanceof SipResponse, 'expected a response');
      assert.equal(message.status, expect.start.status);
      assert.equal(message.reason, expect.start.reason);
    }
    // A list may come back as one field per element or as one field whose structured value is the array of them.
    const fields = message.headers
      .filter((field) => field.key !== 'content-length')
      .flatMap((field) => (Array.isArray(field.parsed)
        ? field.parsed.map((element: unknown) => ({ name: field.name, parsed: element as unknown, value: undefined as string | undefined }))
        : [{ name: field.name, parsed: field.parsed, value: field.value as string | undefined }]));
    assert.deepStrictEqual(fields.map((f) => f.name), expect.fields.map((f) => f.name), 'header names in order');
    expect.fields.forEach((expected, i) => {
      const actual = fields[i]!;
      if (expected.parsed !== undefined) assert.deepStrictEqual(plain(actual.parsed), plain(expected.parsed), `structured value of ${expected.name} #${i}`);
      if (expected.value !== undefined) assert.equal(actual.value, expected.value, `text of ${expected.name} #${i}`);
    });
    assert.equal(Buffer.from(message.body).toString('hex'), Buffer.from(expect.body).toString('hex'), 'body');
  } catch (error) {
    fail('a valid message parsed to something other than what was generated', input, error);
  }
}

function checkGenerated(generated: GeneratedMessage): void {
  const forms: Input[] = generated.text === undefined ? [generated.bytes] : [generated.bytes, generated.text];
  const parsed: SipMessage[] = [];
  for (const input of forms) {
    const result = parseOrReject(input);
    if (result instanceof SipParseError) fail(`a valid message was rejected with ${result.status}`, input, result);
    checkAgainstModel(result, generated, input);
    assertWellFormed(result, input);
    assertRoundTrip(result, input);
    parsed.push(result);
  }
  if (parsed.length === 2) assert.deepStrictEqual(normalize(parsed[1]!), normalize(parsed[0]!), 'bytes and text give the same message');
}

// ---------------------------------------------------------------------------------------------------------------
// Mutations

const SPECIAL_BYTES: readonly (readonly number[])[] = [
  [13], [10], [0], [32], [9], [11], [12], [58], [59], [44], [34], [60], [62], [37], [92], [61], [64], [63], [47], [91], [93],
  [0x7f], [0x80], [0xc0], [0xff], [0xe2, 0x82], [0xef, 0xbb, 0xbf], [0xed, 0xa0, 0x80],
  [13, 10], [13, 10, 32], [13, 10, 9], [13, 10, 13, 10], [37, 48, 48], [92, 34], [34, 34],
];
const SEPARATORS = new Set([...',;:"<>/=@?&[] \t'].map((c) => c.charCodeAt(0)));
const EXTREME_NUMBERS = ['0', '00', '255', '256', '65535', '65536', '99999', '4294967295', '4294967296', '18446744073709551616', '-1', '1.5', ' 1', ''];

type Mutation =
  | { op: 'flip'; at: number; mask: number }
  | { op: 'insert'; at: number; bytes: readonly number[] }
  | { op: 'insertAtSeparator'; which: number; after: boolean; bytes: readonly number[] }
  | { op: 'delete'; at: number; count: number }
  | { op: 'truncate'; at: number }
  | { op: 'duplicateLine'; line: number }
  | { op: 'swapLines'; a: number; b: number }
  | { op: 'splice'; other: number; at: number; from: number }
  | { op: 'number'; which: number; text: string };

const position = fc.nat({ max: 1 << 20 });

function mutation(others: number): fc.Arbitrary<Mutation> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.record({ op: fc.constant('flip' as const), at: position, mask: fc.integer({ min: 1, max: 255 }) }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('insert' as const), at: position, bytes: fc.constantFrom(...SPECIAL_BYTES) }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('insertAtSeparator' as const), which: fc.nat({ max: 4096 }), after: fc.boolean(), bytes: fc.constantFrom(...SPECIAL_BYTES) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), at: position, count: fc.integer({ min: 1, max: 24 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: position }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('duplicateLine' as const), line: fc.nat({ max: 64 }) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('swapLines' as const), a: fc.nat({ max: 64 }), b: fc.nat({ max: 64 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('splice' as const), other: fc.nat({ max: Math.max(0, others - 1) }), at: position, from: position }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('number' as const), which: fc.nat({ max: 64 }), text: fc.constantFrom(...EXTREME_NUMBERS) }) },
  );
}

/** Offsets of the header lines (start line excluded) as [start, end) including their CRLF. */
function headerLineSpans(data: Uint8Array): [number, number][] {
  const spans: [number, number][] = [];
  let start = -1;
  for (let i = 0; i + 1 < data.length; i++) {
    if (data[i] !== 13 || data[i + 1] !== 10) continue;
    if (start !== -1) {
      if (i === start) break; // the empty line ending the headers
      spans.push([start, i + 2]);
    }
    start = i + 2;
  }
  return spans;
}

function applyMutation(data: Uint8Array, m: Mutation, pool: readonly Uint8Array[]): Uint8Array {
  const at = (n: number): number => n % (data.length + 1);
  switch (m.op) {
    case 'flip': {
      if (data.length === 0) return data;
      const out = data.slice();
      const i = m.at % data.length;
      out[i] = out[i]! ^ m.mask;
      return out;
    }
    case 'insert': {
      const i = at(m.at);
      return cat([data.subarray(0, i), Uint8Array.from(m.bytes), data.subarray(i)]);
    }
    case 'insertAtSeparator': {
      // Next to the characters that structure a value is where a stray byte is most likely to be misread.
      const separators: number[] = [];
      for (let i = 0; i < data.length; i++) if (SEPARATORS.has(data[i]!)) separators.push(i);
      if (separators.length === 0) return data;
      const i = separators[m.which % separators.length]! + (m.after ? 1 : 0);
      return cat([data.subarray(0, i), Uint8Array.from(m.bytes), data.subarray(i)]);
    }
    case 'delete': {
      const i = at(m.at);
      return cat([data.subarray(0, i), data.subarray(Math.min(data.length, i + m.count))]);
    }
    case 'truncate':
      return data.slice(0, at(m.at));
    case 'duplicateLine': {
      const spans = headerLineSpans(data);
      if (spans.length === 0) return data;
      const [s, e] = spans[m.line % spans.length]!;
      return cat([data.subarray(0, e), data.subarray(s, e), data.subarray(e)]);
    }
    case 'swapLines': {
      const spans = headerLineSpans(data);
      if (spans.length < 2) return data;
      let a = m.a % spans.length;
      let b = m.b % spans.length;
      if (a === b) return data;
      if (a > b) [a, b] = [b, a];
      const [as, ae] = spans[a]!;
      const [bs, be] = spans[b]!;
      return cat([data.subarray(0, as), data.subarray(bs, be), data.subarray(ae, bs), data.subarray(as, ae), data.subarray(be)]);
    }
    case 'splice': {
      const other = pool[m.other % pool.length]!;
      return cat([data.subarray(0, at(m.at)), other.subarray(m.from % (other.length + 1))]);
    }
    case 'number': {
      const text = Buffer.from(data).toString('latin1');
      const runs = [...text.matchAll(/[0-9]+/g)];
      if (runs.length === 0) return data;
      const run = runs[m.which % runs.length]!;
      return cat([data.subarray(0, run.index), encoder.encode(m.text), data.subarray(run.index + run[0].length)]);
    }
  }
}

function mutate(base: Uint8Array, mutations: readonly Mutation[], pool: readonly Uint8Array[]): Uint8Array {
  let data = base;
  for (const m of mutations) data = applyMutation(data, m, pool);
  return data;
}

/** Text input from bytes: UTF-8 where it decodes, otherwise one character per byte. */
function asText(bytes: Uint8Array): string {
  return isUtf8(bytes) ? strictDecoder.decode(bytes) : Buffer.from(bytes).toString('latin1');
}

// ---------------------------------------------------------------------------------------------------------------
// SIP soup: protocol fragments thrown together, so that random input reaches the header parsers

const FRAGMENTS = [
  'INVITE', 'REGISTER', 'OPTIONS', 'ACK', 'sip:', 'sips:', 'tel:', 'urn:x', 'SIP/2.0', 'sip/2.0', 'SIP/2.0/UDP', 'SIP/2.0/TCP ', 'SIP/7.0',
  ' ', '  ', '\t', '\r\n', '\r\n ', '\r\n\r\n', '\r', '\n', '\0', ':', ';', ',', '"', '\\', '\\"', '<', '>', '%', '%2', '%00', '%zz', '=', '?',
  '&', '@', '[', ']', '/', '*', '+', '.', '-', '(', ')', 'Via', 'v', 'From', 'f', 'To', 't', 'Contact', 'm', 'CSeq', 'Call-ID', 'i',
  'Content-Length', 'l', 'Content-Type', 'c', 'Max-Forwards', 'Date', 'Authorization', 'Digest', 'Supported', 'k', 'Route', 'Expires',
  'tag=', 'branch=z9hG4bK', 'received=', 'rport', 'lr', 'transport=', 'maddr=', 'user=phone', 'example.com', '192.0.2.1', '[2001:db8::1]',
  '[::1]', '::', '5060', '0', '65535', '65536', '4294967296', '99999999999999999999', 'UDP', 'GMT', 'Mon, 01 Jan 2024 00:00:00 GMT',
  'application/sdp', 'multipart/mixed;boundary="x"', 'v=0', '\u00ff', '\u0080', '€', '\u{1F600}', '\ud800', '\udfff', '\ufeff', '\u2028',
  '"Bob" <sip:bob@b.com>;tag=1', '<sip:a@b;lr>', 'sip:a@b', '100 Trying', '200 OK', 'username="a, b"', 'realm="x"',
];

const fragment = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...FRAGMENTS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
  { weight: 1, arbitrary: stringOf(anyCodePoint, 0, 4) },
);
const soupText = joined(fc.array(fragment, { maxLength: 14 }));
const headerName = fc.oneof(
  fc.constantFrom('Via', 'v', 'From', 'f', 'To', 't', 'Contact', 'm', 'Route', 'Record-Route', 'CSeq', 'Call-ID', 'i', 'Max-Forwards',
    'Content-Length', 'l', 'Content-Type', 'c', 'Authorization', 'WWW-Authenticate', 'Date', 'Expires', 'Supported', 'Require', 'Allow',
    'Subject', 's', 'Refer-To', 'P-Asserted-Identity', 'X-Ext', 'VIA', 'call-id', 'Min-Expires', 'Reply-To', 'Path', 'Service-Route',
    'Proxy-Require', 'Unsupported', 'Accept', 'Referred-By', '__proto__', 'constructor', 'hasOwnProperty'),
  soupText,
);
const soupMessage = fc.record({
  start: fc.oneof(
    soupText,
    fc.constantFrom('INVITE sip:bob@biloxi.com SIP/2.0', 'SIP/2.0 200 OK', 'REGISTER sips:ss2.biloxi.example.com SIP/2.0', 'SIP/2.0 100 '),
  ),
  headers: fc.array(fc.record({ name: headerName, colon: fc.constantFrom(':', ': ', ' : ', ':\t', ''), value: soupText }), { maxLength: 10 }),
  end: fc.constantFrom('\r\n', '\r\n\r\n', '', '\n\n'),
  body: soupText,
  encoding: fc.constantFrom('string', 'utf8', 'latin1'),
}).map((m): Input => {
  const text = `${m.start}\r\n${m.headers.map((h) => `${h.name}${h.colon}${h.value}\r\n`).join('')}${m.end}${m.body}`;
  if (m.encoding === 'string') return text;
  return m.encoding === 'utf8' ? encoder.encode(text) : Uint8Array.from(Buffer.from(text, 'latin1'));
});

// ---------------------------------------------------------------------------------------------------------------
// Messages at the parser's limits (65535 bytes, 256 fields, 16384-character lines) and long repetitive values

const BASE_HEAD = 'OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\nVia: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776\r\n' +
  'Max-Forwards: 70\r\nTo: <sip:bob@biloxi.example.com>\r\nFrom: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n' +
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\nCSeq: 63104 OPTIONS\r\n';
const BASE_FIELDS = BASE_HEAD.split('\r\n').length - 2;

type LimitCase =
  | { kind: 'size'; slack: number; compact: boolean }
  | { kind: 'count'; slack: number }
  | { kind: 'line'; slack: number; name: 'X' | 's' | 'Subject' }
  | { kind: 'text-units'; slack: number }
  | { kind: 'invalid-utf8'; slack: number };

const limitCase: fc.Arbitrary<LimitCase> = fc.oneof(
  fc.record({ kind: fc.constant('size' as const), slack: fc.nat({ max: 64 }), compact: fc.boolean() }),
  fc.record({ kind: fc.constant('count' as const), slack: fc.nat({ max: 4 }) }),
  fc.record({ kind: fc.constant('line' as const), slack: fc.nat({ max: 12 }), name: fc.constantFrom('X' as const, 's' as const, 'Subject' as const) }),
  fc.record({ kind: fc.constant('text-units' as const), slack: fc.nat({ max: 64 }) }),
  fc.record({ kind: fc.constant('invalid-utf8' as const), slack: fc.nat({ max: 64 }) }),
);

/** Filler header lines adding up to exactly `total` bytes (total >= 8 or 0). */
function filler(total: number, compact: boolean, char = 'a'): string {
  let out = '';
  let left = total;
  const name = compact ? 'X:' : 'X-Pad: ';
  while (left > 0) {
    const chunk = Math.min(left, 8000);
    // Never leave a remainder too short for a line of its own.
    const size = left - chunk > 0 && left - chunk < name.length + 3 ? chunk - (name.length + 3) : chunk;
    out += name + char.repeat(size - name.length - 2) + '\r\n';
    left -= size;
  }
  return out;
}

function buildLimitCase(c: LimitCase): Input {
  const max = 65535;
  switch (c.kind) {
    case 'size': {
      // No Content-Length, and (in the compact variant) "X:value" lines: both get longer when serialized.
      const room = max - c.slack - BASE_HEAD.length - 2;
      return encoder.encode(BASE_HEAD + filler(room, c.compact) + '\r\n');
    }
    case 'count': {
      // 256 fields and no Content-Length: serialization adds one.
      let head = BASE_HEAD;
      for (let i = BASE_FIELDS; i < 256 - c.slack; i++) head += `X-H${i}: ${i}\r\n`;
      return encoder.encode(head + '\r\n');
    }
    case 'line': {
      const prefix = c.name + ':';
      return encoder.encode(BASE_HEAD + prefix + 'a'.repeat(16384 - c.slack - prefix.length) + '\r\nContent-Length: 0\r\n\r\n');
    }
    case 'text-units': {
      // Fewer than 65536 UTF-16 units, but three bytes to the unit once encoded.
      const units = max - c.slack - BASE_HEAD.length - 2 - 20;
      let head = BASE_HEAD;
      let left = units;
      while (left > 0) {
        const n = Math.min(left, 10000);
        head += n > 13 ? `Subject: ${'€'.repeat(n - 11)}\r\n` : `X: ${'a'.repeat(Math.max(1, n - 5))}\r\n`;
        left -= n;
      }
      return head + 'Content-Length: 0\r\n\r\n';
    }
    case 'invalid-utf8': {
      // Bytes that are not UTF-8 decode to U+FFFD and serialize as three bytes each.
      const bytes = Buffer.from(BASE_HEAD + filler(30000 - c.slack, false, '\u00ff') + 'Content-Length: 0\r\n\r\n', 'latin1');
      return Uint8Array.from(bytes);
    }
  }
}

// Repetitive values, by the kind of header that reads them: a prefix that puts the parser in the state it reads
// repetitions in, one or two fragments repeated, and a suffix that makes the value wrong at the very end, so that a
// backtracking pattern has to try every way of dividing the repetitions before it gives up. A handful of repetitions
// tells exponential behaviour (seconds at 25 to 40), thousands tell quadratic behaviour.
const HEADER_KINDS = {
  address: {
    names: ['From', 'To', 'Contact', 'Route', 'Record-Route', 'P-Asserted-Identity', 'Refer-To', 'f', 't', 'm'],
    prefixes: ['<sip:a@b>', '"x" <sip:a@b>', 'x <sip:a@b>', 'x y <sip:a@b>', 'sip:a@b', '<sip:a@b;lr>', '<sip:a@b', '"', 'a', '<sip:a:b@[::1]:5060>', '<tel:+1>'],
    fragments: [';a=b', ';a=1', ';tag=x', ';a', ';a=b:c', ';a=[::1]', ';a="b"', ' a', 'a ', '\\"', ';a=b.c', ':a', 'a.', '%41', ';+a=-', ' ;a = b'],
  },
  via: {
    names: ['Via', 'v'],
    prefixes: ['SIP/2.0/UDP h', 'SIP/2.0/UDP [::1]', 'SIP / 2.0 / UDP h', 'SIP/2.0/UDP h:5060', 'SIP/2.0/', 'SIP/2.0/UDP ', 'sip/2.0/tcp h'],
    fragments: [';a=b', ';a=1', ';branch=z9hG4bK1', ';rport', ';a=b:c', ';received=1.2.3.4', ' ;a = b', 'a.', '/ ', ' /', 'a:', ':1'],
  },
  auth: {
    names: ['Authorization', 'WWW-Authenticate', 'Proxy-Authorization'],
    prefixes: ['Digest ', 'Digest a=b', 'Digest a="b"', 'Digest a=b, '],
    fragments: [' a=b,', 'a=b, ', ',a="b"', ', a = b', ' ', '\\"', 'a', 'a=b:c/d@e,'],
  },
  other: {
    names: ['CSeq', 'Call-ID', 'Content-Type', 'c', 'Date', 'Max-Forwards', 'Supported', 'k', 'Expires', 'X-Other'],
    prefixes: ['', '1 ', 'a@', 'text/plain', 'text/plain;a=b', 'Mon, 01 Jan 2024 ', 'a, '],
    fragments: ['a', ' ', '\t', 'a ', ' a', ',', ', ', 'a,', ';a=b', ';a', '"', '\\"', '1', '@', '/', '0'],
  },
} as const;
const BREAKERS = ['"', ' x', '>', ';', '=', '\\', ',"', '\u00ff', '<', '@', ' ', ':', '', '\u00a0'];

const repetitions = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 48 }) }, { weight: 1, arbitrary: fc.integer({ min: 200, max: 3000 }) });

const repetitiveHeader = fc.constantFrom(...(Object.keys(HEADER_KINDS) as (keyof typeof HEADER_KINDS)[])).chain((kind) => {
  const k = HEADER_KINDS[kind];
  return fc.record({
    name: fc.constantFrom(...k.names),
    prefix: fc.constantFrom(...k.prefixes),
    fragments: fc.array(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...k.fragments) }, { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 3 }) }), { minLength: 1, maxLength: 2 }),
    times: repetitions,
    suffix: fc.constantFrom(...BREAKERS),
  }).map((r): Input => `${BASE_HEAD}${r.name}: ${r.prefix}${r.fragments.join('').repeat(r.times).slice(0, 16000)}${r.suffix}\r\n\r\n`);
});

const repetitiveStartLine = fc.record({
  where: fc.constantFrom('request-uri', 'reason', 'method'),
  prefix: fc.constantFrom('', 'sip:a@b', 'sip:a@b;x', 'sip:', 'sip:a:b@', 'tel:+1', 'sip:[::1]', 'x:'),
  fragment: fc.constantFrom(';a=b', ';a', 'a', ':', '@', '%41', '[', ':1', '?a=b&', '&a=b', 'a ', '\t'),
  times: repetitions,
  suffix: fc.constantFrom(...BREAKERS),
}).map((r): Input => {
  const value = r.prefix + r.fragment.repeat(r.times).slice(0, 16000) + r.suffix;
  if (r.where === 'reason') return `SIP/2.0 200 ${value}\r\n\r\n`;
  if (r.where === 'method') return `${value} sip:a@b SIP/2.0\r\n\r\n`;
  return `INVITE ${value} SIP/2.0\r\n\r\n`;
});

const pathologicalCase = fc.oneof({ weight: 4, arbitrary: repetitiveHeader }, { weight: 1, arbitrary: repetitiveStartLine });

// ---------------------------------------------------------------------------------------------------------------
// A parser in a worker thread: a parse that never ends is stopped there and fails the test, where in the test's own
// thread it would stall the whole run.

// Far above PARSE_BUDGET_MS: by then a parse is not slow but stuck.
const HANG_LIMIT_MS = 3000;

type WorkerVerdict = { outcome: 'parsed' | 'SipParseError' | 'threw'; detail: string; ms: number } | { outcome: 'hung' };

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const tsx = require(workerData.tsxApi);
const { parseMessage } = tsx.require(workerData.parser, workerData.parent);
parentPort.on('message', (input) => {
  const started = performance.now();
  let outcome = 'parsed';
  let detail = '';
  try {
    parseMessage(input);
  } catch (error) {
    const isParseError = error !== null && typeof error === 'object' && error.name === 'SipParseError' && error.code === 'parse';
    outcome = isParseError ? 'SipParseError' : 'threw';
    detail = error instanceof Error ? (error.stack || error.message) : String(error);
  }
  parentPort.postMessage({ outcome, detail, ms: performance.now() - started });
});
parentPort.postMessage('ready');
`;

class ParserThread {
  private worker: Worker | undefined;

  private async start(): Promise<Worker> {
    // The worker loads the TypeScript sources the way this test is run: through tsx, here its CommonJS API.
    const require = createRequire(import.meta.url);
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { tsxApi: require.resolve('tsx/cjs/api'), parser: './parse-message.js', parent: fileURLToPath(import.meta.url) },
    });
    await new Promise<void>((ready, failed) => {
      worker.once('message', () => ready());
      worker.once('error', failed);
    });
    worker.unref();
    return worker;
  }

  async parse(input: Input): Promise<WorkerVerdict> {
    const worker = (this.worker ??= await this.start());
    return new Promise<WorkerVerdict>((done, failed) => {
      const timer = setTimeout(() => {
        worker.removeAllListeners('message');
        worker.removeAllListeners('error');
        this.worker = undefined;
        void worker.terminate();
        done({ outcome: 'hung' });
      }, HANG_LIMIT_MS);
      worker.once('message', (verdict: WorkerVerdict) => {
        clearTimeout(timer);
        worker.removeAllListeners('error');
        done(verdict);
      });
      worker.once('error', (error) => {
        clearTimeout(timer);
        this.worker = undefined;
        failed(error);
      });
      worker.postMessage(input);
    });
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker !== undefined) await worker.terminate();
  }
}

/** Fails unless the input parses, or is refused with SipParseError, within the time budget (judged in the worker). */
async function assertFinishes(thread: ParserThread, input: Input): Promise<void> {
  const verdict = await thread.parse(input);
  if (verdict.outcome === 'hung') fail(`parseMessage did not finish within ${HANG_LIMIT_MS} ms`, input);
  if (verdict.outcome === 'threw') fail('parseMessage threw something other than SipParseError', input, verdict.detail);
  if (verdict.ms > PARSE_BUDGET_MS) fail(`parseMessage took ${verdict.ms.toFixed(0)} ms`, input);
}

// ---------------------------------------------------------------------------------------------------------------
// The tests

function loadCorpus(): { name: string; bytes: Uint8Array }[] {
  assert.ok(existsSync(CORPUS_DIR), `RFC 4475 corpus not found at ${CORPUS_DIR} (set SWITCHBOARD_SHARED)`);
  const files = readdirSync(CORPUS_DIR).filter((f) => f.endsWith('.dat')).sort();
  assert.ok(files.length >= 50, `expected the 50 RFC 4475 messages in ${CORPUS_DIR}, found ${files.length}`);
  return files.map((name) => ({ name, bytes: new Uint8Array(readFileSync(join(CORPUS_DIR, name))) }));
}

describe(`parseMessage fuzzing (FUZZ_SEED=${SEED}, FUZZ_RUNS=${TOTAL_RUNS})`, () => {
  const corpus = loadCorpus();
  const corpusBytes = corpus.map((c) => c.bytes);

  test('arbitrary bytes: only SipParseError, and what parses round-trips', () => {
    const arbitrary = fc.oneof(
      { weight: 3, arbitrary: fc.uint8Array({ maxLength: 512 }) },
      // Printable-heavy bytes with line breaks get past the first line more often than uniform noise.
      { weight: 2, arbitrary: fc.array(fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.constantFrom(13, 10, 0, 9, 0xff, 0xc3)), { maxLength: 512 }).map((a) => Uint8Array.from(a)) },
    );
    runProperty('bytes', 1, arbitrary, (b) => b, (b) => { checkContract(b); }, runsFor('bytes'));
  });

  test('arbitrary strings (lone surrogates included): only SipParseError, and what parses round-trips', () => {
    const unit = fc.oneof(
      { weight: 6, arbitrary: anyCodePoint },
      { weight: 3, arbitrary: fc.constantFrom('\r\n', '\r', '\n', ' ', ':', ';', ',', '"', '<', '>', '\\', '%', '\0', 'SIP/2.0', 'sip:') },
      { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
    );
    const arbitrary = fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit, maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 100 }));
    runProperty('string', 2, arbitrary, (s) => s, (s) => { checkContract(s); }, runsFor('strings'));
  });

  test('SIP soup (fragments of real messages in random order): only SipParseError, and what parses round-trips', () => {
    runProperty('soup', 3, soupMessage, (s) => s, (s) => { checkContract(s); }, runsFor('soup'));
  });

  test('mutated RFC 4475 messages: only SipParseError, and what parses round-trips', () => {
    const arbitrary = fc.record({
      file: fc.nat({ max: corpus.length - 1 }),
      mutations: fc.array(mutation(corpus.length), { maxLength: 4 }),
      asText: fc.boolean(),
    }).map((c) => {
      const bytes = mutate(corpusBytes[c.file]!, c.mutations, corpusBytes);
      return c.asText ? asText(bytes) : bytes;
    });
    runProperty('rfc4475-mutant', 4, arbitrary, (input) => input, (input) => { checkContract(input); }, runsFor('corpus'));
  });

  test('mutated generated messages: only SipParseError, and what parses round-trips', () => {
    const arbitrary = fc.record({
      message: generatedMessage,
      mutations: fc.array(mutation(corpus.length), { minLength: 1, maxLength: 3 }),
      asText: fc.boolean(),
    }).map((c) => {
      const bytes = mutate(c.message.bytes, c.mutations, corpusBytes);
      return c.asText ? asText(bytes) : bytes;
    });
    runProperty('generated-mutant', 5, arbitrary, (input) => input, (input) => { checkContract(input); }, runsFor('generatedMutations'));
  });

  test('generated valid messages parse to what was generated, as bytes and as text, and round-trip', () => {
    runProperty('valid', 6, generatedMessage, (g) => g.bytes, checkGenerated, runsFor('valid'));
  });

  test('repetitive values parse or fail within the time budget, and never hang', async () => {
    const thread = new ParserThread();
    try {
      // No shrinking: every step of it could be another hang to wait out.
      const details = await fc.check(fc.asyncProperty(pathologicalCase, (input) => assertFinishes(thread, input)),
        { seed: SEED + 7, numRuns: runsFor('pathological'), endOnFailure: true, includeErrorInReport: true });
      if (details.failed) {
        let saved = '';
        if (FAILURE_DIR !== undefined && details.counterexample !== null) saved = `\ncounterexample saved to ${saveCounterexample('slow', details.counterexample[0])}`;
        assert.fail(`${fc.defaultReportMessage(details)}${saved}`);
      }
    } finally {
      await thread.stop();
    }
  });

  test('messages at the size, field-count and line-length limits that parse also round-trip', () => {
    runProperty('limits', 8, limitCase, buildLimitCase, (c) => { checkContract(buildLimitCase(c)); }, runsFor('limits'));
  });
});

describe('fuzz regressions (fixtures/fuzz)', () => {
  const files = existsSync(FIXTURE_DIR) ? readdirSync(FIXTURE_DIR).filter((f) => f.endsWith('.dat') || f.endsWith('.json')).sort() : [];
  // Some fixtures once made the parser hang: each is first parsed in the worker, and only then in this thread.
  const thread = new ParserThread();
  after(() => thread.stop());

  test('the fixture folder exists and is not empty', () => {
    assert.ok(files.length > 0, `no fixtures in ${FIXTURE_DIR}`);
  });

  for (const file of files) {
    test(file, async () => {
      const raw = readFileSync(join(FIXTURE_DIR, file));
      const input: unknown = file.endsWith('.json') ? JSON.parse(raw.toString('utf8')) : new Uint8Array(raw);
      assert.ok(typeof input === 'string' || input instanceof Uint8Array, 'a .json fixture holds one JSON string');
      await assertFinishes(thread, input);
      if (file.startsWith('reject-')) {
        const result = parseOrReject(input);
        if (!(result instanceof SipParseError)) fail(`${file} is not valid SIP and must be refused with a SipParseError`, input);
        return;
      }
      const message = checkContract(input);
      if (file.startsWith('accept-') && message === undefined) {
        fail(`${file} is valid SIP and must parse`, input, parseOrReject(input));
      }
    });
  }
});
