/**
 * The UAC side of SIP digest authentication (RFC 3261 §22.2-22.3, RFC 7616, RFC 8760): turns a 401/407 into the
 * Authorization / Proxy-Authorization values of the retried request.
 */
import { randomToken, type Random } from '../clock.js';
import { SipError } from '../errors.js';
import type { AuthValue } from '../message/header-values.js';
import type { SipRequest, SipResponse } from '../message/sip-message.js';
import {
  DIGEST_ALGORITHMS, digestAlgorithmRank, digestHa1, digestHashOf, digestHexLength, digestResponse, formatNonceCount,
  isSessionAlgorithm, parseDigestAlgorithm, requestUriText,
  type DigestAlgorithm, type DigestHasher, type DigestHashName, type DigestQop,
} from './digest-hash.js';

export interface DigestPasswordCredentials {
  readonly username: string;
  readonly password: string;
}

/** For a UA provisioned with H(username:realm:password) instead of the password. */
export interface DigestHa1Credentials {
  readonly username: string;
  /** The stored HA1 for this realm and hash, or `undefined`: challenges using other hashes are then not answered. */
  ha1(realm: string, hash: DigestHashName): string | undefined;
}

export type DigestCredentials = DigestPasswordCredentials | DigestHa1Credentials;

export type DigestClientFailure =
  /** The response carries no challenge at all. */
  | 'no-challenge'
  /** Only schemes, algorithms or qops this client does not implement were offered. */
  | 'unsupported'
  /** No credentials for any challenged realm. */
  | 'no-credentials'
  /** The request already carried our credentials for the realm and the server did not call them stale: wrong password. */
  | 'rejected';

export class DigestClientError extends SipError {
  readonly reason: DigestClientFailure;

  constructor(reason: DigestClientFailure, message: string, status?: number) {
    super('auth', message, status === undefined ? {} : { status });
    this.name = 'DigestClientError';
    this.reason = reason;
  }
}

export interface DigestClientOptions {
  /** One identity for every realm, or a choice per realm (`undefined`: do not answer that realm). */
  credentials: DigestCredentials | ((realm: string) => DigestCredentials | undefined);
  hasher: DigestHasher;
  /** Source of cnonces. */
  random: Random;
  /** Algorithms this client answers; default all six. Leave MD5 out to refuse downgrades. */
  algorithms?: readonly DigestAlgorithm[];
  /** Nonces whose nc this client remembers; the oldest is forgotten first. Default 64. */
  maxNonces?: number;
}

export interface DigestAuthorization {
  /** The header to set on the retried request. */
  header: 'Authorization' | 'Proxy-Authorization';
  /**
   * Every value that header should carry: fresh credentials for each challenged realm plus the request's
   * credentials for realms not challenged this time (other proxies on the path still want theirs, §22.3).
   */
  values: AuthValue[];
  /** Whether any realm answered was challenged with stale=true. */
  stale: boolean;
}

interface Challenge {
  realm: string;
  nonce: string;
  algorithm: DigestAlgorithm;
  /** Whether the challenge named its algorithm: echoed only then, as old servers expect. */
  namedAlgorithm: boolean;
  qop: DigestQop | undefined;
  opaque: string | undefined;
  stale: boolean;
}

// Bounds on what a response may make us hold or compute; challenges beyond them are ignored, not trusted.
const MAX_CHALLENGES = 16;
const MAX_PARAM_LENGTH = 1024;

export class DigestClient {
  private readonly resolve: (realm: string) => DigestCredentials | undefined;
  private readonly hasher: DigestHasher;
  private readonly random: Random;
  private readonly algorithms: ReadonlySet<DigestAlgorithm>;
  private readonly maxNonces: number;
  private readonly nonceCounts = new Map<string, number>();

