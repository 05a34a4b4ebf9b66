/**
 * The UAS / proxy side of SIP digest authentication (RFC 3261 §22.1, §22.4, RFC 7616, RFC 8760): challenges,
 * and verification of the credentials that answer them.
 *
 * Nonces carry their own issue time, a random part and an HMAC over both under the server's secret, so a nonce
 * this server did not issue, or one that has expired, is recognised with no per-nonce storage. The only state is
 * the highest nc seen per nonce, kept for replay protection in a bounded map.
 */
import { cryptoRandom, systemClock, type Clock, type Random } from '../clock.js';
import { SipError } from '../errors.js';
import type { AuthValue } from '../message/header-values.js';
import type { SipRequest } from '../message/sip-message.js';
import { parseUri, uriEquals } from '../message/uri.js';
import {
  bytesToHex, constantTimeEqual, DIGEST_ALGORITHMS, digestHa1, digestHashOf, digestHexLength, digestResponse,
  hexToBytes, isSessionAlgorithm, parseDigestAlgorithm, requestUriText,
  type DigestAlgorithm, type DigestHasher, type DigestHashName, type DigestQop,
} from './digest-hash.js';

/** What `lookup` knows of a user: the password, or H(username:realm:password) for the hash asked for. */
export type DigestUserSecret = string | { readonly ha1: string };

/**
 * Finds a user's secret. `hash` says which HA1 is needed when only hashes are stored (one per hash function:
 * an MD5 HA1 cannot answer a SHA-256 challenge). `undefined`: no such user.
 */
export type DigestLookup = (
  username: string,
  realm: string,
  hash: DigestHashName,
) => DigestUserSecret | undefined | Promise<DigestUserSecret | undefined>;

export interface DigestServerOptions {
  realm: string;
  /** Offered in this order, one challenge each. Default ['SHA-256', 'MD5']: RFC 8760 §2.3 has the most preferred first. */
  algorithms?: readonly DigestAlgorithm[];
  /** qop values offered; default ['auth']. Empty: RFC 2069 challenges without qop (no `-sess` algorithms then). */
  qop?: readonly DigestQop[];
  /** How long a nonce is accepted; after that it is answered with stale=true. Default 300 000 (5 min). */
  nonceTtlMs?: number;
  /** HMAC key for nonces, at least 16 bytes. Keep it across restarts, or clients' cached nonces turn stale. */
  secret: Uint8Array;
  clock?: Clock;
  random?: Random;
  hasher: DigestHasher;
  lookup: DigestLookup;
  /** Nonces whose nc is remembered; beyond it (by up to an eighth) the least recently used are forgotten. Default 10 000. */
  maxNonceEntries?: number;
  /**
   * Whether the credentials' `uri` must match the Request-URI (RFC 7616 §3.4.6). Turn off only behind an
   * element that rewrites the Request-URI before it reaches this one.
   */
  checkUri?: boolean;
}

export type DigestFailureReason =
  /** No Authorization / Proxy-Authorization header. */
  | 'missing'
  /** Only schemes other than Digest. */
  | 'unknown-scheme'
  /** Digest credentials lacking a parameter, with one oversized, or naming an algorithm or qop not offered. */
  | 'malformed'
  /** Digest credentials, but none for this realm. */
  | 'realm-mismatch'
  | 'uri-mismatch'
  /** Right credentials, expired nonce: challenge again with stale=true. */
  | 'stale'
  /** Right credentials (so stale=true) for a nonce this server did not issue, or issued under another secret. */
  | 'bad-nonce'
  /** An nc not above the highest seen for the nonce, or a second use of a nonce used without qop. */
  | 'replay'
  | 'unknown-user'
  | 'wrong-credentials';

export type DigestVerifyResult =
  | { readonly ok: true; readonly username: string; readonly algorithm: DigestAlgorithm; readonly qop: DigestQop | undefined }
  | {
      readonly ok: false;
      readonly reason: DigestFailureReason;
      /** Whether the next challenge should carry stale=true (the client knows the password; only the nonce failed). */
      readonly stale: boolean;
      /** The username claimed, when there was one (for logs and rate limiting; not authenticated). */
      readonly username: string | undefined;
    };

export interface DigestVerifyOptions {
  /** Which header carries the credentials: 'authorization' for a UAS / registrar (401), 'proxy-authorization' for a proxy (407). */
  header?: 'authorization' | 'proxy-authorization';
  /**
   * The request is served statelessly (§8.2.7), so its retransmissions reach `verify` again: a byte-for-byte copy
   * of the request that last used the nonce (same nc) is accepted once more instead of refused as a replay. Any
   * change to the request is still a replay. Only for a TU that answers a repeat without acting twice.
   */
  repeatable?: boolean;
}

