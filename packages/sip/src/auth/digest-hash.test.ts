import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SipError } from '../errors.js';
import { formatAuth, parseAuth } from '../message/header-values.js';
import { nodeDigestHasher as hasher } from '../node/node-digest-hash.js';
import {
  constantTimeEqual, digestAlgorithmRank, digestHa1, digestHashOf, digestResponse, formatNonceCount, hexToBytes,
  bytesToHex, parseDigestAlgorithm, requestUriText, type DigestAlgorithm,
} from './digest-hash.js';
import { register } from './test-support/fixtures.js';

const md5 = (text: string | Uint8Array): string => createHash('md5').update(text).digest('hex');

// RFC 7616 §3.9.1: GET http://www.example.org/dir/index.html, user Mufasa, password "Circle of Life".
const RFC7616 = {
  username: 'Mufasa',
  password: 'Circle of Life',
  realm: 'http-auth@example.org',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
  uri: '/dir/index.html',
};

describe('digest computations', () => {
  test('RFC 7616 §3.9.1 SHA-256 and MD5 responses', () => {
    const expected: [DigestAlgorithm, string][] = [
      ['SHA-256', '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1'],
      ['MD5', '8ca523f5e9506fed4657c9700eebdbec'],
    ];
    for (const [algorithm, response] of expected) {
      const ha1 = digestHa1(hasher, digestHashOf(algorithm), RFC7616.username, RFC7616.realm, RFC7616.password);
      const got = digestResponse(hasher, {
        algorithm, ha1, nonce: RFC7616.nonce, method: 'GET', uri: RFC7616.uri, qop: 'auth', nc: '00000001', cnonce: RFC7616.cnonce,
      });
      assert.equal(got, response, algorithm);
    }
  });

  test('RFC 7616 §3.9.1 Authorization header, parsed and recomputed from its own parameters', () => {
    const header = parseAuth(
      'Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, ' +
      'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, ' +
      'cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, ' +
      'response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", ' +
      'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
    );
    const p = (name: string): string => header.params.get(name)!;
    const algorithm = parseDigestAlgorithm(p('algorithm'))!;
    const ha1 = digestHa1(hasher, digestHashOf(algorithm), p('username'), p('realm'), RFC7616.password);
    const got = digestResponse(hasher, { algorithm, ha1, nonce: p('nonce'), method: 'GET', uri: p('uri'), qop: 'auth', nc: p('nc'), cnonce: p('cnonce') });
    assert.equal(got, p('response'));
  });

  test('RFC 2617 §3.5 example (MD5, qop=auth)', () => {
    const ha1 = digestHa1(hasher, 'MD5', 'Mufasa', 'testrealm@host.com', 'Circle Of Life');
    const got = digestResponse(hasher, {
      algorithm: 'MD5', ha1, nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093', method: 'GET', uri: '/dir/index.html',
      qop: 'auth', nc: '00000001', cnonce: '0a4f113b',
    });
    assert.equal(got, '6629fae49393a05397450978507c4ef1');
  });

  test('no qop is the RFC 2069 construction H(HA1:nonce:HA2)', () => {
    const ha1 = md5('alice:example.com:secret');
    const got = digestResponse(hasher, { algorithm: 'MD5', ha1, nonce: 'abc', method: 'REGISTER', uri: 'sip:example.com' });
    assert.equal(got, md5(`${ha1}:abc:${md5('REGISTER:sip:example.com')}`));
  });

  test('qop=auth-int hashes the body into HA2', () => {
    const ha1 = md5('alice:example.com:secret');
    const body = new TextEncoder().encode('v=0\r\n');
    const got = digestResponse(hasher, {
      algorithm: 'MD5', ha1, nonce: 'n', method: 'INVITE', uri: 'sip:bob@example.com', qop: 'auth-int', nc: '00000001', cnonce: 'c', body,
    });
    const ha2 = md5(`INVITE:sip:bob@example.com:${md5(body)}`);
    assert.equal(got, md5(`${ha1}:n:00000001:c:auth-int:${ha2}`));
    const empty = digestResponse(hasher, {
      algorithm: 'MD5', ha1, nonce: 'n', method: 'INVITE', uri: 'sip:bob@example.com', qop: 'auth-int', nc: '00000001', cnonce: 'c',
    });
    assert.equal(empty, md5(`${ha1}:n:00000001:c:auth-int:${md5(`INVITE:sip:bob@example.com:${md5('')}`)}`));
  });

  test('-sess variants hash nonce and cnonce into HA1, and need a qop', () => {
    const ha1 = md5('alice:example.com:secret');
    const got = digestResponse(hasher, {
      algorithm: 'MD5-sess', ha1, nonce: 'n', method: 'REGISTER', uri: 'sip:example.com', qop: 'auth', nc: '00000002', cnonce: 'c',
    });
    const sessionHa1 = md5(`${ha1}:n:c`);
    assert.equal(got, md5(`${sessionHa1}:n:00000002:c:auth:${md5('REGISTER:sip:example.com')}`));
    assert.throws(
      () => digestResponse(hasher, { algorithm: 'SHA-256-sess', ha1, nonce: 'n', method: 'REGISTER', uri: 'sip:example.com' }),
      (error: unknown) => error instanceof SipError && error.code === 'auth',
    );
  });

  test('SHA-512-256 is the FIPS 180-4 SHA-512/256', () => {
    assert.equal(hasher.hex('SHA-512-256', 'abc'), '53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23');
  });

  test('algorithm names: absent means MD5, case-insensitive, unknown is undefined; rank orders strength', () => {
    assert.equal(parseDigestAlgorithm(undefined), 'MD5');
    assert.equal(parseDigestAlgorithm('sha-256'), 'SHA-256');
    assert.equal(parseDigestAlgorithm('Sha-512-256-Sess'), 'SHA-512-256-sess');
    assert.equal(parseDigestAlgorithm('AKAv1-MD5'), undefined);
    assert.equal(parseDigestAlgorithm('__proto__'), undefined);
    const order = (['MD5', 'SHA-256-sess', 'SHA-512-256', 'MD5-sess', 'SHA-256', 'SHA-512-256-sess'] as DigestAlgorithm[])
      .sort((a, b) => digestAlgorithmRank(b) - digestAlgorithmRank(a));
    assert.deepEqual(order, ['SHA-512-256', 'SHA-512-256-sess', 'SHA-256', 'SHA-256-sess', 'MD5', 'MD5-sess']);
  });

  test('helpers: nc format, hex, constant-time equality, Request-URI text as written', () => {
    assert.equal(formatNonceCount(1), '00000001');
    assert.equal(formatNonceCount(0x1a2b), '00001a2b');
    assert.deepEqual(hexToBytes('00ff10'), new Uint8Array([0, 255, 16]));
    assert.equal(hexToBytes('0g'), undefined);
    assert.equal(hexToBytes('abc'), undefined);
    assert.equal(bytesToHex(new Uint8Array([0, 255, 16])), '00ff10');
    assert.equal(constantTimeEqual('abcd', 'abcd'), true);
    assert.equal(constantTimeEqual('abcd', 'abce'), false);
    assert.equal(constantTimeEqual('abcd', 'abc'), false);
    assert.equal(requestUriText(register({ uri: 'sip:%61lice@EXAMPLE.com;transport=tcp' })), 'sip:%61lice@EXAMPLE.com;transport=tcp');
  });

  test('formatAuth writes credentials the RFC 7616 way', () => {
    const text = formatAuth({
      scheme: 'Digest',
      params: new Map([
        ['username', 'Mufasa'], ['realm', 'r'], ['nonce', 'n'], ['uri', 'sip:a'], ['response', 'ff'],
        ['algorithm', 'SHA-256'], ['cnonce', 'c'], ['opaque', 'o'], ['qop', 'auth'], ['nc', '00000001'],
      ]),
    });
    assert.equal(text, 'Digest username="Mufasa", realm="r", nonce="n", uri="sip:a", response="ff", algorithm=SHA-256, cnonce="c", opaque="o", qop=auth, nc=00000001');
    const challenge = formatAuth({ scheme: 'Digest', params: new Map([['realm', 'r'], ['nonce', 'n'], ['algorithm', 'MD5'], ['qop', 'auth,auth-int'], ['stale', 'true']]) });
    assert.equal(challenge, 'Digest realm="r", nonce="n", algorithm=MD5, qop="auth,auth-int", stale=true');
  });
});