  constructor(options: DigestClientOptions) {
    const credentials = options.credentials;
    this.resolve = typeof credentials === 'function' ? credentials : () => credentials;
    this.hasher = options.hasher;
    this.random = options.random;
    const algorithms = options.algorithms ?? DIGEST_ALGORITHMS;
    for (const algorithm of algorithms) {
      if (!DIGEST_ALGORITHMS.includes(algorithm)) throw new SipError('invalid-argument', `unknown digest algorithm ${String(algorithm)}`);
    }
    if (algorithms.length === 0) throw new SipError('invalid-argument', 'a digest client needs at least one algorithm');
    this.algorithms = new Set(algorithms);
    this.maxNonces = options.maxNonces ?? 64;
    if (!Number.isInteger(this.maxNonces) || this.maxNonces < 1) throw new SipError('invalid-argument', 'maxNonces must be a positive integer');
  }

  /**
   * Credentials answering `response` (a 401 or 407 to `request`). Throws `DigestClientError` (code 'auth') when
   * the challenge cannot or must not be answered; 'rejected' in particular ends a retry loop after a wrong password.
   * The retried request must keep the Request-URI, body and method of `request`: the digest covers them.
   */
  authorize(request: SipRequest, response: SipResponse): DigestAuthorization {
    const proxy = response.status === 407;
    if (response.status !== 401 && !proxy) {
      throw new SipError('invalid-argument', `only a 401 or 407 carries a digest challenge, not a ${response.status}`);
    }
    const header = proxy ? 'Proxy-Authorization' : 'Authorization';
    const offered = response.parsedAll(proxy ? 'proxy-authenticate' : 'www-authenticate');
    if (offered.length === 0) {
      throw new DigestClientError('no-challenge', `${response.status} without a ${proxy ? 'Proxy' : 'WWW'}-Authenticate header`, response.status);
    }

    const byRealm = new Map<string, Challenge[]>();
    const unsupported: string[] = [];
    for (const value of offered.slice(0, MAX_CHALLENGES)) {
      const challenge = this.readChallenge(value);
      if (typeof challenge === 'string') {
        unsupported.push(challenge);
        continue;
      }
      const list = byRealm.get(challenge.realm);
      if (list === undefined) byRealm.set(challenge.realm, [challenge]);
      else list.push(challenge);
    }
    if (byRealm.size === 0) {
      throw new DigestClientError('unsupported', `no challenge this client can answer (${unsupported.join('; ')})`, response.status);
    }

    const previous = request.parsedAll(proxy ? 'proxy-authorization' : 'authorization');
    const uri = requestUriText(request);
    const values: AuthValue[] = [];
    let stale = false;
    let withoutCredentials = 0;
    for (const [realm, challenges] of byRealm) {
      const fresh = challenges.some((challenge) => challenge.stale);
      // Our credentials for this realm were just refused and the nonce was not the reason: retrying cannot help.
      if (!fresh && previous.some((value) => isDigest(value) && value.params.get('realm') === realm)) {
        throw new DigestClientError('rejected', `credentials for realm ${JSON.stringify(realm)} were rejected`, response.status);
      }
      const credentials = this.resolve(realm);
      const chosen = credentials === undefined ? undefined : this.choose(challenges, credentials, realm);
      if (credentials === undefined || chosen === undefined) {
        withoutCredentials++;
        continue;
      }
      stale ||= chosen.challenge.stale;
      values.push(this.answer(request, uri, chosen.challenge, credentials.username, chosen.ha1));
    }
    if (values.length === 0) {
      const what = withoutCredentials === 1 ? `realm ${JSON.stringify([...byRealm.keys()][0])}` : `any of ${withoutCredentials} realms`;
      throw new DigestClientError('no-credentials', `no credentials for ${what}`, response.status);
    }
    for (const value of previous) {
      const realm = value.params.get('realm');
      if (!isDigest(value) || realm === undefined || !byRealm.has(realm)) values.push(value);
    }
    return { header, values, stale };
  }