interface Seen {
  /** Highest nc accepted; Infinity once used without qop. */
  nc: number;
  issuedAt: number;
  /** Hash of the request that used that nc, when it was `repeatable`. */
  fingerprint: string | undefined;
}

// Nonce layout: issue time (8 bytes, ms, big-endian) | random (12) | HMAC-SHA-256 truncated (16), hex-encoded.
const TIME_BYTES = 8;
const RANDOM_BYTES = 12;
const MAC_BYTES = 16;
const NONCE_BYTES = TIME_BYTES + RANDOM_BYTES + MAC_BYTES;
const NONCE_DOMAIN = 'switchboard-sip-digest-nonce-v1\n';
const PRUNE_INTERVAL_MS = 1000;

// Bounds on what one request may make us parse, hold or compute.
const MAX_CREDENTIAL_VALUES = 16;
const MAX_USERNAME = 256;
const MAX_URI = 4096;
const MAX_CNONCE = 256;

const encoder = new TextEncoder();
const NONCE_DOMAIN_BYTES = encoder.encode(NONCE_DOMAIN);

export class DigestServer {
  readonly realm: string;
  readonly algorithms: readonly DigestAlgorithm[];
  readonly qop: readonly DigestQop[];
  private readonly nonceTtlMs: number;
  private readonly secret: Uint8Array;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly hasher: DigestHasher;
  private readonly lookup: DigestLookup;
  private readonly maxNonceEntries: number;
  private readonly checkUri: boolean;
  /** NONCE_DOMAIN | nonce body | realm: what the nonce MAC covers (the body is written in place for each one). */
  private readonly macInput: Uint8Array;
  /** Insertion order is recency of use: the first entry is the next to forget. */
  private readonly seen = new Map<string, Seen>();
  /**
   * The latest issue time among forgotten nonces. A nonce issued no later than this and absent from `seen` may
   * have been forgotten with its nc, so it is refused as stale rather than trusted afresh; that keeps the bound
   * from opening a replay window.
   */
  private forgottenUpTo = -Infinity;
  private nextPrune = -Infinity;

  constructor(options: DigestServerOptions) {
    if (options.realm.length === 0 || options.realm.length > 1024) throw new SipError('invalid-argument', 'realm must be 1 to 1024 characters');
    const algorithms = options.algorithms ?? ['SHA-256', 'MD5'];
    const qop = options.qop ?? ['auth'];
    if (algorithms.length === 0) throw new SipError('invalid-argument', 'a digest server needs at least one algorithm');
    if (new Set(algorithms).size !== algorithms.length) throw new SipError('invalid-argument', 'digest algorithms listed twice');
    for (const algorithm of algorithms) {
      if (!DIGEST_ALGORITHMS.includes(algorithm)) throw new SipError('invalid-argument', `unknown digest algorithm ${String(algorithm)}`);
      if (isSessionAlgorithm(algorithm) && qop.length === 0) throw new SipError('invalid-argument', `${algorithm} needs a qop`);
    }
    for (const option of qop) {
      if (option !== 'auth' && option !== 'auth-int') throw new SipError('invalid-argument', `unknown qop ${String(option)}`);
    }
    if (options.secret.length < 16) throw new SipError('invalid-argument', 'the nonce secret must be at least 16 bytes');
    const ttl = options.nonceTtlMs ?? 300_000;
    if (!(ttl > 0)) throw new SipError('invalid-argument', 'nonceTtlMs must be positive');
    const maxEntries = options.maxNonceEntries ?? 10_000;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new SipError('invalid-argument', 'maxNonceEntries must be a positive integer');

    this.realm = options.realm;
    this.algorithms = [...algorithms];
    this.qop = [...qop];
    this.nonceTtlMs = ttl;
    this.secret = options.secret.slice();
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? cryptoRandom;
    this.hasher = options.hasher;
    this.lookup = options.lookup;
    this.maxNonceEntries = maxEntries;
    this.checkUri = options.checkUri ?? true;
    const realmBytes = encoder.encode(options.realm);
    this.macInput = new Uint8Array(NONCE_DOMAIN_BYTES.length + TIME_BYTES + RANDOM_BYTES + realmBytes.length);
    this.macInput.set(NONCE_DOMAIN_BYTES, 0);
    this.macInput.set(realmBytes, NONCE_DOMAIN_BYTES.length + TIME_BYTES + RANDOM_BYTES);
  }

