import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LineState } from '@switchboard/protocol';
import { LineRegistrationError } from './line-registration.js';
import { LineRegistrations } from './line-registrations.js';
import { harness, PASSWORD, PBX, type Harness } from './test-support/line-pbx.js';

function lines(h: Harness) {
  const a = h.line();
  const b = h.line({}, { operatorId: 'op-2', user: '1002', authUser: '1002' });
  return [a, b, { mode: 'local', operatorId: 'op-3' } as const];
}

function manager(h: Harness, configured = lines(h)) {
  const registrations = new LineRegistrations({ ua: h.ua, lines: configured, logger: h.logger, clock: h.clock, random: () => 0.5 });
  const events: { operatorId: string; state: LineState }[] = [];
  registrations.on('line-state', (event) => events.push(event));
  return { registrations, events };
}

describe('LineRegistrations', () => {
  test('one registration per PBX line; a line-state event per change of what the tabs show, not per refresh', async () => {
    const h = harness();
    h.grant = 120;
    // The PBX knows 1001 only: 1002 is refused.
    const { registrations, events } = manager(h);
    registrations.start();
    await h.flush();
    assert.deepEqual(registrations.stateOf('op-1'), { state: 'registered' });
    assert.equal(registrations.stateOf('op-2')?.state, 'failed');
    assert.equal(registrations.stateOf('op-3'), undefined, 'a local line has no PBX registration');
    assert.deepEqual(events.filter((e) => e.operatorId === 'op-1').map((e) => e.state), [
      { state: 'unregistered', reason: 'Registering' },
      { state: 'registered' },
    ]);
    assert.deepEqual(events.filter((e) => e.operatorId === 'op-2').map((e) => e.state.state), ['unregistered', 'failed']);
    const before = events.length;
    await h.advance(600_000, 5_000);
    assert.ok(h.network.requests('REGISTER', PBX).filter((d) => d.text.includes('sip:1001@')).length > 4, 'refreshed meanwhile');
    assert.equal(events.length, before, 'refreshes and retries that change nothing are not pushed');
    for (const event of events) assert.equal(JSON.stringify(event).includes(PASSWORD), false);
    await registrations.close();
  });

  test('maps an operator to the line and a Request-URI user back to the operator', () => {
    const h = harness();
    const { registrations } = manager(h);
    assert.equal(registrations.lineFor('op-2')?.user, '1002');
    assert.equal(registrations.lineFor('op-3'), undefined);
    assert.equal(registrations.operatorForUser('main', '1001'), 'op-1');
    assert.equal(registrations.operatorForUser('main', '1002'), 'op-2');
    assert.equal(registrations.operatorForUser('other', '1001'), undefined);
    assert.equal(registrations.operatorForUser('main', '9999'), undefined);
    assert.deepEqual(registrations.linesForUser('1002').map((line) => line.operatorId), ['op-2']);
    const contact = registrations.registrationOf('op-2')?.contact.uri;
    assert.equal(contact?.type === 'sip' && contact.user, '1002', 'INVITEs to our Contact carry the user the mapping reads');
  });

  test('a user at two PBXs: both lines are found, and the PBX named picks one', () => {
    const h = harness();
    const a = h.line();
    const b = h.line({ name: 'branch', registrar: 'sip:127.0.0.9:5060' }, { operatorId: 'op-2' });
    const { registrations } = manager(h, [a, b]);
    assert.equal(registrations.operatorForUser('main', '1001'), 'op-1');
    assert.equal(registrations.operatorForUser('branch', '1001'), 'op-2');
    assert.deepEqual(registrations.linesForUser('1001').map((line) => line.operatorId), ['op-1', 'op-2']);
    assert.ok(h.logs.some((l) => l.includes('one SIP user at several PBXs')));
  });

  test('two operators on one account of one PBX are refused', () => {
    const h = harness();
    const a = h.line();
    const b = h.line({}, { operatorId: 'op-2' });
    assert.throws(() => manager(h, [a, b]), (error: unknown) => error instanceof LineRegistrationError && error.code === 'invalid-config');
  });

  test('close() unregisters every registered line and stops pushing events', async () => {
    const h = harness();
    const { registrations, events } = manager(h);
    registrations.start();
    await h.flush();
    const before = events.length;
    const closing = registrations.close();
    await h.flush();
    await closing;
    const unregisters = h.network.requests('REGISTER', PBX).filter((d) => /\r\nExpires: 0\r\n/.test(d.text));
    assert.equal(unregisters.length, 2, 'the unregistration of 1001 (challenged once, then authenticated)');
    assert.ok(unregisters.every((d) => d.text.includes('sip:1001@')), 'the failed line had no binding to remove');
    assert.equal(events.length, before);
    assert.equal(registrations.registrationOf('op-1')?.state, 'stopped');
    assert.throws(() => registrations.start(), (error: unknown) => error instanceof LineRegistrationError && error.code === 'invalid-state');
  });
});
