/**
 * SIP requests and responses (RFC 3261 §7).
 *
 * Every header is kept as a field with its canonical name, its text and, for the headers a stack relies on, a
 * structured value parsed when the message is parsed. Fields are made by the parser or by `makeFields` (through
 * `set`/`append`/`prepend`), which keep text and structure in step, so serializing is a concatenation of text that is
 * already there: lines built when their fields were, and runs of received lines copied from the received text.
 * Structured values are immutable: to change one, set a new one.
 */
import { SipError, SipParseError } from '../errors.js';
import { headerInfo, type HeaderInfo, type KnownHeaderName, type KnownHeaderValues } from './header-codecs.js';
import { headerKey } from './header-names.js';
import { hasControl, hasControlCharacter, isToken, splitList, trimLws, type ContactValue, type ContentType, type CSeq, type NameAddr, type Via } from './header-values.js';
import { reasonFor } from './status-reasons.js';
import { formatUri, NO_HEADERS, parseUri, type Uri } from './uri.js';
import { ParamList } from './param-list.js';

export interface HeaderField {
  /** Canonical spelling (`Call-ID`, `Via`; compact forms expanded). */
  readonly name: string;
  /** Lower-case canonical name, used for lookups. */
  readonly key: string;
  /** The value's text, unfolded and trimmed. */
  readonly value: string;
  /** Structured value for known headers; `undefined` for the rest. */
  readonly parsed: unknown;
  /**
   * The field as it is written on the wire, `Name: value` and its CRLF; `undefined` for a field written exactly as it
   * was received, whose line is then `source.slice(start, end)`. Lines that follow each other in what was received
   * are written in one piece, copied from it.
   */
  readonly line: string | undefined;
  /** The received text holding the line of a field written as received; `undefined` otherwise. */
  readonly source: ReceivedText | undefined;
  /** Where that line starts in `source`; -1 when there is none. */
  readonly start: number;
  /** Where it ends, after its CRLF; -1 when there is none. */
  readonly end: number;
}

/**
 * The text a message was parsed from, shared by the message and its fields so that lines received as they would be
 * written can be copied from it. In a private field so that JSON and `util.inspect` leave it out: a field shown in a
 * log or a dump shows its own value, not the whole message it came in (credentials included) once per field.
 */
export class ReceivedText {
  readonly #text: string;

  constructor(text: string) {
    this.#text = text;
  }

  slice(start: number, end: number): string {
    return this.#text.slice(start, end);
  }

  /** Whether an empty line (a CRLF alone) starts at `at`: the one that ends the head, when `at` starts a line. */
  emptyLineAt(at: number): boolean {
    return this.#text.charCodeAt(at) === 13 && this.#text.charCodeAt(at + 1) === 10;
  }

  toJSON(): string {
    return `[${this.#text.length} characters received]`;
  }
}

type HeaderInput<K extends string> = K extends KnownHeaderName ? KnownHeaderValues[K] | string : string | number;

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();
// The body is bytes: a leading BOM is part of it and must survive a round trip.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** A field written from its name and value, not copied from a received text. */
export function builtField(name: string, key: string, value: string, parsed: unknown): HeaderField {
  return { name, key, value, parsed, line: name + ': ' + value + '\r\n', source: undefined, start: -1, end: -1 };
}

/**
 * Builds the fields of one header occurrence. What the stack writes must read back as the same fields, so a field is
 * held to the parser's rules: the name a token; text free of control characters (a CR or LF in a value would end the
 * line there and start a header of the caller's making) and valid for a header the stack knows; a structured value
 * written out and read back, the value read back kept. Text that is not valid throws `SipParseError`; anything else
 * not fit to be written, `SipError` with code `invalid-argument`.
 */
export function makeFields(name: string, value: unknown): HeaderField[] {
  return checkedFields(name, [value]).fields;
}

/** The fields of `values` for the header `name`, every one checked (see `makeFields`) before any is returned. */
function checkedFields(name: string, values: readonly unknown[]): { key: string; fields: HeaderField[] } {
  const info = headerInfo(name);
  if (!info.known && !isToken(name)) throw new SipError('invalid-argument', `invalid header name ${JSON.stringify(name.slice(0, 80))}: a header name is a token`);
  const fields: HeaderField[] = [];
  for (const value of values) addFields(fields, info, value);
  return { key: info.key, fields };
}