  /**
   * The WWW-Authenticate (or Proxy-Authenticate) values for a 401 (407) to `request`: one per algorithm, in
   * preference order, sharing one fresh nonce. `stale` comes from a failed `verify`. The request is taken so
   * nonces can later be bound to it (source address, Call-ID) without changing callers.
   */
  challenge(_request: SipRequest, options: { stale?: boolean } = {}): AuthValue[] {
    const nonce = this.issueNonce();
    return this.algorithms.map((algorithm) => {
      const params = new Map<string, string>([
        ['realm', this.realm],
        ['nonce', nonce],
        ['algorithm', algorithm],
      ]);
      if (this.qop.length > 0) params.set('qop', this.qop.join(','));
      if (options.stale === true) params.set('stale', 'true');
      return { scheme: 'Digest', params };
    });
  }

  /**
   * Checks the request's credentials for this realm. The checks run cheapest and most certain first; once the
   * digest is computed, a wrong one outranks a nonce problem, so 'stale' and 'bad-nonce' only ever mean
   * "the client knows the password" (RFC 7616 §3.3, stale).
   */
  async verify(request: SipRequest, options: DigestVerifyOptions = {}): Promise<DigestVerifyResult> {
    const values = request.parsedAll(options.header ?? 'authorization');
    if (values.length === 0) return failure('missing');
    let credentials: AuthValue | undefined;
    let digestSeen = false;
    for (const value of values.slice(0, MAX_CREDENTIAL_VALUES)) {
      if (value.scheme.toLowerCase() !== 'digest') continue;
      digestSeen = true;
      if (value.params.get('realm') === this.realm) {
        credentials = value;
        break;
      }
    }
    if (!digestSeen) return failure('unknown-scheme');
    if (credentials === undefined) return failure('realm-mismatch');

    const params = credentials.params;
    const username = params.get('username');
    if (username === undefined || username.length > MAX_USERNAME) return failure('malformed');
    const fail = (reason: DigestFailureReason, stale = false): DigestVerifyResult => ({ ok: false, reason, stale, username });

    const nonce = params.get('nonce');
    const uri = params.get('uri');
    const given = params.get('response')?.toLowerCase();
    const algorithm = parseDigestAlgorithm(params.get('algorithm'));
    if (nonce === undefined || uri === undefined || given === undefined || algorithm === undefined) return fail('malformed');
    if (!this.algorithms.includes(algorithm) || uri.length > MAX_URI || nonce.length > 1024) return fail('malformed');
    const hash = digestHashOf(algorithm);
    if (given.length !== digestHexLength(hash) || !/^[0-9a-f]+$/.test(given)) return fail('malformed');
    // userhash (RFC 7616 §3.4.4) hides the username behind a hash we never offered, so it cannot be looked up.
    if (params.get('userhash')?.toLowerCase() === 'true') return fail('malformed');

    const qopText = params.get('qop')?.toLowerCase();
    let qop: DigestQop | undefined;
    let nc: number | undefined;
    let ncText: string | undefined;
    let cnonce: string | undefined;
    if (qopText === undefined) {
      // RFC 2617 §3.2.2: a client that was offered qop must use it; a missing one would be a downgrade.
      if (this.qop.length > 0) return fail('malformed');
    } else {
      if (!(this.qop as readonly string[]).includes(qopText)) return fail('malformed');
      qop = qopText as DigestQop;
      ncText = params.get('nc');
      cnonce = params.get('cnonce');
      if (ncText === undefined || !/^[0-9a-fA-F]{8}$/.test(ncText)) return fail('malformed');
      if (cnonce === undefined || cnonce.length === 0 || cnonce.length > MAX_CNONCE) return fail('malformed');
      nc = parseInt(ncText, 16);
      if (nc === 0) return fail('malformed');
    }

    if (this.checkUri && !sameUri(uri, requestUriText(request))) return fail('uri-mismatch');

    const issuedAt = this.checkNonce(nonce);
    const secret = await this.lookup(username, this.realm, hash);
    if (secret === undefined) return fail('unknown-user');
    const ha1 = typeof secret === 'string' ? digestHa1(this.hasher, hash, username, this.realm, secret) : secret.ha1.toLowerCase();
    if (ha1.length !== digestHexLength(hash)) {
      throw new SipError('invalid-argument', `lookup returned an HA1 that is not a ${hash} hex digest for ${JSON.stringify(username)}`);
    }
    const expected = digestResponse(this.hasher, {
      algorithm, ha1, nonce, method: request.method, uri, qop, nc: ncText, cnonce, body: request.body,
    });
    if (!constantTimeEqual(expected, given)) return fail('wrong-credentials');

    if (issuedAt === undefined) return fail('bad-nonce', true);
    const age = this.clock.now() - issuedAt;
    // A negative age means the clock went back; the nonce's lifetime can no longer be judged.
    if (age > this.nonceTtlMs || age < 0) return fail('stale', true);
    const use = this.recordUse(nonce, issuedAt, nc, options.repeatable === true ? this.fingerprint(request) : undefined);
    if (use !== 'ok') return fail(use, true);
    return { ok: true, username, algorithm, qop };
  }

