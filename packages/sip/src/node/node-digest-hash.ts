/**
 * The digest hasher on Node, from OpenSSL through `node:crypto`: it has MD5 and SHA-512/256, which WebCrypto lacks.
 */
import { createHash, createHmac } from 'node:crypto';
import { SipError } from '../errors.js';
import type { DigestHasher, DigestHashName } from '../auth/digest-hash.js';

const OPENSSL_NAMES: Readonly<Record<DigestHashName, string>> = {
  'MD5': 'md5',
  'SHA-256': 'sha256',
  // The FIPS 180-4 SHA-512/256 (own initial values), which RFC 7616 means; not SHA-512 cut to 256 bits.
  'SHA-512-256': 'sha512-256',
};

export const nodeDigestHasher: DigestHasher = {
  hex(hash, data) {
    const name = OPENSSL_NAMES[hash];
    if (name === undefined) throw new SipError('invalid-argument', `unsupported digest hash ${String(hash)}`);
    return createHash(name).update(data).digest('hex');
  },
  hmacSha256(key, data) {
    const mac = createHmac('sha256', key).update(data).digest();
    return new Uint8Array(mac.buffer, mac.byteOffset, mac.length);
  },
};
