import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock, NO_PARAMS, parseUri, type HeaderParams, type TransportAddress } from '@switchboard/sip';
import { bindingTarget, LocationService, type LocationEvents, type RegisterUpdate } from './location-service.js';

const UDP: TransportAddress = { protocol: 'udp', host: '192.0.2.10', port: 5062 };

function contact(uri: string, expiresSeconds = 600, params: HeaderParams = NO_PARAMS) {
  return { uri: parseUri(uri), params, expiresSeconds };
}

function update(overrides: Partial<RegisterUpdate> = {}): RegisterUpdate {
  return {
    user: 'alice',
    callId: 'call-1',
    cseq: 1,
    source: UDP,
    connectionId: undefined,
    contacts: [contact('sip:alice@192.0.2.10:5062')],
    ...overrides,
  };
}

function setup(options: { maxBindingsPerUser?: number; maxBindings?: number } = {}) {
  const clock = new ManualClock(1_000_000);
  const location = new LocationService({ clock, ...options });
  const events: string[] = [];
  const record = <K extends keyof LocationEvents>(name: K) =>
    location.on(name, (event) => {
      const e = event as { binding: { user: string; uri: { type: string } }; reason?: string };
      const uri = parseUriText(e.binding.uri);
      events.push(e.reason === undefined ? `${name} ${uri}` : `${name} ${uri} ${e.reason}`);
    });
  record('added');
  record('updated');
  record('removed');
  return { clock, location, events };
}

function parseUriText(uri: { type: string }): string {
  const sip = uri as unknown as { user?: string; host: string; port?: number };
  return `${sip.user ?? ''}@${sip.host}${sip.port === undefined ? '' : `:${sip.port}`}`;
}

const uris = (location: LocationService, user = 'alice') => location.lookup(user).map((binding) => parseUriText(binding.uri));