/** Appends to `out` the fields of one occurrence of the header `info` describes (see `makeFields`). */
function addFields(out: HeaderField[], info: HeaderInfo, value: unknown): void {
  const { name, key, codec } = info;
  if (typeof value === 'string') {
    const text = fieldText(info, value);
    if (text === undefined) return;
    if (!info.list) {
      out.push(builtField(name, key, text, codec === undefined ? undefined : codec.parse(text)));
      return;
    }
    for (const element of splitList(text)) out.push(builtField(name, key, element, codec === undefined ? undefined : codec.parse(element)));
    return;
  }
  if (codec === undefined) {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new SipError('invalid-argument', `${name}: a header the stack has no structure for takes text or a finite number`);
    }
    out.push(builtField(name, key, String(value), undefined));
    return;
  }
  let text: string | undefined;
  let parsed: unknown;
  try {
    text = fieldText(info, codec.format(value as never));
    if (text === undefined) return;
    parsed = codec.parse(text);
  } catch (error) {
    // The text is not quoted: it may hold credentials (an Authorization built from its parameters).
    throw new SipError('invalid-argument', `${name}: the value given does not make a valid header field`, { cause: error });
  }
  out.push(builtField(name, key, text, parsed));
}

/**
 * `text` as the value of a field of the header `info` describes, held to the parser's rules: no lone surrogate, no
 * control character (unless the value's own parser refuses them), trimmed of the white space the parser drops.
 * `undefined` for an empty list (`Supported` with no option), which the parser reads as no field at all; throws
 * `SipParseError` otherwise.
 */
function fieldText(info: HeaderInfo, text: string): string | undefined {
  if (!isWellFormed(text)) throw new SipParseError(`${info.name}: text with a lone UTF-16 surrogate, which has no UTF-8 form`);
  if (!info.selfValidating && hasControl(text)) throw new SipParseError(`control character in header ${info.name}`);
  const trimmed = trimLws(text);
  if (trimmed.length === 0 && (info.list || info.tokenList)) {
    if (!info.emptyAllowed) throw new SipParseError(`empty ${info.name} header`);
    return undefined;
  }
  return trimmed;
}

/** Whether `text` has a UTF-8 form: no lone surrogate, which would be written as U+FFFD, another text. */
function isWellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** Inserts `fields` into `headers` at `at`; one field, the usual case, without spreading an array. */
function insertFields(headers: HeaderField[], at: number, fields: HeaderField[]): void {
  if (fields.length === 1) headers.splice(at, 0, fields[0]!);
  else headers.splice(at, 0, ...fields);
}

/**
 * Passed by the parser to the constructors of the messages it reads: their start line has been checked already.
 * Not exported from the package, so a message built anywhere else is always checked.
 */
export const PARSED_START_LINE: unique symbol = Symbol('parsed start line');

/**
 * `uri` as a Request-URI: a SIP URI without the header fields and `method` parameter a Request-URI may not carry
 * (RFC 3261 §19.1.1), which a target taken from a Contact or a Route may have.
 */
function requestUriOf(uri: Uri): Uri {
  if (uri.type !== 'sip' || (uri.headers.size === 0 && !uri.params.has('method'))) return uri;
  const params: (string | null)[] = [];
  for (const [name, value] of uri.params) if (name !== 'method') params.push(name, value);
  return { ...uri, params: new ParamList(params), headers: NO_HEADERS };
}

/** The Request-URI written as `text`, checked as the parser would check it on receipt: the URI it reads back as. */
function readRequestUri(text: string): Uri {
  let uri: Uri;
  try {
    if (!isWellFormed(text)) throw new SipParseError('text with a lone UTF-16 surrogate');
    uri = parseUri(text);
  } catch (error) {
    throw new SipError('invalid-argument', `invalid Request-URI ${JSON.stringify(text.slice(0, 200))}`, { cause: error });
  }
  if (uri.type === 'sip' && uri.headers.size > 0) throw new SipError('invalid-argument', 'a Request-URI must not contain headers (RFC 3261 §19.1.1)');
  return uri;
}

export abstract class SipMessage {
  headers: HeaderField[] = [];
  // The body is held as bytes, as text, or both: a message parsed from text keeps its body as text until someone
  // asks for bytes, so parsing and re-serializing text never round-trips through an encoder.
  private bodyBytes: Uint8Array | undefined = EMPTY;
  private bodyString: string | undefined = '';
  private bodyByteLength = 0;
  /**
   * The text received, whose first `receivedStartEnd` characters are the start line and its CRLF, kept by the parser
   * when that is exactly how `startLine()` writes it, so that writing the message again copies it (with the received
   * lines that follow) instead of building it; dropped when the line changes (a new URI).
   */
  protected receivedSource: ReceivedText | undefined = undefined;
  protected receivedStartEnd = 0;

