/**
 * Verifies the login tokens browsers present in `hello` and `auth.refresh`. Two key sources: a shared HS256 secret,
 * or a JWKS URL the CRM publishes (RS256, ES256, EdDSA, ...). Every refusal is a `TokenError` whose code names the
 * close reason; the checks run cheapest first, and nothing about the claims is judged before the signature holds,
 * so an unsigned token learns nothing about what the gateway would accept.
 */
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type CryptoKey, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { MAX_TOKEN_LENGTH } from '@switchboard/protocol';
import { MAX_TOKEN_LIFETIME_SECONDS, type JwksAlgorithm } from '../config/schema.js';
import type { AuthConfig, Hs256AuthConfig, JwksAuthConfig } from '../config/types.js';
import { isOperatorId } from './operator-id.js';
import { TokenError } from './token-error.js';

export interface VerifiedToken {
  readonly operatorId: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

export interface TokenVerifier {
  verify(token: string): Promise<VerifiedToken>;
}

export interface VerifierOptions {
  /** Epoch milliseconds. */
  readonly now?: (() => number) | undefined;
  /** JWKS only: how long one fetch of the key set may take. */
  readonly jwksTimeoutMs?: number | undefined;
}

/** Three base64url parts; the signature may be empty only so that `alg: none` is reported as such. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

type KeySource = Uint8Array | JWTVerifyGetKey;

interface Policy {
  readonly audience: string;
  readonly algorithms: readonly string[];
  readonly maxLifetimeSeconds: number;
  readonly clockToleranceSeconds: number;
  readonly now: () => number;
}

function policyOf(config: AuthConfig, algorithms: readonly string[], options: VerifierOptions): Policy {
  return {
    audience: config.audience,
    algorithms,
    maxLifetimeSeconds: Math.min(config.maxTokenLifetimeSeconds, MAX_TOKEN_LIFETIME_SECONDS),
    clockToleranceSeconds: config.clockToleranceSeconds,
    now: options.now ?? Date.now,
  };
}

export class Hs256TokenVerifier implements TokenVerifier {
  readonly #key: Uint8Array;
  readonly #policy: Policy;

  constructor(config: Omit<Hs256AuthConfig, 'kind'>, options: VerifierOptions = {}) {
    this.#key = config.secret.bytes();
    this.#policy = policyOf({ ...config, kind: 'hs256' }, ['HS256'], options);
  }

  verify(token: string): Promise<VerifiedToken> {
    return verifyToken(token, this.#key, this.#policy);
  }
}

export class JwksTokenVerifier implements TokenVerifier {
  readonly #keys: JWTVerifyGetKey;
  readonly #policy: Policy;

  constructor(config: Omit<JwksAuthConfig, 'kind'>, options: VerifierOptions = {}) {
    const remote = createRemoteJWKSet(new URL(config.url), { timeoutDuration: options.jwksTimeoutMs ?? 5000 });
    this.#keys = async (header, token) => {
      try {
        return await remote(header, token);
      } catch (error) {
        throw keySetError(error);
      }
    };
    this.#policy = policyOf({ ...config, kind: 'jwks' }, [...config.algorithms], options);
  }

  verify(token: string): Promise<VerifiedToken> {
    return verifyToken(token, this.#keys, this.#policy);
  }
}

export function createTokenVerifier(config: AuthConfig, options: VerifierOptions = {}): TokenVerifier {
  return config.kind === 'hs256' ? new Hs256TokenVerifier(config, options) : new JwksTokenVerifier(config, options);
}

/** The algorithms a verifier for this configuration accepts. */
export function acceptedAlgorithms(config: AuthConfig): readonly (JwksAlgorithm | 'HS256')[] {
  return config.kind === 'hs256' ? ['HS256'] : config.algorithms;
}

async function verifyToken(token: string, key: KeySource, policy: Policy): Promise<VerifiedToken> {
  if (typeof token !== 'string' || token.length === 0) throw new TokenError('token-invalid', 'no token');
  // Bounded before any decoding: a megabyte of base64 should cost a length check, not a parse.
  if (token.length > MAX_TOKEN_LENGTH) throw new TokenError('token-invalid', `the token is longer than ${MAX_TOKEN_LENGTH} characters`);
  if (!COMPACT_JWS.test(token)) throw new TokenError('token-invalid', 'the token is not a signed JWT (three base64url parts)');

  let alg: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch (error) {
    throw new TokenError('token-invalid', 'the token header is not readable', { cause: error });
  }
  // An algorithm the gateway does not verify with means the signature was not made with its key: `none`, or HS256
  // "signed" with a public key. A fresh token would fail the same way, hence tampered rather than invalid.
  if (typeof alg !== 'string' || !policy.algorithms.includes(alg)) {
    throw new TokenError('token-tampered', `the token is signed with ${typeof alg === 'string' ? alg : 'no algorithm'}, which this gateway does not accept`);
  }

  const nowMs = policy.now();
  const options: JWTVerifyOptions = {
    algorithms: [...policy.algorithms],
    audience: policy.audience,
    clockTolerance: policy.clockToleranceSeconds,
    currentDate: new Date(nowMs),
    requiredClaims: ['exp', 'sub'],
  };

  let payload: Awaited<ReturnType<typeof jwtVerify>>['payload'];
  try {
    payload = (await verifyWithAnyKey(token, key, options)).payload;
  } catch (error) {
    throw toTokenError(error);
  }

  const exp = payload.exp as number;
  if (exp - nowMs / 1000 > policy.maxLifetimeSeconds + policy.clockToleranceSeconds) {
    throw new TokenError('token-invalid', `the token expires more than ${policy.maxLifetimeSeconds} seconds ahead`);
  }
  // jose checks `iat` only against a maximum age; one from the future means a clock to fix, not a login to allow.
  if (payload.iat !== undefined && payload.iat > nowMs / 1000 + policy.clockToleranceSeconds) {
    throw new TokenError('token-invalid', 'the token was issued in the future (check the clocks)');
  }
  if (!isOperatorId(payload.sub)) {
    throw new TokenError('token-invalid', 'the token subject is not a valid operator id');
  }
  return { operatorId: payload.sub, expiresAt: Math.floor(exp * 1000) };
}

/** A key set may hold several keys matching the header (rotation without `kid`): any one that verifies will do. */
async function verifyWithAnyKey(token: string, key: KeySource, options: JWTVerifyOptions) {
  try {
    return typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options);
  } catch (error) {
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
    const candidates = error as unknown as AsyncIterable<CryptoKey>;
    for await (const candidate of candidates) {
      try {
        return await jwtVerify(token, candidate, options);
      } catch (inner) {
        if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  }
}

function keySetError(error: unknown): unknown {
  if (error instanceof TokenError) return error;
  if (error instanceof errors.JWKSMultipleMatchingKeys) return error;
  if (error instanceof errors.JWKSNoMatchingKey) {
    return new TokenError('token-tampered', 'no key in the key set matches the token', { cause: error });
  }
  // Timeouts, network failures, a key set that is not JSON: the gateway's problem, not the token's.
  return new TokenError('internal', 'the key set could not be fetched', { cause: error });
}

function toTokenError(error: unknown): TokenError {
  if (error instanceof TokenError) return error;
  if (error instanceof errors.JWTExpired) return new TokenError('token-expired', 'the token has expired', { cause: error });
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud' && error.reason === 'check_failed') {
      return new TokenError('token-audience', 'the token was issued for another audience', { cause: error });
    }
    return new TokenError('token-invalid', `the token's "${error.claim}" claim is ${error.reason === 'missing' ? 'missing' : 'not acceptable'}`, { cause: error });
  }
  if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JOSEAlgNotAllowed) {
    return new TokenError('token-tampered', 'the token signature does not verify', { cause: error });
  }
  if (error instanceof errors.JOSEError) return new TokenError('token-invalid', 'the token is malformed', { cause: error });
  return new TokenError('internal', 'the token could not be verified', { cause: error });
}