describe('LocationService', () => {
  test('hasBindingFrom knows the addresses phones registered from, and forgets them with their bindings', () => {
    const { clock, location } = setup();
    const other: TransportAddress = { ...UDP, port: 5070 };
    assert.equal(location.hasBindingFrom(UDP), false);
    assert.ok(location.update(update({ contacts: [contact('sip:alice@192.0.2.10:5062', 60)] })).ok);
    assert.ok(location.update(update({ user: 'bob', callId: 'call-b', contacts: [contact('sip:bob@192.0.2.10:5062')] })).ok);
    assert.equal(location.hasBindingFrom(UDP), true);
    assert.equal(location.hasBindingFrom(other), false);
    assert.equal(location.hasBindingFrom({ ...UDP, protocol: 'tcp' }), false);
    // alice's binding expires; bob's, from the same address, keeps it known.
    clock.advance(61_000);
    assert.equal(location.hasBindingFrom(UDP), true);
    assert.ok(location.update(update({ user: 'bob', callId: 'call-b', cseq: 2, contacts: [contact('sip:bob@192.0.2.10:5062', 0)] })).ok);
    assert.equal(location.hasBindingFrom(UDP), false);
  });

  test('adds, refreshes and removes bindings; lookup gives the newest first', () => {
    const { clock, location, events } = setup();
    assert.ok(location.update(update()).ok);
    clock.advance(1000);
    assert.ok(location.update(update({ callId: 'call-2', contacts: [contact('sip:alice@192.0.2.11')] })).ok);
    assert.deepEqual(uris(location), ['alice@192.0.2.11', 'alice@192.0.2.10:5062']);
    clock.advance(1000);
    // The first phone refreshes: it becomes the newest.
    assert.ok(location.update(update({ cseq: 2 })).ok);
    assert.deepEqual(uris(location), ['alice@192.0.2.10:5062', 'alice@192.0.2.11']);
    const [first] = location.lookup('alice');
    assert.equal(first!.registeredAt, 1_000_000);
    assert.equal(first!.updatedAt, 1_002_000);
    assert.equal(first!.expiresAt, 1_002_000 + 600_000);
    assert.ok(location.update(update({ cseq: 3, contacts: [contact('sip:alice@192.0.2.10:5062', 0)] })).ok);
    assert.deepEqual(uris(location), ['alice@192.0.2.11']);
    assert.equal(location.size, 1);
    assert.deepEqual(events, [
      'added alice@192.0.2.10:5062',
      'added alice@192.0.2.11',
      'updated alice@192.0.2.10:5062',
      'removed alice@192.0.2.10:5062 unregistered',
    ]);
    assert.deepEqual(location.lookup('bob'), []);
  });

  test('contacts are matched as URIs (RFC 3261 §19.1.4), not as text', () => {
    const { location } = setup();
    location.update(update({ contacts: [contact('sip:alice@Example.COM;transport=udp')] }));
    location.update(update({ callId: 'other', contacts: [contact('sip:alice@example.com;Transport=UDP')] }));
    assert.equal(location.lookup('alice').length, 1);
  });

  test('same Call-ID with a lower CSeq is out of order and changes nothing (§10.3 step 7)', () => {
    const { location, events } = setup();
    location.update(update({ cseq: 5 }));
    const second = update({ cseq: 4, contacts: [contact('sip:alice@192.0.2.12'), contact('sip:alice@192.0.2.10:5062', 0)] });
    assert.deepEqual(location.update(second), { ok: false, reason: 'out-of-order' });
    assert.deepEqual(uris(location), ['alice@192.0.2.10:5062'], 'the new contact of the refused request was not added either');
    // Another Call-ID (the phone restarted) replaces the binding whatever its CSeq.
    assert.ok(location.update(update({ callId: 'restart', cseq: 1 })).ok);
    assert.equal(location.lookup('alice')[0]!.callId, 'restart');
    assert.equal(events.length, 2);
  });

  test('the same Call-ID and CSeq again is a retransmission: answered with the bindings as they are, nothing changed', () => {
    const { clock, location, events } = setup();
    const first = update({ cseq: 5, contacts: [contact('sip:alice@192.0.2.10:5062'), contact('sip:alice@192.0.2.11', 0)] });
    assert.ok(location.update(first).ok);
    const before = location.lookup('alice');
    clock.advance(2_000);
    const again = location.update(first);
    assert.deepEqual(again, { ok: true, bindings: before });
    assert.equal(location.lookup('alice')[0]!.updatedAt, 1_000_000, 'not refreshed by the repeat');
    assert.deepEqual(events, ['added alice@192.0.2.10:5062']);
    // A lower CSeq of that Call-ID is still refused as old.
    location.update(update({ callId: 'call-2', cseq: 1, contacts: [contact('sip:alice@192.0.2.30')] }));
    assert.deepEqual(location.update(update({ callId: 'call-2', cseq: 0, contacts: [contact('sip:alice@192.0.2.30')] })), { ok: false, reason: 'out-of-order' });
  });

  test('`*` removes every binding, unless one has this Call-ID and a CSeq not lower (§10.3 step 6)', () => {
    const { location, events } = setup();
    location.update(update({ callId: 'a', cseq: 3 }));
    location.update(update({ callId: 'b', cseq: 9, contacts: [contact('sip:alice@192.0.2.20')] }));
    assert.deepEqual(location.update(update({ callId: 'a', cseq: 2, contacts: '*' })), { ok: false, reason: 'out-of-order' });
    assert.equal(location.lookup('alice').length, 2);
    assert.ok(location.update(update({ callId: 'a', cseq: 4, contacts: '*' })).ok);
    assert.deepEqual(location.lookup('alice'), []);
    assert.equal(location.size, 0);
    assert.equal(events.filter((e) => e.endsWith('unregistered')).length, 2);
  });

  test('expired bindings are never returned and are swept by the timer', () => {
    const { clock, location, events } = setup();
    location.update(update({ contacts: [contact('sip:alice@192.0.2.10', 60), contact('sip:alice@192.0.2.11', 3600)] }));
    location.update(update({ user: 'bob', contacts: [contact('sip:bob@192.0.2.30', 80)] }));
    clock.advance(59_999);
    assert.equal(location.lookup('alice').length, 2);
    clock.advance(1);
    assert.deepEqual(uris(location), ['alice@192.0.2.11']);
    assert.ok(events.includes('removed alice@192.0.2.10 expired'));
    assert.equal(location.size, 2);
    clock.advance(20_000);
    assert.equal(location.size, 2, 'bob expired at 80 s but is counted until the sweep at 90 s');
    clock.advance(10_000);
    assert.ok(events.includes('removed bob@192.0.2.30 expired'), 'the sweep removed it with no lookup');
    assert.equal(location.size, 1);
    location.close();
    assert.equal(clock.pending, 0, 'close stops the sweep timer');
  });

  test('beyond the per-user bound the least recently refreshed bindings are evicted', () => {
    const { clock, location, events } = setup({ maxBindingsPerUser: 3 });
    for (let i = 1; i <= 3; i++) {
      location.update(update({ callId: `c${i}`, contacts: [contact(`sip:alice@192.0.2.${i}`)] }));
      clock.advance(1000);
    }
    location.update(update({ callId: 'c1', cseq: 2, contacts: [contact('sip:alice@192.0.2.1')] })); // refresh the oldest
    clock.advance(1000);
    location.update(update({ callId: 'c4', contacts: [contact('sip:alice@192.0.2.4')] }));
    assert.deepEqual(uris(location), ['alice@192.0.2.4', 'alice@192.0.2.1', 'alice@192.0.2.3']);
    assert.ok(events.includes('removed alice@192.0.2.2 evicted'));
    const tooMany = [1, 2, 3, 4].map((i) => contact(`sip:alice@198.51.100.${i}`));
    assert.deepEqual(location.update(update({ callId: 'c5', contacts: tooMany })), { ok: false, reason: 'too-many' });
  });

  test('the total bound refuses new bindings once expired ones are gone, but refreshes still pass', () => {
    const { clock, location } = setup({ maxBindings: 2 });
    location.update(update({ user: 'a', contacts: [contact('sip:a@192.0.2.1', 60)] }));
    location.update(update({ user: 'b', contacts: [contact('sip:b@192.0.2.2')] }));
    assert.deepEqual(location.update(update({ user: 'c', contacts: [contact('sip:c@192.0.2.3')] })), { ok: false, reason: 'full' });
    assert.ok(location.update(update({ user: 'b', cseq: 2, contacts: [contact('sip:b@192.0.2.2')] })).ok, 'a refresh does not grow');
    clock.advance(60_000);
    assert.ok(location.update(update({ user: 'c', contacts: [contact('sip:c@192.0.2.3')] })).ok, 'a\'s expired binding made room');
    assert.deepEqual([...location.users()].sort(), ['b', 'c']);
  });

  test('a URI listed twice in one request: the later entry wins and is one addition', () => {
    const { location, events } = setup();
    const result = location.update(update({ contacts: [contact('sip:alice@192.0.2.1', 600), contact('sip:alice@192.0.2.1', 300)] }));
    assert.ok(result.ok);
    assert.equal(location.lookup('alice').length, 1);
    assert.equal(location.lookup('alice')[0]!.expiresAt, 1_000_000 + 300_000);
    assert.deepEqual(events, ['added alice@192.0.2.1']);
    location.update(update({ cseq: 2, contacts: [contact('sip:alice@192.0.2.1', 600), contact('sip:alice@192.0.2.1', 0)] }));
    assert.deepEqual(location.lookup('alice'), []);
    assert.deepEqual(events.slice(1), ['removed alice@192.0.2.1 unregistered']);
  });

  test('flows: a closed WebSocket takes its bindings along; TCP bindings stay, reachable at their Contact', () => {
    const { location, events } = setup();
    const ws: TransportAddress = { protocol: 'ws', host: '192.0.2.40', port: 40000 };
    const tcp: TransportAddress = { protocol: 'tcp', host: '192.0.2.41', port: 41000 };
    const instance = new Map([['+sip.instance', '"<urn:uuid:0c3a9e1e-1>"'], ['reg-id', '1']]);
    location.update(update({ source: ws, connectionId: 'ws-1-1', contacts: [contact('sip:k3j9@df7jal23ls0d.invalid;transport=ws', 600, instance)] }));
    location.update(update({ callId: 'tcp', source: tcp, connectionId: 'tcp-1-1', contacts: [contact('sip:alice@192.0.2.41:5070;transport=tcp')] }));
    location.update(update({ user: 'bob', callId: 'tcp-bob', source: tcp, connectionId: 'tcp-1-1', contacts: [contact('sip:bob@192.0.2.41:5070;transport=tcp')] }));
    const [tcpBinding, wsBinding] = location.lookup('alice');
    assert.equal(wsBinding!.instanceId, '<urn:uuid:0c3a9e1e-1>');
    assert.equal(wsBinding!.regId, 1);
    assert.deepEqual(bindingTarget(wsBinding!), { destination: ws, connectionId: 'ws-1-1' });
    assert.deepEqual(bindingTarget(tcpBinding!), { destination: tcp, connectionId: 'tcp-1-1' });

    location.connectionClosed('ws-1-1');
    assert.deepEqual(uris(location), ['alice@192.0.2.41:5070']);
    assert.ok(events.includes('removed k3j9@df7jal23ls0d.invalid flow-closed'));
    location.connectionClosed('tcp-1-1');
    const detached = location.lookup('alice')[0]!;
    assert.equal(detached.connectionId, undefined);
    assert.deepEqual(bindingTarget(detached), { destination: { protocol: 'tcp', host: '192.0.2.41', port: 5070 }, connectionId: undefined });
    assert.equal(location.lookup('bob')[0]!.connectionId, undefined, 'every user on the connection');
    assert.equal(bindingTarget({ ...wsBinding!, connectionId: undefined }), undefined, 'a WebSocket phone without its connection is unreachable');
    // UDP: back to the address the REGISTER came from (the NAT binding), whatever the Contact says.
    location.update(update({ user: 'carol', contacts: [contact('sip:carol@10.0.0.5:5060')] }));
    assert.deepEqual(bindingTarget(location.lookup('carol')[0]!), { destination: UDP, connectionId: undefined });
  });

  test('options are checked', () => {
    const clock = new ManualClock();
    assert.throws(() => new LocationService({ clock, maxBindingsPerUser: 0 }), { code: 'invalid-argument' });
    assert.throws(() => new LocationService({ clock, maxBindings: 1.5 }), { code: 'invalid-argument' });
  });
});
