/**
 * Signs login tokens with the shared HS256 secret, as a CRM backend would: for `switchboard token`, scripts and the
 * demo CRM. The CRM may sign its own with any JWT library; this is the reference for what the gateway accepts.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { MIN_HS256_SECRET_BYTES } from '../config/load.js';
import { DEFAULT_AUDIENCE, MAX_TOKEN_LIFETIME_SECONDS } from '../config/schema.js';
import { Secret } from '../config/secret.js';
import { isOperatorId, OPERATOR_ID_HINT } from './operator-id.js';
import { parseTtl } from './ttl.js';

export const DEFAULT_TOKEN_TTL_SECONDS = 3600;

export interface TokenIssuerOptions {
  readonly secret: Secret | string;
  readonly audience?: string | undefined;
  /** The longest lifetime this issuer hands out; never more than 24 h. */
  readonly maxLifetimeSeconds?: number | undefined;
  /** Epoch milliseconds; injectable so tests can mint tokens in the past or future. */
  readonly now?: (() => number) | undefined;
}

export interface IssueOptions {
  readonly operatorId: string;
  /** `15m`, `1h`, or seconds; default 1 h (or the maximum lifetime, if shorter). */
  readonly ttl?: string | number | undefined;
}

export interface IssuedToken {
  readonly token: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
  readonly jti: string;
}

export class TokenIssuer {
  readonly #key: Uint8Array;
  readonly #audience: string;
  readonly #maxLifetimeSeconds: number;
  readonly #now: () => number;

  constructor(options: TokenIssuerOptions) {
    const secret = typeof options.secret === 'string' ? new Secret(options.secret, 'argument') : options.secret;
    if (secret.bytes().length < MIN_HS256_SECRET_BYTES) {
      throw new RangeError(`the HS256 secret must be at least ${MIN_HS256_SECRET_BYTES} bytes`);
    }
    this.#key = secret.bytes();
    this.#audience = options.audience ?? DEFAULT_AUDIENCE;
    this.#maxLifetimeSeconds = Math.min(options.maxLifetimeSeconds ?? MAX_TOKEN_LIFETIME_SECONDS, MAX_TOKEN_LIFETIME_SECONDS);
    this.#now = options.now ?? Date.now;
  }

  /** Throws `RangeError` for an operator id the verifier would refuse, `TtlError` for a lifetime out of bounds. */
  async issue(options: IssueOptions): Promise<IssuedToken> {
    if (!isOperatorId(options.operatorId)) {
      throw new RangeError(`operator id must be ${OPERATOR_ID_HINT}`);
    }
    const ttlSeconds = this.ttlSeconds(options.ttl);
    const iat = Math.floor(this.#now() / 1000);
    const exp = iat + ttlSeconds;
    const jti = randomUUID();
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(options.operatorId)
      .setAudience(this.#audience)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(jti)
      .sign(this.#key);
    return { token, expiresAt: exp * 1000, jti };
  }

  private ttlSeconds(ttl: string | number | undefined): number {
    if (ttl === undefined) return Math.min(DEFAULT_TOKEN_TTL_SECONDS, this.#maxLifetimeSeconds);
    return parseTtl(String(ttl), this.#maxLifetimeSeconds);
  }
}
