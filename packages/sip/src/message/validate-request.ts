/**
 * The checks a UAS (or proxy) makes on a request that parsed, before acting on it: RFC 3261 §8.2 (and §16.3 for
 * proxies) as RFC 4475 §3.3 exercises them. Returns the response to send instead of processing, or null.
 */
import { SINGLE_VALUE_HEADERS } from './header-names.js';
import type { SipRequest } from './sip-message.js';

export interface RequestVerdict {
  status: number;
  reason: string;
  /** Headers the response must carry (Unsupported for 420, Accept for 415, Allow for 405). */
  headers?: [name: string, value: string][];
}

export interface ValidateOptions {
  /** `uas` answers an OPTIONS with Max-Forwards 0; a `proxy` answers 483 (RFC 4475 §3.3.11). */
  role?: 'uas' | 'proxy';
  /** Methods this element handles; others get 405 if SIP defines them, 501 if not. */
  methods?: readonly string[];
  /** Request-URI schemes handled; others get 416. */
  schemes?: readonly string[];
  /** Option tags understood in Require (UAS) or Proxy-Require (proxy); others get 420. */
  extensions?: readonly string[];
  /** Body types understood; others get 415. */
  acceptedContentTypes?: readonly string[];
  /** Body types of particular methods, in place of `acceptedContentTypes` (a NOTIFY of a REFER carries a sipfrag). */
  acceptedContentTypesOf?: Readonly<Record<string, readonly string[]>>;
  /** The body type a response to a session request would carry; if the request's Accept excludes it, 406. */
  answerContentType?: string;
}

const STANDARD_METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'INFO', 'UPDATE', 'PRACK', 'REFER', 'NOTIFY', 'SUBSCRIBE', 'MESSAGE', 'PUBLISH'];

const NO_OPTIONS: ValidateOptions = Object.freeze({});

const DEFAULTS: Required<ValidateOptions> = {
  role: 'uas',
  methods: STANDARD_METHODS,
  schemes: ['sip', 'sips'],
  extensions: ['outbound', 'path', 'gruu', 'replaces', 'timer', '100rel'],
  acceptedContentTypes: ['application/sdp'],
  acceptedContentTypesOf: {},
  answerContentType: 'application/sdp',
};

const MANDATORY = ['To', 'From', 'Call-ID', 'CSeq', 'Via'];

const MERGED = new WeakMap<ValidateOptions, Required<ValidateOptions>>();

function withDefaults(options: ValidateOptions): Required<ValidateOptions> {
  let merged = MERGED.get(options);
  if (merged === undefined) {
    merged = { ...DEFAULTS, ...options };
    MERGED.set(options, merged);
  }
  return merged;
}

export function validateRequest(request: SipRequest, options: ValidateOptions = NO_OPTIONS): RequestVerdict | null {
  // Runs on every request a UAS receives: the common case (options given once, nothing wrong) allocates nothing.
  const opts = options === NO_OPTIONS ? DEFAULTS : withDefaults(options);
  // §8.1.1: To, From, Call-ID, CSeq and Via are mandatory (Max-Forwards is not, for RFC 2543 peers: RFC 4475 §3.4.1).
  if (!MANDATORY.every((name) => request.has(name))) {
    return { status: 400, reason: `Missing Required Header: ${MANDATORY.filter((name) => !request.has(name)).join(', ')}` };
  }
  const repeated = repeatedSingleValueHeaders(request);
  if (repeated !== undefined) return { status: 400, reason: `Multiple Values In Single-Value Header: ${repeated.join(', ')}` };
  if (request.cseq!.method !== request.method) return { status: 400, reason: 'CSeq Method Does Not Match Request Method' };

  // §8.2.1: method inspection.
  if (!opts.methods.includes(request.method)) {
    if (STANDARD_METHODS.includes(request.method)) {
      return { status: 405, reason: 'Method Not Allowed', headers: [['Allow', opts.methods.join(', ')]] };
    }
    return { status: 501, reason: 'Not Implemented' };
  }

  // §8.2.2.1: Request-URI scheme. §16.3 item 3: Max-Forwards at a proxy.
  if (!opts.schemes.includes(request.uri.scheme)) return { status: 416, reason: 'Unsupported URI Scheme' };
  if (opts.role === 'proxy' && request.maxForwards === 0) return { status: 483, reason: 'Too Many Hops' };

  // §8.2.2.3: Require (not for ACK and CANCEL, whose tags the INVITE already settled). Proxies look at Proxy-Require.
  if (request.method !== 'ACK' && request.method !== 'CANCEL') {
    const required = request.parsedAll(opts.role === 'proxy' ? 'proxy-require' : 'require');
    const unsupported = required.filter((tag) => !opts.extensions.includes(tag.toLowerCase()));
    if (unsupported.length > 0) return { status: 420, reason: 'Bad Extension', headers: [['Unsupported', unsupported.join(', ')]] };
  }

  // §8.2.3: content processing.
  // An ACK's body is only judged when it says what it is (it may carry a late answer the INVITE settled).
  if (request.bodyLength > 0 && (request.method !== 'ACK' || request.has('Content-Type'))) {
    const type = request.contentType?.mediaType;
    const accepted = opts.acceptedContentTypesOf[request.method] ?? opts.acceptedContentTypes;
    if (type === undefined || !accepted.includes(type)) {
      return { status: 415, reason: 'Unsupported Media Type', headers: [['Accept', accepted.join(', ')]] };
    }
  }
  if ((request.method === 'INVITE' || request.method === 'UPDATE') && request.has('Accept')) {
    const accepted = request.getAll('Accept').map((value) => value.split(';')[0]!.trim().toLowerCase());
    const [type, subtype] = opts.answerContentType.split('/');
    const ok = accepted.some((range) => range === opts.answerContentType || range === '*/*' || range === `${type}/*`);
    if (!ok && subtype !== undefined) return { status: 406, reason: 'Not Acceptable' };
  }
  return null;
}

/** Names of single-value headers present more than once, in order of first appearance; undefined when none is. */
function repeatedSingleValueHeaders(request: SipRequest): string[] | undefined {
  if (!hasRepeatedSingleValueHeader(request.headers)) return undefined;
  const counts = new Map<string, number>();
  for (const field of request.headers) {
    if (SINGLE_VALUE_HEADERS.has(field.key)) counts.set(field.name, (counts.get(field.name) ?? 0) + 1);
  }
  return [...counts].filter(([, count]) => count > 1).map(([name]) => name);
}

function hasRepeatedSingleValueHeader(headers: readonly { readonly key: string }[]): boolean {
  for (let i = 1; i < headers.length; i++) {
    const key = headers[i]!.key;
    if (!SINGLE_VALUE_HEADERS.has(key)) continue;
    for (let j = 0; j < i; j++) if (headers[j]!.key === key) return true;
  }
  return false;
}