  /** For the parser: `source` starts with this message's start line and CRLF, `end` characters, as `startLine()` writes it. */
  keepReceivedStartLine(source: ReceivedText, end: number): void {
    this.receivedSource = source;
    this.receivedStartEnd = end;
  }

  get body(): Uint8Array {
    return (this.bodyBytes ??= encoder.encode(this.bodyString!));
  }

  set body(bytes: Uint8Array) {
    this.bodyBytes = bytes;
    this.bodyString = undefined;
    this.bodyByteLength = bytes.length;
  }

  /** Sets a body given as text whose UTF-8 length is already known. */
  setBodyText(text: string, byteLength: number): void {
    this.bodyString = text;
    this.bodyBytes = undefined;
    this.bodyByteLength = byteLength;
  }

  get bodyLength(): number {
    return this.bodyByteLength;
  }

  abstract startLine(): string;

  /** Text of the first field with this name. */
  get(name: string): string | undefined {
    const key = headerKey(name);
    for (const field of this.headers) if (field.key === key) return field.value;
    return undefined;
  }

  getAll(name: string): string[] {
    const key = headerKey(name);
    const out: string[] = [];
    for (const field of this.headers) if (field.key === key) out.push(field.value);
    return out;
  }

  has(name: string): boolean {
    const key = headerKey(name);
    return this.headers.some((field) => field.key === key);
  }

  /** Structured value of the first field with this name (for token lists such as Supported, the first token). */
  parsed<K extends KnownHeaderName>(name: K): KnownHeaderValues[K] | undefined {
    for (const field of this.headers) {
      if (field.key === name) return (Array.isArray(field.parsed) ? field.parsed[0] : field.parsed) as KnownHeaderValues[K];
    }
    return undefined;
  }

  /** Structured values of every field with this name, token lists flattened into their tokens. */
  parsedAll<K extends KnownHeaderName>(name: K): KnownHeaderValues[K][] {
    const out: KnownHeaderValues[K][] = [];
    for (const field of this.headers) {
      if (field.key !== name) continue;
      if (Array.isArray(field.parsed)) out.push(...(field.parsed as KnownHeaderValues[K][]));
      else out.push(field.parsed as KnownHeaderValues[K]);
    }
    return out;
  }

  /**
   * Replaces every field of this name, in the place of the first one (or at the end). Every value is checked before
   * anything changes (see `makeFields`): a value that throws leaves the message as it was.
   */
  set<K extends string>(name: K, ...values: HeaderInput<Lowercase<K>>[]): this {
    const { key, fields } = checkedFields(name, values);
    // The other fields of this name are dropped in place, the first one's position kept for the new ones.
    const headers = this.headers;
    let at = -1;
    let kept = 0;
    for (let i = 0; i < headers.length; i++) {
      const field = headers[i]!;
      if (field.key !== key) headers[kept++] = field;
      else if (at === -1) at = kept;
    }
    headers.length = kept;
    insertFields(headers, at === -1 ? kept : at, fields);
    return this;
  }

  append<K extends string>(name: K, ...values: HeaderInput<Lowercase<K>>[]): this {
    for (const field of checkedFields(name, values).fields) this.headers.push(field);
    return this;
  }

  /** Inserts before the first field of this name (or at the top): how a Via or a Route is pushed. */
  prepend<K extends string>(name: K, ...values: HeaderInput<Lowercase<K>>[]): this {
    const { key, fields } = checkedFields(name, values);
    const at = this.headers.findIndex((field) => field.key === key);
    insertFields(this.headers, at === -1 ? 0 : at, fields);
    return this;
  }

  /** Removes every field of this name; returns how many. */
  remove(name: string): number {
    const key = headerKey(name);
    const before = this.headers.length;
    this.headers = this.headers.filter((field) => field.key !== key);
    return before - this.headers.length;
  }

  /** Removes the first field of this name (the top Via, the first Route). */
  removeFirst(name: string): boolean {
    const key = headerKey(name);
    const at = this.headers.findIndex((field) => field.key === key);
    if (at === -1) return false;
    this.headers.splice(at, 1);
    return true;
  }