  /** Nonces currently remembered for replay protection. */
  get trackedNonces(): number {
    return this.seen.size;
  }

  private issueNonce(): string {
    const now = Math.max(0, Math.floor(this.clock.now()));
    const body = new Uint8Array(TIME_BYTES + RANDOM_BYTES);
    const view = new DataView(body.buffer);
    view.setUint32(0, Math.floor(now / 2 ** 32));
    view.setUint32(4, now >>> 0);
    body.set(this.random.bytes(RANDOM_BYTES).subarray(0, RANDOM_BYTES), TIME_BYTES);
    return bytesToHex(body) + this.mac(body);
  }

  /** The nonce's issue time when this server issued it under its secret; `undefined` otherwise. */
  private checkNonce(nonce: string): number | undefined {
    if (nonce.length !== NONCE_BYTES * 2) return undefined;
    const bodyHexLength = (TIME_BYTES + RANDOM_BYTES) * 2;
    const body = hexToBytes(nonce.slice(0, bodyHexLength));
    if (body === undefined || !constantTimeEqual(this.mac(body), nonce.slice(bodyHexLength).toLowerCase())) return undefined;
    const view = new DataView(body.buffer, body.byteOffset, TIME_BYTES);
    return view.getUint32(0) * 2 ** 32 + view.getUint32(4);
  }

  /**
   * The nonce body's MAC, truncated, as hex. It binds the nonce to this realm, so a server sharing the secret
   * under another realm cannot have its nonces reused here.
   */
  private mac(body: Uint8Array): string {
    // Only the body changes between nonces: the domain and realm around it are laid out once.
    const data = this.macInput;
    data.set(body, NONCE_DOMAIN_BYTES.length);
    return this.hasher.hmacSha256(this.secret, data).slice(0, MAC_BYTES * 2);
  }

  private recordUse(nonce: string, issuedAt: number, nc: number | undefined, fingerprint: string | undefined): 'ok' | 'replay' | 'stale' {
    const entry = this.seen.get(nonce);
    if (entry === undefined) {
      if (issuedAt <= this.forgottenUpTo) return 'stale';
    } else if (nc === undefined || nc <= entry.nc) {
      const repeat = fingerprint !== undefined && fingerprint === entry.fingerprint && (nc ?? Infinity) === entry.nc;
      return repeat ? 'ok' : 'replay';
    }
    this.seen.delete(nonce);
    this.seen.set(nonce, { nc: nc ?? Infinity, issuedAt, fingerprint });
    this.prune();
    return 'ok';
  }

  /** What tells a retransmission from a replay with changes: every line of the request and its body. */
  private fingerprint(request: SipRequest): string {
    return this.hasher.hex('SHA-256', request.toString());
  }

  private prune(): void {
    // A walk from the oldest entry steps over every entry deleted since V8 last compacted the map, thousands at
    // high rates; so the walk waits until the map is an eighth over its bound, or a second has passed.
    const now = this.clock.now();
    if (this.seen.size <= this.maxNonceEntries + (this.maxNonceEntries >> 3) && now < this.nextPrune) return;
    this.nextPrune = now + PRUNE_INTERVAL_MS;
    const expiredBefore = now - this.nonceTtlMs;
    for (const [nonce, entry] of this.seen) {
      // Expired nonces are refused as stale before the map is consulted: dropping them loses nothing.
      if (entry.issuedAt < expiredBefore) this.seen.delete(nonce);
      else if (this.seen.size > this.maxNonceEntries) {
        this.seen.delete(nonce);
        this.forgottenUpTo = Math.max(this.forgottenUpTo, entry.issuedAt);
      } else break;
    }
  }
}

function failure(reason: DigestFailureReason): DigestVerifyResult {
  return { ok: false, reason, stale: false, username: undefined };
}

/** The text as sent, or failing that the same URI by RFC 3261 §19.1.4 (a proxy may re-escape it). */
function sameUri(credentialUri: string, requestUri: string): boolean {
  if (credentialUri === requestUri) return true;
  try {
    return uriEquals(parseUri(credentialUri), parseUri(requestUri));
  } catch {
    return false;
  }
}