  /** A usable challenge, or why it is not usable. */
  private readChallenge(value: AuthValue): Challenge | string {
    if (!isDigest(value)) return `scheme ${value.scheme}`;
    const realm = value.params.get('realm');
    const nonce = value.params.get('nonce');
    const opaque = value.params.get('opaque');
    if (realm === undefined || nonce === undefined) return 'Digest challenge without realm or nonce';
    if (realm.length > MAX_PARAM_LENGTH || nonce.length > MAX_PARAM_LENGTH || (opaque?.length ?? 0) > MAX_PARAM_LENGTH) {
      return 'Digest challenge with an oversized parameter';
    }
    const algorithmText = value.params.get('algorithm');
    const algorithm = parseDigestAlgorithm(algorithmText);
    if (algorithm === undefined || !this.algorithms.has(algorithm)) return `algorithm ${algorithmText ?? 'MD5'}`;
    let qop: DigestQop | undefined;
    const qopText = value.params.get('qop');
    if (qopText !== undefined) {
      const options = qopText.split(',').map((option) => option.trim().toLowerCase());
      if (options.includes('auth')) qop = 'auth';
      else if (options.includes('auth-int')) qop = 'auth-int';
      else return `qop ${qopText}`;
    } else if (isSessionAlgorithm(algorithm)) {
      return `${algorithm} without qop`;
    }
    const stale = value.params.get('stale')?.toLowerCase() === 'true';
    return { realm, nonce, algorithm, namedAlgorithm: algorithmText !== undefined, qop, opaque, stale };
  }

  /** The strongest challenge of one realm that these credentials can answer, with the HA1 for it. */
  private choose(challenges: Challenge[], credentials: DigestCredentials, realm: string): { challenge: Challenge; ha1: string } | undefined {
    let best: { challenge: Challenge; ha1: string; score: number } | undefined;
    for (const challenge of challenges) {
      const hash = digestHashOf(challenge.algorithm);
      const score = digestAlgorithmRank(challenge.algorithm) * 10 + (challenge.qop === 'auth' ? 2 : challenge.qop === 'auth-int' ? 1 : 0);
      if (best !== undefined && best.score >= score) continue;
      let ha1: string | undefined;
      if ('password' in credentials) ha1 = digestHa1(this.hasher, hash, credentials.username, realm, credentials.password);
      else {
        ha1 = credentials.ha1(realm, hash)?.toLowerCase();
        if (ha1 !== undefined && (ha1.length !== digestHexLength(hash) || !/^[0-9a-f]+$/.test(ha1))) {
          throw new SipError('invalid-argument', `stored HA1 for realm ${JSON.stringify(realm)} is not a ${hash} hex digest`);
        }
      }
      if (ha1 !== undefined) best = { challenge, ha1, score };
    }
    return best;
  }

  private answer(request: SipRequest, uri: string, challenge: Challenge, username: string, ha1: string): AuthValue {
    const { realm, nonce, algorithm, qop } = challenge;
    const nc = qop === undefined ? undefined : formatNonceCount(this.nextCount(nonce));
    const cnonce = qop === undefined ? undefined : randomToken(this.random, 24);
    const response = digestResponse(this.hasher, {
      algorithm, ha1, nonce, method: request.method, uri, qop, nc, cnonce, body: request.body,
    });
    const params = new Map<string, string>([
      ['username', username],
      ['realm', realm],
      ['nonce', nonce],
      ['uri', uri],
      ['response', response],
    ]);
    if (challenge.namedAlgorithm) params.set('algorithm', algorithm);
    if (cnonce !== undefined) params.set('cnonce', cnonce);
    if (challenge.opaque !== undefined) params.set('opaque', challenge.opaque);
    if (qop !== undefined && nc !== undefined) {
      params.set('qop', qop);
      params.set('nc', nc);
    }
    return { scheme: 'Digest', params };
  }

  /** nc for the next use of a nonce (RFC 7616 §3.4: a count of requests sent with it, starting at 1). */
  private nextCount(nonce: string): number {
    const count = (this.nonceCounts.get(nonce) ?? 0) + 1;
    this.nonceCounts.delete(nonce);
    this.nonceCounts.set(nonce, count);
    if (this.nonceCounts.size > this.maxNonces) {
      const oldest = this.nonceCounts.keys().next().value;
      if (oldest !== undefined) this.nonceCounts.delete(oldest);
    }
    return count;
  }
}

function isDigest(value: AuthValue): boolean {
  return value.scheme.toLowerCase() === 'digest';
}