  get via(): Via | undefined { return this.parsed('via'); }
  get vias(): Via[] { return this.parsedAll('via'); }
  get from(): NameAddr | undefined { return this.parsed('from'); }
  get to(): NameAddr | undefined { return this.parsed('to'); }
  get callId(): string | undefined { return this.parsed('call-id'); }
  get cseq(): CSeq | undefined { return this.parsed('cseq'); }
  get contacts(): ContactValue[] { return this.parsedAll('contact'); }
  get maxForwards(): number | undefined { return this.parsed('max-forwards'); }
  get contentType(): ContentType | undefined { return this.parsed('content-type'); }
  get fromTag(): string | undefined { return this.from?.params.get('tag') ?? undefined; }
  get toTag(): string | undefined { return this.to?.params.get('tag') ?? undefined; }

  get bodyText(): string {
    return (this.bodyString ??= decoder.decode(this.bodyBytes!));
  }

  /** Sets the body; with a content type, sets Content-Type too (or removes it for an empty body). */
  setBody(body: Uint8Array | string, contentType?: string): this {
    const bytes = typeof body === 'string' ? encoder.encode(body) : body;
    // The type first: a type that throws leaves the body as it was too.
    if (contentType !== undefined) {
      if (bytes.length === 0) this.remove('Content-Type');
      else this.set('Content-Type', contentType);
    }
    this.body = bytes;
    return this;
  }

  /** Start line and headers up to and including the blank line; Content-Length always states the body's length. */
  head(): string {
    // A run of lines that follow each other in one received text, `source` from `runStart` to `runEnd` (-1: none),
    // is written as one slice of it.
    let source = this.receivedSource;
    let runStart = 0;
    let runEnd = -1;
    let out = '';
    if (source === undefined) out = this.startLine() + '\r\n';
    else runEnd = this.receivedStartEnd;
    let wroteLength = false;
    const length = this.bodyByteLength;
    for (const field of this.headers) {
      let line = field.line;
      if (field.key === 'content-length') {
        if (wroteLength) continue;
        wroteLength = true;
        // Its value is digits only (parsed or formatted from a number): it states the length when its number is the
        // length and it has no leading zero. Compared as numbers, so the length is not converted to text.
        const value = field.value;
        if (field.parsed !== length || (value.length > 1 && value.charCodeAt(0) === 48)) line = 'Content-Length: ' + length + '\r\n';
      }
      if (line === undefined) {
        const from = field.source;
        if (from === source && field.start === runEnd && runEnd !== -1) {
          runEnd = field.end;
          continue;
        }
        if (from instanceof ReceivedText) {
          if (runEnd !== -1) out += source!.slice(runStart, runEnd);
          source = from;
          runStart = field.start;
          runEnd = field.end;
          continue;
        }
        // Written as received, but without the text it came in (a copy made through JSON or structuredClone, a field
        // made by hand): its line was its name and value.
        line = field.name + ': ' + field.value + '\r\n';
      }
      if (runEnd !== -1) {
        out += source!.slice(runStart, runEnd);
        runEnd = -1;
      }
      out += line;
    }
    if (runEnd !== -1) {
      // The empty line that ends the head, when it follows the run in the received text as well.
      if (wroteLength && source!.emptyLineAt(runEnd)) return out + source!.slice(runStart, runEnd + 2);
      out += source!.slice(runStart, runEnd);
    }
    if (!wroteLength) out += 'Content-Length: ' + length + '\r\n';
    return out + '\r\n';
  }

  /** The message as it goes on the wire. Binary-safe. */
  serialize(): Uint8Array {
    const head = encoder.encode(this.head());
    if (this.bodyByteLength === 0) return head;
    const body = this.body;
    const out = new Uint8Array(head.length + body.length);
    out.set(head, 0);
    out.set(body, head.length);
    return out;
  }

  /** The message as text (body decoded as UTF-8: use `serialize()` for binary bodies). */
  toString(): string {
    return this.bodyByteLength === 0 ? this.head() : this.head() + this.bodyText;
  }

  protected copyInto<T extends SipMessage>(target: T): T {
    target.headers = this.headers.slice();
    target.bodyBytes = this.bodyBytes;
    target.bodyString = this.bodyString;
    target.bodyByteLength = this.bodyByteLength;
    target.receivedSource = this.receivedSource;
    target.receivedStartEnd = this.receivedStartEnd;
    return target;
  }
}

