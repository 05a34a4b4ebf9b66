/**
 * The parsers under test, each behind the same small interface. Each one is loaded only in the child process that
 * measures it, so one library's modules and JIT state never share a heap with another's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MIX } from '../fixtures/sip-mix.js';

const require = createRequire(import.meta.url);

export type ParserId = 'switchboard' | 'switchboard-bytes' | 'switchboard-forward' | 'switchboard-baseline' | 'sip' | 'sip-parse-only' | 'jssip' | 'sipjs';

/** What a parser made of one message, for the correctness check that runs before any timing. */
export interface Seen {
  method: string | undefined;
  status: number | undefined;
  callId: string | undefined;
  /** The parser's own serialization, when it has one. */
  serialized?: string;
  /** Problems the parser reported on its own (logger warnings, rejected headers). */
  complaints: string[];
}

export interface ParserUnderTest {
  readonly id: ParserId;
  readonly label: string;
  readonly packageName: string;
  readonly version: string;
  /** What one "message" costs for this parser, as printed in the table. */
  readonly work: string;
  readonly serializes: boolean;
  /**
   * The timed operation. Returns a number taken from the result so the work cannot be optimised away; it is also
   * what proves, after a run, that every call produced a message.
   */
  run(input: string): number;
  inspect(input: string): Seen;
  /** Compares a message with its own re-parsed serialization; returns what differs. */
  roundTrip?(input: string): string[];
}

/**
 * Serializers that build text by concatenation return a rope that V8 flattens only when something reads it, as a
 * socket write would. Reading one character flattens it here, so that cost is inside the timed work.
 */
function flat(text: string): number {
  return text.charCodeAt(text.length - 1);
}

function versionOf(packageName: string): string {
  // Walks up from the entry point: a package with an "exports" map does not export its package.json.
  let dir = dirname(require.resolve(packageName));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version: string };
      if (pkg.name === packageName) return pkg.version;
    }
    const up = dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
}

/**
 * The first four are the comparison; the last three are context: our datagram path, ours on a message changed before
 * it is written again, and `sip` the way it was measured before.
 */
export const PARSER_IDS: readonly ParserId[] = ['switchboard', 'sip', 'jssip', 'sipjs', 'switchboard-bytes', 'switchboard-forward', 'sip-parse-only'];

export async function loadParser(id: ParserId): Promise<ParserUnderTest> {
  switch (id) {
    case 'switchboard': return loadSwitchboard('text');
    case 'switchboard-baseline': return loadBaseline();
    case 'switchboard-bytes': return loadSwitchboard('bytes');
    case 'switchboard-forward': return loadSwitchboard('forward');
    case 'sip': return loadSipNpm(true);
    case 'sip-parse-only': return loadSipNpm(false);
    case 'jssip': return loadJsSip();
    case 'sipjs': return loadSipJs();
  }
}

/** Environment variable naming another checkout (built) whose parser the `switchboard-baseline` row measures. */
export const BASELINE_ENV = 'SIP_BENCH_BASELINE';

/** Our parser as built in another checkout (`--baseline DIR`): the same work, to compare two versions in one run. */
async function loadBaseline(): Promise<ParserUnderTest> {
  const dir = process.env[BASELINE_ENV];
  if (dir === undefined || dir === '') throw new Error(`switchboard-baseline needs ${BASELINE_ENV} (or --baseline): a checkout with packages/sip built`);
  const entry = resolve(dir, 'packages/sip/dist/index.js');
  if (!existsSync(entry)) throw new Error(`no built parser at ${entry}: run \`npx tsc -b packages/sip\` there`);
  const parser = await loadSwitchboard('text', pathToFileURL(entry).href);
  return { ...parser, id: 'switchboard-baseline', label: `@switchboard/sip, baseline (${dir})` };
}

/**
 * How our parser is driven: `text` parses the text and writes it again; `bytes` takes the datagram path (Uint8Array in
 * and out); `forward` changes the message as a proxy does before writing it (a Via pushed and Max-Forwards less one on
 * a request, the top Via popped from a response), so that lines copied from the received text are no longer one piece.
 */
type SwitchboardMode = 'text' | 'bytes' | 'forward';

const SWITCHBOARD_ROWS: Record<SwitchboardMode, { id: ParserId; label: string; work: string }> = {
  text: { id: 'switchboard', label: '@switchboard/sip (ours)', work: 'parseMessage(string) + toString(), flattened' },
  bytes: { id: 'switchboard-bytes', label: '@switchboard/sip, bytes', work: 'parseMessage(Uint8Array) + serialize()' },
  forward: {
    id: 'switchboard-forward',
    label: '@switchboard/sip, forwarded',
    work: 'parseMessage(string), Via pushed + Max-Forwards - 1 (requests) or top Via popped (responses), toString(), flattened',
  },
};

