import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { nodeDigestHasher } from './node-digest-hash.js';

test('hmacSha256 is HMAC-SHA-256 for keys shorter than, as long as and longer than a block, and any key after another', () => {
  const keys = [1, 16, 32, 63, 64, 65, 200].map((length) => new Uint8Array(randomBytes(length)));
  const sizes = [0, 1, 31, 55, 56, 64, 100, 1000];
  for (let round = 0; round < 2; round++) {
    for (const key of keys) {
      for (const size of sizes) {
        const data = new Uint8Array(randomBytes(size));
        const expected = createHmac('sha256', key).update(data).digest('hex');
        assert.equal(nodeDigestHasher.hmacSha256(key, data), expected, `key ${key.length} B, data ${size} B`);
      }
    }
  }
});

test('hmacSha256 sees a key changed in place', () => {
  const key = new Uint8Array(randomBytes(32));
  const data = new Uint8Array(randomBytes(40));
  nodeDigestHasher.hmacSha256(key, data);
  key[7] = key[7]! ^ 1;
  assert.equal(nodeDigestHasher.hmacSha256(key, data), createHmac('sha256', key).update(data).digest('hex'));
});

test('RFC 4231 test case 2', () => {
  const mac = nodeDigestHasher.hmacSha256(new TextEncoder().encode('Jefe'), new TextEncoder().encode('what do ya want for nothing?'));
  assert.equal(mac, '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
});

test('hex matches createHash for every digest hash, strings as UTF-8', () => {
  for (const [hash, name] of [['MD5', 'md5'], ['SHA-256', 'sha256'], ['SHA-512-256', 'sha512-256']] as const) {
    for (const data of ['', 'bench:example.com:secret', 'ünïcödé:€', new Uint8Array([0, 255, 128])]) {
      assert.equal(nodeDigestHasher.hex(hash, data), createHash(name).update(data).digest('hex'));
    }
  }
});
