import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { IceServerSchema } from '@switchboard/protocol';
import { Secret } from '../config/secret.js';
import { iceServersFor, turnCredentials } from './turn.js';

test('TURN REST credentials: a known vector', () => {
  // echo -n "1700000000:101" | openssl dgst -sha1 -hmac "turn-shared-secret-123" -binary | base64
  const credentials = turnCredentials({ secret: 'turn-shared-secret-123', operatorId: '101', ttlSeconds: 3600, now: 1_699_996_400_000 });
  assert.deepEqual(credentials, {
    username: '1700000000:101',
    credential: 'AjMIxmollheCiz/ssJEpVtbqD94=',
    expiresAt: 1_700_000_000_000,
  });
});

test('the expiry is whole seconds from now plus the ttl', () => {
  const { username, expiresAt } = turnCredentials({ secret: new Secret('s'.repeat(16), 'test'), operatorId: 'op-17', ttlSeconds: 60, now: 1_000_999 });
  assert.equal(username, '1060:op-17');
  assert.equal(expiresAt, 1_060_000);
});

test('operator ids that would break the username are refused', () => {
  assert.throws(() => turnCredentials({ secret: 'x', operatorId: 'a:b', ttlSeconds: 60 }), RangeError);
});

test('iceServersFor: STUN as configured, TURN with fresh credentials, both valid protocol values', () => {
  const ice = {
    stun: ['stun:127.0.0.1:3478'],
    turn: { urls: ['turn:127.0.0.1:3478?transport=udp', 'turns:127.0.0.1:5349'], secret: new Secret('turn-shared-secret-123', 'test'), ttlSeconds: 3600 },
  };
  const servers = iceServersFor(ice, '101', 1_699_996_400_000);
  assert.deepEqual(servers, [
    { urls: ['stun:127.0.0.1:3478'] },
    {
      urls: ['turn:127.0.0.1:3478?transport=udp', 'turns:127.0.0.1:5349'],
      username: '1700000000:101',
      credential: 'AjMIxmollheCiz/ssJEpVtbqD94=',
      credentialExpiresAt: 1_700_000_000_000,
    },
  ]);
  for (const server of servers) assert.ok(Value.Check(IceServerSchema, server));
  assert.deepEqual(iceServersFor({ stun: [], turn: undefined }, '101'), []);
});
