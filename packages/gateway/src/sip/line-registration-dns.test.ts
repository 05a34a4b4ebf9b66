import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock, parseMessage, parseUri, SipRequest, UserAgent, type Clock, type DnsResolver, type TransportAddress, type TransportProtocol } from '@switchboard/sip';
import { LineRegistration, type LineRegistrationOptions } from './line-registration.js';
import { LineRegistrations } from './line-registrations.js';
import { PbxServers } from './pbx-servers.js';
import { harness, idRandom, PBX, type Harness } from './test-support/line-pbx.js';
import { MemoryZone } from './test-support/memory-zone.js';

/** Nothing listens here until a test says so: datagrams to it vanish. */
const FIRST: TransportAddress = { protocol: 'udp', host: '127.0.0.9', port: 5060 };
const SECOND: TransportAddress = { protocol: 'udp', host: '127.0.0.4', port: 5060 };

/** `pbx.example` with SRV records for UDP naming `servers` in order of priority. */
function zoneOf(...servers: TransportAddress[]): MemoryZone {
  const zone = new MemoryZone();
  zone.srvs.set('_sip._udp.pbx.example', servers.map((server, i) => ({ priority: 10 * (i + 1), weight: 0, port: server.port, name: `s${i}.pbx.example` })));
  servers.forEach((server, i) => zone.hosts.set(`s${i}.pbx.example`, [server.host]));
  return zone;
}

/** The servers of `uri` (default `sip:pbx.example`) for a UDP-only gateway. */
function serversOf(resolver: DnsResolver, clock: Clock, uri = 'sip:pbx.example', transports: TransportProtocol[] = ['udp']): PbxServers {
  return new PbxServers({ uri: parseUri(uri), resolver, transports, clock, random: idRandom });
}

function byName(h: Harness, zone: MemoryZone, options: Partial<LineRegistrationOptions> = {}): LineRegistration {
  const servers = serversOf(zone, h.clock);
  return new LineRegistration({ ua: h.ua, line: h.line({ registrar: 'sip:pbx.example' }), logger: h.logger, clock: h.clock, random: () => 0, servers, ...options });
}

function registers(h: Harness, to?: TransportAddress): SipRequest[] {
  return h.network.requests('REGISTER', to).map((d) => parseMessage(d.text) as SipRequest);
}

/** A server of the PBX that answers every request with `status`. */
function answering(h: Harness, address: TransportAddress, status: number): UserAgent {
  const ua = new UserAgent({ transports: [h.network.transport(address)], clock: h.clock, random: idRandom });
  ua.on('request', (incoming) => incoming.respond(status));
  return ua;
}