async function loadSwitchboard(mode: SwitchboardMode, from = '@switchboard/sip'): Promise<ParserUnderTest> {
  const { parseMessage, SipRequest } = (await import(from)) as typeof import('@switchboard/sip');
  type Parsed = ReturnType<typeof parseMessage>;
  const version = versionOf('@switchboard/sip');
  const bytes = mode === 'bytes';
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  // The bytes variant is the path a UDP datagram takes: Buffer in, Uint8Array out. Encoding the fixture is done
  // once, outside the timed loop, by caching per input string.
  const encoded = new Map<string, Uint8Array>();
  const asInput = (text: string): string | Uint8Array => {
    if (!bytes) return text;
    let data = encoded.get(text);
    if (data === undefined) encoded.set(text, (data = encoder.encode(text)));
    return data;
  };
  const forwarded = (m: Parsed): Parsed => {
    if (m instanceof SipRequest) {
      m.prepend('Via', 'SIP/2.0/UDP 10.20.0.5:5060;branch=z9hG4bK-fw1');
      const maxForwards = m.maxForwards;
      if (maxForwards !== undefined) m.set('Max-Forwards', maxForwards - 1);
    } else m.removeFirst('Via');
    return m;
  };
  const parse = (input: string): Parsed => (mode === 'forward' ? forwarded(parseMessage(input)) : parseMessage(asInput(input)));
  const describe = (m: Parsed, serialized: string | undefined): Seen => ({
    method: m instanceof SipRequest ? m.method : undefined,
    status: m instanceof SipRequest ? undefined : m.status,
    callId: m.callId,
    serialized,
    complaints: [],
  });
  const text = (m: Parsed): string => (bytes ? decoder.decode(m.serialize()) : m.toString());
  return {
    ...SWITCHBOARD_ROWS[mode],
    packageName: '@switchboard/sip',
    version,
    serializes: true,
    run: mode === 'bytes'
      ? (input) => parseMessage(asInput(input)).serialize().length
      : mode === 'forward'
        ? (input) => flat(forwarded(parseMessage(input)).toString())
        : (input) => flat(parseMessage(input).toString()),
    inspect(input) {
      const m = parse(input);
      const seen = describe(m, text(m));
      if (mode === 'forward') {
        // The change must be there to be paid for: one Via more on a request, one fewer on a response.
        const vias = parseMessage(input).vias.length + (m instanceof SipRequest ? 1 : -1);
        if (parseMessage(seen.serialized!).vias.length !== vias) seen.complaints.push(`forwarded with ${m.vias.length} Vias, expected ${vias}`);
      }
      return seen;
    },
    roundTrip(input) {
      const first = parse(input);
      const again = parseMessage(text(first));
      const diffs: string[] = [];
      if (first.startLine() !== again.startLine()) diffs.push('start line');
      const a = first.headers.map((f) => `${f.key}: ${f.value}`);
      const b = again.headers.map((f) => `${f.key}: ${f.value}`);
      if (a.join('\n') !== b.join('\n')) diffs.push('headers');
      if (first.bodyText !== again.bodyText) diffs.push('body');
      return diffs;
    },
  };
}

interface SipNpmMessage {
  method?: string;
  status?: number;
  headers: Record<string, unknown>;
  content?: string;
}

function loadSipNpm(stringify: boolean): ParserUnderTest {
  const sip = require('sip') as { parse(s: string): SipNpmMessage | undefined; stringify(m: SipNpmMessage): string };
  const parse = (input: string): SipNpmMessage => {
    const m = sip.parse(input);
    if (m === undefined) throw new Error('sip.parse returned undefined');
    return m;
  };
  return {
    id: stringify ? 'sip' : 'sip-parse-only',
    label: stringify ? 'sip' : 'sip, parse only',
    packageName: 'sip',
    version: versionOf('sip'),
    work: stringify ? 'parse() + stringify(), flattened' : 'parse() only',
    serializes: true,
    run: stringify
      ? (input) => flat(sip.stringify(sip.parse(input)!))
      : (input) => (sip.parse(input)!.headers['call-id'] as string).length,
    inspect(input) {
      const m = parse(input);
      const seen: Seen = {
        method: m.method,
        status: m.status,
        callId: typeof m.headers['call-id'] === 'string' ? m.headers['call-id'] : undefined,
        complaints: [],
      };
      seen.serialized = sip.stringify(parse(input));
      return seen;
    },
    roundTrip(input) {
      const first = parse(input);
      const again = parse(sip.stringify(parse(input)));
      const diffs: string[] = [];
      if (first.method !== again.method || first.status !== again.status) diffs.push('start line');
      if (JSON.stringify(first.headers) !== JSON.stringify(again.headers)) diffs.push('headers');
      if (first.content !== again.content) diffs.push('body');
      return diffs;
    },
  };
}

