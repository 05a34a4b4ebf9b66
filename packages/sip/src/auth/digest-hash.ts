/**
 * Digest computations shared by the client and the server (RFC 7616 §3.4.1-3, RFC 8760, RFC 3261 §22.4).
 * Hashing is injected: the core runs where no `node:crypto` exists, and MD5 / SHA-512/256 are not in WebCrypto,
 * so every platform supplies its own `DigestHasher` (see `node/node-digest-hash.ts`).
 */
import { SipError } from '../errors.js';
import type { SipRequest } from '../message/sip-message.js';

export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess' | 'SHA-512-256' | 'SHA-512-256-sess';

/** The hash function under an algorithm; a `-sess` variant uses the same one. */
export type DigestHashName = 'MD5' | 'SHA-256' | 'SHA-512-256';

export type DigestQop = 'auth' | 'auth-int';

export interface DigestHasher {
  /** Lower-case hex digest; a string is hashed as its UTF-8 bytes. */
  hex(hash: DigestHashName, data: string | Uint8Array): string;
  /** HMAC-SHA-256 of `data` under `key`, lower-case hex: signs the server's stateless nonces, which are hex. */
  hmacSha256(key: Uint8Array, data: Uint8Array): string;
}

export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ['MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess', 'SHA-512-256', 'SHA-512-256-sess'];

const BY_UPPER = new Map<string, DigestAlgorithm>(DIGEST_ALGORITHMS.map((algorithm) => [algorithm.toUpperCase(), algorithm]));

/**
 * The algorithm an `algorithm` parameter names, or `undefined` when it names none we know. An absent parameter
 * means MD5 (RFC 7616 §3.3). Names are matched case-insensitively because deployed peers write `md5`.
 */
export function parseDigestAlgorithm(text: string | undefined): DigestAlgorithm | undefined {
  if (text === undefined) return 'MD5';
  return BY_UPPER.get(text.toUpperCase());
}

export function digestHashOf(algorithm: DigestAlgorithm): DigestHashName {
  return algorithm.endsWith('-sess') ? (algorithm.slice(0, -5) as DigestHashName) : (algorithm as DigestHashName);
}

export function isSessionAlgorithm(algorithm: DigestAlgorithm): boolean {
  return algorithm.endsWith('-sess');
}

/** Length of a hex digest of this hash: a stored HA1 or a received response of another length cannot be right. */
export function digestHexLength(hash: DigestHashName): number {
  return hash === 'MD5' ? 32 : 64;
}

/** Strength order used to pick among challenges: SHA-512-256 > SHA-256 > MD5, plain before `-sess`. */
export function digestAlgorithmRank(algorithm: DigestAlgorithm): number {
  const base = { 'MD5': 10, 'SHA-256': 20, 'SHA-512-256': 30 }[digestHashOf(algorithm)];
  return isSessionAlgorithm(algorithm) ? base - 1 : base;
}

/** H(username ":" realm ":" password): what a server may store instead of the password. */
export function digestHa1(hasher: DigestHasher, hash: DigestHashName, username: string, realm: string, password: string): string {
  return hasher.hex(hash, `${username}:${realm}:${password}`);
}

export interface DigestResponseInput {
  algorithm: DigestAlgorithm;
  /** H(username:realm:password) for the algorithm's hash, from `digestHa1` or a store; never the `-sess` form. */
  ha1: string;
  nonce: string;
  method: string;
  /** The `uri` parameter exactly as sent. */
  uri: string;
  /** Absent: the RFC 2069 construction, kept by RFC 3261 §22.4 for old peers. */
  qop?: DigestQop | undefined;
  /** Eight hex digits, as sent. Required with a qop. */
  nc?: string | undefined;
  /** Required with a qop or a `-sess` algorithm. */
  cnonce?: string | undefined;
  /** The message body, for qop=auth-int. */
  body?: Uint8Array | string | undefined;
}

/** The `response` parameter (RFC 7616 §3.4.1). */
export function digestResponse(hasher: DigestHasher, input: DigestResponseInput): string {
  const hash = digestHashOf(input.algorithm);
  const h = (text: string): string => hasher.hex(hash, text);
  let ha1 = input.ha1;
  if (isSessionAlgorithm(input.algorithm)) {
    // RFC 2617 §3.2.2.2 defines -sess over the cnonce, which only exists with a qop.
    if (input.qop === undefined || input.cnonce === undefined) {
      throw new SipError('auth', `${input.algorithm} needs a qop and a cnonce`);
    }
    ha1 = h(`${ha1}:${input.nonce}:${input.cnonce}`);
  }
  const ha2 = input.qop === 'auth-int'
    ? h(`${input.method}:${input.uri}:${hasher.hex(hash, input.body ?? '')}`)
    : h(`${input.method}:${input.uri}`);
  if (input.qop === undefined) return h(`${ha1}:${input.nonce}:${ha2}`);
  if (input.nc === undefined || input.cnonce === undefined) throw new SipError('auth', 'qop needs nc and cnonce');
  return h(`${ha1}:${input.nonce}:${input.nc}:${input.cnonce}:${input.qop}:${ha2}`);
}

/** `nc` as RFC 7616 writes it: eight lower-case hex digits. */
export function formatNonceCount(count: number): string {
  return count.toString(16).padStart(8, '0');
}

/**
 * The Request-URI as it appears on the start line. Credentials must carry the text the peer sees, and a URI
 * re-formatted from its parsed form may differ from it (escapes, parameter spelling).
 */
export function requestUriText(request: SipRequest): string {
  const line = request.startLine();
  return line.slice(request.method.length + 1, line.lastIndexOf(' '));
}

/** Equal-length strings compared without an early exit, so timing does not reveal how much of a digest matched. */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

const HEX_PAIRS = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

export function bytesToHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += HEX_PAIRS[bytes[i]!];
  return out;
}

/** Value of a hex digit's char code, or -1. */
function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  const lower = code | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/** Bytes of a hex string, or `undefined` when it is not one. */
export function hexToBytes(text: string): Uint8Array | undefined {
  if (text.length % 2 !== 0) return undefined;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    const high = hexDigit(text.charCodeAt(2 * i));
    const low = hexDigit(text.charCodeAt(2 * i + 1));
    if (high < 0 || low < 0) return undefined;
    out[i] = (high << 4) | low;
  }
  return out;
}
