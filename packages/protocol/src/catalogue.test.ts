import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import {
  CALL_END_CAUSES,
  CLOSE_CODE_MAX,
  CLOSE_CODE_MIN,
  CLOSE_REASONS,
  EVENT_TYPES,
  REQUEST_TYPES,
  RESERVED_TYPES,
  causeFromSipStatus,
  closeCode,
  closeReason,
  parseClientMessage,
  parseServerMessage,
  type CloseReason,
} from './index.js';

const src = new URL('.', import.meta.url);

test('close codes are unique, in the application range, and map back to their reason', () => {
  const reasons = Object.keys(CLOSE_REASONS) as CloseReason[];
  const codes = reasons.map(closeCode);
  assert.equal(new Set(codes).size, codes.length);
  for (const reason of reasons) {
    const code = closeCode(reason);
    assert.ok(code >= CLOSE_CODE_MIN && code <= CLOSE_CODE_MAX, reason);
    assert.equal(closeReason(code), reason);
  }
  for (const reason of ['token-invalid', 'token-expired', 'token-audience', 'token-tampered', 'protocol-unsupported', 'too-many-messages', 'superseded', 'server-shutdown']) {
    assert.ok(reasons.includes(reason as CloseReason), reason);
  }
  assert.equal(closeReason(1000), undefined);
  assert.equal(closeReason(4999), undefined);
});

test('SIP final responses map to end causes, and each cause names the status it sends', () => {
  const table: [number, string][] = [
    [486, 'busy'], [600, 'busy'], [603, 'declined'], [408, 'no-answer'], [480, 'unavailable'], [503, 'unavailable'],
    [404, 'not-found'], [484, 'not-found'], [604, 'not-found'], [487, 'cancelled'], [500, 'failed'], [403, 'failed'],
  ];
  for (const [status, cause] of table) assert.equal(causeFromSipStatus(status), cause, String(status));
  assert.equal(CALL_END_CAUSES.declined.sipStatus, 603);
  assert.equal(CALL_END_CAUSES.busy.sipStatus, 486);
  assert.equal(CALL_END_CAUSES.cancelled.sipStatus, 487);
  const claimed = Object.values(CALL_END_CAUSES).flatMap((c) => [...c.fromSip]);
  assert.equal(new Set(claimed).size, claimed.length, 'no status maps to two causes');
});

test('reserved names stay unused', () => {
  for (const name of RESERVED_TYPES) {
    assert.ok(!(REQUEST_TYPES as string[]).includes(name) && !(EVENT_TYPES as string[]).includes(name), name);
  }
});

test('the package imports nothing but itself and TypeBox, and never its compiler', () => {
  const offenders: string[] = [];
  for (const name of readdirSync(src)) {
    if (!name.endsWith('.ts') || name.endsWith('.test.ts')) continue;
    const code = readFileSync(new URL(name, src), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    for (const match of code.matchAll(/from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const specifier = match[1] ?? match[2]!;
      const allowed = specifier.startsWith('./') || /^@sinclair\/typebox(\/(errors|value))?$/.test(specifier);
      if (!allowed) offenders.push(`${name} imports ${specifier}`);
    }
    const global = /\b(?:window|document|navigator|process|Buffer|require|TextEncoder)\s*[.(]|new Function|\beval\s*\(/.exec(code);
    if (global) offenders.push(`${name} uses ${global[0]}`);
  }
  assert.deepEqual(offenders, []);
});

test('every JSON example in docs/protocol.md is a valid message, and every message has one', () => {
  const doc = readFileSync(new URL('../../../docs/protocol.md', src), 'utf8');
  const blocks = [...doc.matchAll(/```jsonc?\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const seen = new Set<string>();
  let replies = 0;
  for (const block of blocks) {
    for (const line of block.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('//'))) {
      const client = parseClientMessage(line);
      const server = parseServerMessage(line);
      assert.ok(client.ok || server.ok, `${line}\n${JSON.stringify(client.ok ? '' : client.error)}\n${JSON.stringify(server.ok ? '' : server.error)}`);
      if (client.ok) seen.add(`>${client.message.type}`);
      if (server.ok && 'type' in server.message) seen.add(`<${server.message.type}`);
      else if (server.ok) replies++;
    }
  }
  for (const type of REQUEST_TYPES) assert.ok(seen.has(`>${type}`), `no example of ${type}`);
  for (const type of EVENT_TYPES) assert.ok(seen.has(`<${type}`), `no example of ${type}`);
  assert.ok(replies > 5);
});
