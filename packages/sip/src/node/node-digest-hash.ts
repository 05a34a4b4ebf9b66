/**
 * The digest hasher on Node, from OpenSSL through `node:crypto`: it has MD5 and SHA-512/256, which WebCrypto lacks.
 */
import * as nodeCrypto from 'node:crypto';
import { SipError } from '../errors.js';
import type { DigestHasher, DigestHashName } from '../auth/digest-hash.js';

const OPENSSL_NAMES: Readonly<Record<DigestHashName, string>> = {
  'MD5': 'md5',
  'SHA-256': 'sha256',
  // The FIPS 180-4 SHA-512/256 (own initial values), which RFC 7616 means; not SHA-512 cut to 256 bits.
  'SHA-512-256': 'sha512-256',
};

/**
 * One-shot hashing (Node 20.12+) skips the Hash object `createHash` builds; asking for hex also skips the Buffer
 * OpenSSL's output would otherwise be wrapped in, which costs more than the hashing of a short input.
 */
const oneShot: ((algorithm: string, data: string | Uint8Array, encoding: 'hex') => string) | undefined =
  typeof nodeCrypto.hash === 'function' ? nodeCrypto.hash : undefined;

function hexOf(name: string, data: string | Uint8Array): string {
  return oneShot !== undefined ? oneShot(name, data, 'hex') : nodeCrypto.createHash(name).update(data).digest('hex');
}

const SHA256_BLOCK = 64;
const SHA256_BYTES = 32;

/**
 * HMAC-SHA-256 as RFC 2104 defines it, H((K ^ opad) || H((K ^ ipad) || m)), with the padded keys of the last key
 * used kept: `createHmac` derives them again on every call, and a server signs every nonce under one key.
 */
class Hmac256 {
  private key: Uint8Array = new Uint8Array(0);
  private inner = Buffer.alloc(0);
  private readonly outer = Buffer.alloc(SHA256_BLOCK + SHA256_BYTES);

  sign(key: Uint8Array, data: Uint8Array): string {
    if (oneShot === undefined) return nodeCrypto.createHmac('sha256', key).update(data).digest('hex');
    if (!sameBytes(key, this.key)) this.rekey(key);
    // Sized to the data, which for nonces is always the same length: hashed whole, with no view to make each time.
    const innerLength = SHA256_BLOCK + data.length;
    if (this.inner.length !== innerLength) {
      const resized = Buffer.alloc(innerLength);
      this.inner.copy(resized, 0, 0, SHA256_BLOCK);
      this.inner = resized;
    }
    this.inner.set(data, SHA256_BLOCK);
    this.outer.write(oneShot('sha256', this.inner, 'hex'), SHA256_BLOCK, 'hex');
    return oneShot('sha256', this.outer, 'hex');
  }

  private rekey(key: Uint8Array): void {
    // Keys longer than a block are hashed first (RFC 2104 §2).
    const k = key.length > SHA256_BLOCK ? Buffer.from(hexOf('sha256', key), 'hex') : key;
    this.inner = Buffer.alloc(Math.max(this.inner.length, SHA256_BLOCK));
    for (let i = 0; i < SHA256_BLOCK; i++) {
      const byte = i < k.length ? k[i]! : 0;
      this.inner[i] = byte ^ 0x36;
      this.outer[i] = byte ^ 0x5c;
    }
    this.key = key.slice();
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const hmac = new Hmac256();

export const nodeDigestHasher: DigestHasher = {
  hex(hash, data) {
    const name = OPENSSL_NAMES[hash];
    if (name === undefined) throw new SipError('invalid-argument', `unsupported digest hash ${String(hash)}`);
    return hexOf(name, data);
  },
  hmacSha256(key, data) {
    return hmac.sign(key, data);
  },
};