describe('LineRegistration with servers found through DNS (RFC 3263)', () => {
  test('a silent first server: the REGISTER moves on after the probe timeout; the server that took the binding keeps it until it fails', async () => {
    const h = harness();
    const line = byName(h, zoneOf(FIRST, PBX));
    line.start();
    await h.advance(4_750);
    assert.equal(line.state, 'registering');
    assert.ok(registers(h, FIRST).length >= 3, 'the first server got the REGISTER and its retransmissions');
    assert.equal(registers(h, PBX).length, 0, 'nothing to the second before the first had its time');
    await h.advance(500);
    assert.equal(line.state, 'registered');
    assert.deepEqual(line.server, PBX);
    const [first] = registers(h, FIRST);
    const atSecond = registers(h, PBX);
    assert.equal(atSecond[0]!.callId, first!.callId, 'one Call-ID for the line, whichever server');
    assert.ok(atSecond[0]!.cseq!.seq > first!.cseq!.seq, 'the CSeq counts on across servers');
    assert.ok(h.logs.some((l) => l.includes('trying the next')));

    // The preferred server comes back: the binding stays where it is, refreshes and probes with it.
    h.server(FIRST);
    const firstBefore = registers(h, FIRST).length;
    await h.advance(490_000, 5_000);
    assert.ok(registers(h, PBX).length > atSecond.length, 'refreshed');
    assert.equal(registers(h, FIRST).length, firstBefore, 'no REGISTER to the other server while the binding holds');
    assert.ok(h.network.requests('OPTIONS', PBX).length > 0);
    assert.equal(h.network.requests('OPTIONS', FIRST).length, 0);

    // The binding's server goes silent: the retry looks the servers up again and takes the preferred one.
    h.network.filter = (d) => d.to.host !== PBX.host;
    const silentAt = h.clock.now();
    while (line.server?.host !== FIRST.host && h.clock.now() - silentAt < 60_000) await h.advance(250);
    assert.deepEqual(line.server, FIRST, `registered with the preferred server ${h.clock.now() - silentAt} ms after the other went silent`);

    const stopping = line.stop();
    await h.flush();
    await stopping;
    const last = registers(h).at(-1)!;
    assert.equal(last.parsed('expires'), 0);
    assert.equal(h.network.log.at(-2)?.to.host, FIRST.host, 'unregistered at the server holding the binding');
  });

  test('a refused connection and a 503 move on at once, with a higher CSeq each time', async () => {
    const h = harness();
    h.network.refusing.add(FIRST.host);
    answering(h, SECOND, 503);
    const line = byName(h, zoneOf(FIRST, SECOND, PBX));
    line.start();
    await h.flush();
    assert.equal(line.state, 'registered');
    assert.deepEqual(line.server, PBX);
    assert.equal(registers(h, SECOND).length, 1);
    const seqs = registers(h).map((r) => r.cseq!.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    assert.equal(new Set(seqs).size, seqs.length, 'no CSeq used twice');
  });

  test('any other answer is the answer: a 404 from the first server is not taken to the next', async () => {
    const h = harness();
    answering(h, FIRST, 404);
    const line = byName(h, zoneOf(FIRST, PBX));
    line.start();
    await h.flush();
    assert.equal(line.state, 'failed');
    assert.equal(line.lineState.sipStatus, 404);
    assert.equal(registers(h, PBX).length, 0);
    assert.equal(line.server, undefined);
  });

  test('only no answer, no connection or 503 move on: a 500 or a 408 from the first server is the answer', async () => {
    for (const status of [500, 408]) {
      const h = harness();
      answering(h, FIRST, status);
      const line = byName(h, zoneOf(FIRST, PBX));
      line.start();
      await h.flush();
      assert.equal(line.state, 'unregistered', String(status));
      assert.equal(line.lineState.sipStatus, status);
      assert.equal(registers(h, PBX).length, 0, `nothing to the next server after ${status}`);
    }
  });

  test('a server that answers 100 Trying is given the transaction\'s own time, not the 5 s of a silent one', async () => {
    const h = harness();
    const trying = h.network.transport(FIRST);
    trying.on('message', ({ message, source }) => {
      if (message instanceof SipRequest) void trying.send(message.createResponse(100), source);
    });
    const line = byName(h, zoneOf(FIRST, PBX));
    line.start();
    await h.advance(10_000);
    assert.equal(line.state, 'registering');
    assert.equal(registers(h, PBX).length, 0, 'still waiting for the server that answered');
    await h.advance(25_000);
    assert.deepEqual(line.server, PBX, 'moved on after Timer F (64 T1 = 32 s)');
  });

  test('a refresh stays with the server holding the binding: its 503 makes the line unregistered, not registered elsewhere', async () => {
    const h = harness();
    answering(h, SECOND, 503);
    const line = byName(h, zoneOf(PBX, SECOND));
    line.start();
    await h.flush();
    assert.deepEqual(line.server, PBX);
    h.answer = () => ({ status: 503 });
    while (line.state !== 'unregistered' && h.clock.now() < 1_000_000 + 600_000) await h.advance(1_000, 1_000);
    assert.deepEqual(line.lineState, { state: 'unregistered', reason: 'PBX answered 503 Service Unavailable', sipStatus: 503 });
    assert.equal(registers(h, SECOND).length, 0, 'the refresh did not fail over');
  });

  test('stop() during the look-up: its answer is nobody\'s, nothing is sent', async () => {
    const h = harness();
    const zone = zoneOf(PBX);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = { naptr: (n: string) => gate.then(() => zone.naptr(n)), srv: (n: string) => zone.srv(n), addresses: (n: string) => zone.addresses(n) };
    const servers = serversOf(slow, h.clock);
    const line = byName(h, zone, { servers });
    line.start();
    await h.flush();
    await line.stop();
    release();
    await h.advance(20_000);
    assert.equal(line.state, 'stopped');
    assert.equal(h.network.log.length, 0);
  });

  test('a look-up that never ends is given up after 120 s; the retries wait for it instead of piling up', async () => {
    const h = harness();
    const zone = zoneOf(PBX);
    let finish!: () => void;
    const hung = new Promise<void>((resolve) => (finish = resolve));
    let asked = 0;
    const stuck = { naptr: (n: string) => zone.naptr(n), srv: (n: string) => zone.srv(n), addresses: (n: string) => (asked++, hung.then(() => zone.addresses(n))) };
    const servers = serversOf(stuck, h.clock);
    const line = byName(h, zone, { servers });
    line.start();
    await h.advance(119_750, 1_000);
    assert.equal(line.state, 'registering');
    await h.advance(500);
    assert.deepEqual(line.lineState, { state: 'unregistered', reason: 'PBX not found in DNS' });
    await h.advance(300_000, 5_000);
    assert.equal(asked, 1, 'one look-up running, however many retries');
    finish();
    await h.advance(10_000);
    assert.deepEqual(line.server, PBX);
  });

  test('a challenged REGISTER has its own 5 s: a server that challenges, then falls silent, is left after 5 s', async () => {
    const h = harness();
    h.server(FIRST);
    h.network.filter = (d) => !(d.to.host === FIRST.host && /^Authorization:/m.test(d.text));
    const line = byName(h, zoneOf(FIRST, PBX));
    line.start();
    await h.flush();
    assert.equal(registers(h, FIRST).length >= 2, true, 'challenged, then asked again with credentials');
    await h.advance(5_250);
    assert.deepEqual(line.server, PBX);
  });

  test('a URI no look-up can use fails the line with a config reason instead of asking DNS again and again', async () => {
    const h = harness();
    const line = byName(h, new MemoryZone(), { servers: serversOf(new MemoryZone(), h.clock, 'sip:a..b') });
    line.start();
    await h.flush();
    assert.deepEqual(line.lineState, { state: 'failed', reason: 'PBX address not usable' });
    assert.ok(h.logs.some((l) => l.includes('not a host name')));
  });

  test('a server on a transport the gateway lacks is unreachable, and the line retries', async () => {
    const h = harness();
    const config = h.line({ registrar: `sip:${PBX.host};transport=tcp` });
    const line = new LineRegistration({ ua: h.ua, line: config, logger: h.logger, clock: h.clock, random: () => 0, servers: h.servers(config.pbx) });
    line.start();
    await h.flush();
    assert.deepEqual(line.lineState, { state: 'unregistered', reason: 'PBX unreachable' });
    assert.ok(h.logs.some((l) => l.includes('no tcp transport')));
    const failures = h.logs.filter((l) => l.includes('line registration failed')).length;
    await h.advance(5_000);
    assert.ok(h.logs.filter((l) => l.includes('line registration failed')).length > failures, 'retried');
    await line.stop();
  });

  test('a name DNS does not know: "PBX not found in DNS", no probe to nowhere, registered once DNS has it', async () => {
    const h = harness();
    const zone = new MemoryZone();
    const line = byName(h, zone);
    line.start();
    await h.flush();
    assert.deepEqual(line.lineState, { state: 'unregistered', reason: 'PBX not found in DNS' });
    assert.ok(h.logs.some((l) => l.includes('line registration failed') && l.includes('pbx.example')), 'the DNS error is in the log');
    await h.advance(16_000);
    assert.equal(h.network.log.length, 0, 'nothing sent while no server is known');
    zone.hosts.set('pbx.example', [PBX.host]);
    const fixedAt = h.clock.now();
    while (line.state !== 'registered' && h.clock.now() - fixedAt < 30_000) await h.advance(250);
    assert.equal(line.state, 'registered');
    assert.deepEqual(line.server, PBX, 'the host itself at 5060 when it has no SRV records');
    await line.stop();
  });

  test('a DNS failure for an SRV name is not "no servers": nothing is sent to the bare name', async () => {
    const h = harness();
    const zone = zoneOf(PBX);
    zone.hosts.set('pbx.example', [PBX.host]);
    zone.failing.add('_sip._udp.pbx.example');
    const line = byName(h, zone);
    line.start();
    await h.flush();
    assert.deepEqual(line.lineState, { state: 'unregistered', reason: 'PBX not found in DNS' });
    assert.equal(h.network.log.length, 0);
  });
});

describe('PbxServers', () => {
  test('one look-up for callers at once; its answer kept 60 s, a failure 5 s', async () => {
    const clock = new ManualClock(0);
    const zone = zoneOf(PBX);
    const servers = serversOf(zone, clock);
    const [a, b] = await Promise.all([servers.locate(), servers.locate()]);
    assert.deepEqual(a, [PBX]);
    assert.equal(a, b, 'the same answer');
    const perLookUp = zone.queries;
    clock.advance(59_999);
    await servers.locate();
    assert.equal(zone.queries, perLookUp);
    clock.advance(1);
    await servers.locate();
    assert.equal(zone.queries, 2 * perLookUp);

    zone.failing.add('_sip._udp.pbx.example');
    clock.advance(60_000);
    await assert.rejects(servers.locate(), { code: 'dns' });
    const afterFailure = zone.queries;
    clock.advance(4_999);
    await assert.rejects(servers.locate(), { code: 'dns' });
    assert.equal(zone.queries, afterFailure, 'a failure is the answer for 5 s');
    zone.failing.clear();
    clock.advance(1);
    assert.deepEqual(await servers.locate(), [PBX]);
  });

  test('a clock that went back: the cached answer is not used', async () => {
    let now = 100_000;
    const clock = { now: () => now, setTimeout: (f: () => void, ms: number) => setTimeout(f, ms), clearTimeout: (t: unknown) => clearTimeout(t as NodeJS.Timeout) } as never;
    const zone = zoneOf(PBX);
    const servers = serversOf(zone, clock);
    await servers.locate();
    const once = zone.queries;
    await servers.locate();
    assert.equal(zone.queries, once, 'cached');
    now -= 1;
    await servers.locate();
    assert.equal(zone.queries, 2 * once, 'asked again');
  });

  test('TLS targets are names: their addresses are looked up too and known as the PBX\'s', async () => {
    const clock = new ManualClock(0);
    const zone = new MemoryZone();
    zone.srvs.set('_sips._tcp.pbx.example', [{ priority: 10, weight: 0, port: 5061, name: 'tls.pbx.example' }]);
    zone.hosts.set('tls.pbx.example', ['192.0.2.10', '2001:DB8::A']);
    const servers = serversOf(zone, clock, 'sips:pbx.example', ['udp', 'tcp', 'tls']);
    assert.deepEqual(await servers.locate(), [{ protocol: 'tls', host: 'tls.pbx.example', port: 5061, serverName: 'pbx.example' }]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(servers.isServer('192.0.2.10'), true);
    assert.equal(servers.isServer('2001:db8::a'), true, 'without case');
    assert.equal(servers.isServer('192.0.2.11'), false);
  });

  test('remembers the addresses it found, at most 64, the oldest forgotten first', async () => {
    const clock = new ManualClock(0);
    const zone = new MemoryZone();
    const servers = serversOf(zone, clock);
    assert.equal(servers.isServer(PBX.host), false);
    for (let i = 0; i < 10; i++) {
      zone.hosts.set('pbx.example', Array.from({ length: 8 }, (_, j) => `10.0.${i}.${j}`));
      await servers.locate();
      clock.advance(60_000);
    }
    assert.equal(servers.isServer('10.0.9.7'), true);
    assert.equal(servers.isServer('10.0.2.0'), true);
    assert.equal(servers.isServer('10.0.1.7'), false, 'pushed out by 64 newer ones');
    assert.equal(servers.isServer('10.0.10.0'), false);
  });
});

describe('LineRegistrations and DNS', () => {
  test('the lines of one PBX share its look-up; where each is registered and which addresses are the PBX\'s', async () => {
    const h = harness();
    const zone = zoneOf(FIRST, PBX);
    h.network.refusing.add(FIRST.host);
    const a = h.line({ registrar: 'sip:pbx.example' });
    const b = h.line({ registrar: 'sip:pbx.example' }, { operatorId: 'op-2', user: '1002', authUser: '1002' });
    const registrations = new LineRegistrations({ ua: h.ua, lines: [a, b], logger: h.logger, clock: h.clock, random: () => 0.5, resolver: zone });
    registrations.start();
    await h.flush();
    assert.equal(zone.queries, 4, 'NAPTR, SRV for UDP, then the two SRV targets\' addresses: once for both lines');
    assert.deepEqual(registrations.serverOf('op-1'), PBX);
    assert.equal(registrations.serverOf('op-2'), undefined, 'the PBX refused 1002: not registered anywhere');
    assert.equal(registrations.isPbxServer('main', PBX.host), true);
    assert.equal(registrations.isPbxServer('main', FIRST.host), true, 'any server DNS named for the PBX');
    assert.equal(registrations.isPbxServer('main', '127.0.0.1'), false);
    assert.equal(registrations.isPbxServer('other', PBX.host), false);
    await registrations.close();
  });
});