interface JsSipMessage {
  method: string | null;
  /** Only on responses (IncomingResponse). */
  status_code?: number | null;
  call_id: string | null;
  toString(): string;
}

function loadJsSip(): ParserUnderTest {
  const Parser = require('jssip/lib/Parser.js') as { parseMessage(data: string, ua: unknown): JsSipMessage | undefined };
  // Parsing only stores the UA on incoming requests (for replying later); it never reads it.
  const ua = Object.freeze({ configuration: Object.freeze({}) });
  return {
    id: 'jssip',
    label: 'JsSIP',
    packageName: 'jssip',
    version: versionOf('jssip'),
    // IncomingMessage.toString() returns the received text unchanged: there is no serializer to time.
    work: 'Parser.parseMessage() only',
    serializes: false,
    run: (input) => Parser.parseMessage(input, ua)!.call_id!.length,
    inspect(input) {
      const m = Parser.parseMessage(input, ua);
      if (m === undefined) return { method: undefined, status: undefined, callId: undefined, complaints: ['parseMessage returned undefined'] };
      const response = m.status_code !== undefined;
      return {
        method: response ? undefined : m.method ?? undefined,
        status: response ? m.status_code ?? undefined : undefined,
        callId: m.call_id ?? undefined,
        complaints: [],
      };
    },
  };
}

interface SipJsMessage {
  method: string;
  statusCode?: number;
  callId: string;
}

async function loadSipJs(): Promise<ParserUnderTest> {
  const { Parser } = (await import('sip.js/lib/core/messages/parser.js')) as unknown as {
    Parser: { parseMessage(data: string, logger: unknown): SipJsMessage | undefined };
  };
  const { IncomingResponseMessage } = (await import('sip.js/lib/core/messages/incoming-response-message.js')) as unknown as {
    IncomingResponseMessage: new () => unknown;
  };
  const complaints: string[] = [];
  const note = (level: string) => (...args: unknown[]): void => { complaints.push(`${level}: ${args.map(String).join(' ')}`); };
  const logger = { error: note('error'), warn: note('warn'), log: () => {}, debug: () => {} };
  return {
    id: 'sipjs',
    label: 'SIP.js',
    packageName: 'sip.js',
    version: versionOf('sip.js'),
    // Incoming messages' toString() returns the received text unchanged: there is no serializer to time.
    work: 'Parser.parseMessage() only',
    serializes: false,
    run: (input) => Parser.parseMessage(input, logger)!.callId.length,
    inspect(input) {
      complaints.length = 0;
      const m = Parser.parseMessage(input, logger);
      const own = complaints.splice(0);
      if (m === undefined) return { method: undefined, status: undefined, callId: undefined, complaints: ['parseMessage returned undefined', ...own] };
      const response = m instanceof IncomingResponseMessage;
      return { method: response ? undefined : m.method, status: response ? m.statusCode : undefined, callId: m.callId, complaints: own };
    },
  };
}

/**
 * What is wrong with a parser's reading of the mix (empty when nothing): method or status, Call-ID, complaints,
 * and for those that serialize, whether the serialized text parses back to the same message. Run before any figure.
 */
export function checkParser(parser: ParserUnderTest): string[] {
  const problems: string[] = [];
  for (const expected of MIX) {
    let seen;
    try {
      seen = parser.inspect(expected.text);
    } catch (error) {
      problems.push(`${expected.name}: threw ${String(error)}`);
      continue;
    }
    const where = `${expected.name}:`;
    if (seen.method !== expected.method) problems.push(`${where} method ${String(seen.method)}, expected ${String(expected.method)}`);
    if (seen.status !== expected.status) problems.push(`${where} status ${String(seen.status)}, expected ${String(expected.status)}`);
    if (seen.callId !== expected.callId) problems.push(`${where} Call-ID ${JSON.stringify(seen.callId)}, expected ${expected.callId}`);
    for (const complaint of seen.complaints) problems.push(`${where} parser reported ${complaint}`);
    if (parser.serializes) {
      if (seen.serialized === undefined || !seen.serialized.includes(expected.callId)) problems.push(`${where} serialization lost the Call-ID`);
      const diffs = parser.roundTrip?.(expected.text) ?? [];
      if (diffs.length > 0) problems.push(`${where} re-parsed serialization differs in ${diffs.join(', ')}`);
    }
  }
  return problems;
}