export class SipRequest extends SipMessage {
  readonly method: string;
  private uriValue: Uri;
  private uriTextValue: string | undefined;

  /**
   * `uriText` is the Request-URI as written, when it must be kept so (a CANCEL or ACK repeats its INVITE's); without
   * it, the Request-URI is `uri` less any header fields and `method` parameter (RFC 3261 §19.1.1), and `uri` becomes
   * what that text reads back as. Throws `SipError` (`invalid-argument`) when the method is not a token or the
   * Request-URI is not one a request may carry. (`parsed`: for the parser only.)
   */
  constructor(method: string, uri: Uri, uriText?: string, parsed?: symbol) {
    super();
    if (parsed !== PARSED_START_LINE) {
      if (!isToken(method)) throw new SipError('invalid-argument', `invalid method ${JSON.stringify(method.slice(0, 40))}: a method is a token`);
      uriText ??= formatUri(requestUriOf(uri));
      uri = readRequestUri(uriText);
    }
    this.method = method;
    this.uriValue = uri;
    this.uriTextValue = uriText;
  }

  get uri(): Uri { return this.uriValue; }
  /** Less any header fields and `method` parameter, as in the constructor; read back as written. */
  set uri(uri: Uri) {
    const text = formatUri(requestUriOf(uri));
    this.uriValue = readRequestUri(text);
    this.uriTextValue = text;
    this.receivedSource = undefined;
  }

  /** The Request-URI as written (or as formatted, once set): ACK and CANCEL must repeat it exactly (§9.1, §17.1.1.3). */
  get uriText(): string {
    return (this.uriTextValue ??= formatUri(this.uriValue));
  }

  startLine(): string {
    return `${this.method} ${this.uriText} SIP/2.0`;
  }

  /** A new request of another method with this one's Request-URI, text and all; no headers. */
  withMethod(method: string): SipRequest {
    return new SipRequest(method, this.uriValue, this.uriText);
  }

  clone(): SipRequest {
    return this.copyInto(new SipRequest(this.method, this.uriValue, this.uriTextValue));
  }

  /**
   * A response to this request as RFC 3261 §8.2.6.2 builds it: Via, From, To, Call-ID, CSeq copied, and a To tag
   * added when given and the To has none. Record-Route is copied into 1xx/2xx (§12.1.1).
   */
  createResponse(status: number, reason: string = reasonFor(status), options: { toTag?: string } = {}): SipResponse {
    const response = new SipResponse(status, reason);
    for (const field of this.headers) {
      switch (field.key) {
        case 'via': case 'from': case 'call-id': case 'cseq':
          response.headers.push(field);
          break;
        case 'to': {
          const to = field.parsed as NameAddr;
          // The To as received with the tag added: nothing of it is written anew, so nothing of it can fail to be.
          if (options.toTag !== undefined && status !== 100 && !to.params.has('tag')) response.headers.push(...makeFields('To', `${field.value};tag=${options.toTag}`));
          else response.headers.push(field);
          break;
        }
        case 'record-route':
          if (status < 300 && status !== 100) response.headers.push(field);
          break;
        case 'timestamp':
          if (status === 100) response.headers.push(field);
          break;
      }
    }
    return response;
  }
}

export class SipResponse extends SipMessage {
  readonly status: number;
  readonly reason: string;

  /**
   * Throws `SipError` (`invalid-argument`) when the status is not an integer from 100 to 699 or the reason holds a
   * control character other than HTAB. (`parsed`: for the parser only.)
   */
  constructor(status: number, reason: string = reasonFor(status), parsed?: symbol) {
    super();
    if (parsed !== PARSED_START_LINE) {
      if (!Number.isInteger(status) || status < 100 || status > 699) {
        throw new SipError('invalid-argument', `status must be an integer from 100 to 699, not ${status}`);
      }
      if (hasControlCharacter(reason) || !isWellFormed(reason)) throw new SipError('invalid-argument', `control character or lone surrogate in the reason phrase ${JSON.stringify(reason.slice(0, 80))}`);
    }
    this.status = status;
    this.reason = reason;
  }

  startLine(): string {
    return `SIP/2.0 ${this.status} ${this.reason}`;
  }

  clone(): SipResponse {
    return this.copyInto(new SipResponse(this.status, this.reason));
  }
}

export function isRequest(message: SipMessage): message is SipRequest {
  return message instanceof SipRequest;
}

export function isResponse(message: SipMessage): message is SipResponse {
  return message instanceof SipResponse;
}
