import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Random } from '../clock.js';
import { SipError } from '../errors.js';
import { parseUri } from '../message/uri.js';
import type { TransportAddress } from '../transport/transport.js';
import { addressOfUri } from '../ua/next-hop.js';
import { isNumericHost, locateSipServers, MAX_TARGETS, orderSrv, type DnsResolver, type NaptrRecord, type SrvRecord } from './sip-server-locator.js';

/** A zone in memory: names to records; a name listed in `failing` makes every query of it fail. */
interface Zone {
  naptr?: Record<string, NaptrRecord[]>;
  srv?: Record<string, SrvRecord[]>;
  addresses?: Record<string, string[]>;
  failing?: string[];
}

function fakeDns(zone: Zone): DnsResolver & { queries: string[] } {
  const queries: string[] = [];
  const answer = <T>(type: string, table: Record<string, T[]> | undefined, name: string): Promise<T[]> => {
    queries.push(`${type} ${name}`);
    if (zone.failing?.includes(name)) return Promise.reject(new SipError('dns', `${type} lookup of ${name} failed (ETIMEOUT)`));
    // Names in DNS are without case (RFC 4343).
    return Promise.resolve(table?.[name.toLowerCase()] ?? []);
  };
  return {
    queries,
    naptr: (name) => answer('NAPTR', zone.naptr, name),
    srv: (name) => answer('SRV', zone.srv, name),
    addresses: (name) => answer('A', zone.addresses, name),
  };
}

/** Random bytes all equal to `byte`: 0 draws the first candidate, 255 the last. */
const fixed = (byte: number): Random => ({ bytes: (n) => new Uint8Array(n).fill(byte) });
const naptr = (order: number, preference: number, service: string, replacement: string, flags = 's'): NaptrRecord =>
  ({ order, preference, flags, service, regexp: '', replacement });
const srv = (priority: number, weight: number, port: number, name: string): SrvRecord => ({ priority, weight, port, name });
const show = (targets: TransportAddress[]) => targets.map((t) => `${t.protocol} ${t.host}:${t.port}`);

async function locate(uri: string, zone: Zone, options: { random?: Random; transports?: ('udp' | 'tcp' | 'tls' | 'ws' | 'wss')[] } = {}) {
  const resolver = fakeDns(zone);
  const found = await locateSipServers(parseUri(uri), { resolver, random: options.random ?? fixed(0), ...(options.transports ? { transports: options.transports } : {}) });
  return { targets: show(found), queries: resolver.queries, found };
}

describe('locateSipServers (RFC 3263 §4)', () => {
  const zone: Zone = {
    naptr: {
      'example.com': [
        naptr(50, 50, 'SIP+D2U', '_sip._udp.example.com'),
        naptr(90, 50, 'SIP+D2T', '_sip._tcp.example.com.'),
        naptr(50, 10, 'SIPS+D2T', '_sips._tcp.example.com'),
        naptr(10, 10, 'E2U+sip', '!^.*$!sip:info@example.com!', 'u'),
      ],
    },
    srv: {
      '_sip._udp.example.com': [srv(20, 0, 5060, 'backup.example.com.'), srv(10, 0, 5070, 'pbx.example.com.')],
      '_sip._tcp.example.com': [srv(10, 0, 5060, 'pbx.example.com')],
      '_sips._tcp.example.com': [srv(10, 0, 5061, 'pbx.example.com')],
    },
    addresses: { 'pbx.example.com': ['192.0.2.10', '2001:db8::10'], 'backup.example.com': ['192.0.2.20'], 'example.com': ['192.0.2.1'] },
  };

  test('a numeric host needs no DNS: the URI\'s port and transport, or the defaults', async () => {
    for (const [uri, expected] of [
      ['sip:1001@192.0.2.5', 'udp 192.0.2.5:5060'],
      ['sip:192.0.2.5:5070;transport=TCP', 'tcp 192.0.2.5:5070'],
      ['sips:[2001:db8::1]', 'tls 2001:db8::1:5061'],
      ['sip:[2001:db8::1];transport=ws', 'ws 2001:db8::1:80'],
      ['sip:x@example.com;maddr=192.0.2.9', 'udp 192.0.2.9:5060'],
      ['sips:192.0.2.5;transport=tcp', 'tls 192.0.2.5:5061'],
      ['sips:192.0.2.5;transport=ws', 'wss 192.0.2.5:443'],
    ] as const) {
      const { targets, queries } = await locate(uri, zone);
      assert.deepEqual(targets, [expected], uri);
      assert.deepEqual(queries, [], uri);
      // The choice without DNS (ua/next-hop.ts) is the same one: a SIPS URI never goes over an unprotected hop.
      assert.deepEqual(show([addressOfUri(parseUri(uri))]), [expected], `addressOfUri(${uri})`);
    }
    assert.deepEqual((await locate('sip:192.0.2.5', zone, { transports: ['tcp'] })).targets, ['tcp 192.0.2.5:5060'], 'a TCP-only side');
    for (const uri of ['sip:192.0.2.5;transport=sctp', 'sip:192.0.2.5;transport=constructor', 'sip:192.0.2.5;transport=toString']) {
      assert.throws(() => addressOfUri(parseUri(uri)), { code: 'invalid-argument' }, uri);
      await assert.rejects(locate(uri, zone), { code: 'invalid-argument' }, uri);
    }
    for (const host of ['999.1.1.1', 'a:b', '1::2::3', ':::', '12345::1', '1::2:3:4:5:6:7:8', '::999.1.1.1', '1:2:3:4:5:6:7']) assert.equal(isNumericHost(host), false, host);
    for (const host of ['::1', '2001:db8::10', '1:2:3:4:5:6:7:8', '::ffff:192.0.2.1', '1:2:3:4:5:6:192.0.2.1', '::']) assert.equal(isNumericHost(host), true, host);
  });

  test('a port in the URI: the host\'s addresses, no NAPTR or SRV', async () => {
    const { targets, queries } = await locate('sip:pbx.example.com:5080', zone);
    assert.deepEqual(targets, ['udp 192.0.2.10:5080', 'udp 2001:db8::10:5080']);
    assert.deepEqual(queries, ['A pbx.example.com']);
  });

  test('NAPTR names the transports in order and preference, each resolved through its SRV records', async () => {
    const { targets, queries } = await locate('sip:1001@example.com', zone);
    assert.deepEqual(targets, [
      // order 50: preference 10 (SIPS+D2T, the name kept for the certificate check), then 50 (UDP, by SRV priority)
      'tls pbx.example.com:5061',
      'udp 192.0.2.10:5070', 'udp 2001:db8::10:5070', 'udp 192.0.2.20:5060',
      // order 90
      'tcp 192.0.2.10:5060', 'tcp 2001:db8::10:5060',
    ]);
    assert.equal(queries[0], 'NAPTR example.com');
    assert.ok(!queries.includes('A example.com'), 'no fallback to the domain\'s own address');
    assert.equal(queries.filter((q) => q === 'A pbx.example.com').length, 1, 'each name asked once');
  });

  test('a TLS target is checked against the domain of the URI, not the name DNS handed out (RFC 5922 §4)', async () => {
    const { found } = await locate('sips:alice@example.com', zone);
    assert.deepEqual(found, [{ protocol: 'tls', host: 'pbx.example.com', port: 5061, serverName: 'example.com' }]);
    const direct = await locate('sips:pbx.example.com:5061', zone);
    assert.deepEqual(direct.found, [{ protocol: 'tls', host: 'pbx.example.com', port: 5061 }], 'the name is the domain: nothing to add');
    assert.equal((await locate('sip:example.com', zone, { transports: ['udp'] })).found[0]!.serverName, undefined);
    // A SIP URI that reaches TLS (a SIPS+D2T record, a transport parameter) is held to its domain as well.
    assert.deepEqual((await locate('sip:example.com', zone, { transports: ['tls'] })).found, [{ protocol: 'tls', host: 'pbx.example.com', port: 5061, serverName: 'example.com' }]);
    assert.deepEqual((await locate('sip:Example.COM.;transport=tls', { srv: { '_sips._tcp.example.com': [srv(1, 0, 5061, 'pbx.example.com')] } })).found,
      [{ protocol: 'tls', host: 'pbx.example.com', port: 5061, serverName: 'example.com' }]);
  });

  test('only transports this side has, and for a SIPS URI only secure ones', async () => {
    assert.deepEqual((await locate('sip:example.com', zone, { transports: ['tcp', 'udp'] })).targets,
      ['udp 192.0.2.10:5070', 'udp 2001:db8::10:5070', 'udp 192.0.2.20:5060', 'tcp 192.0.2.10:5060', 'tcp 2001:db8::10:5060']);
    assert.deepEqual((await locate('sips:example.com', zone)).targets, ['tls pbx.example.com:5061']);
  });

  test('without NAPTR: SRV for each transport this side has, in its order; without SRV: the host at the default port', async () => {
    const srvOnly: Zone = { srv: zone.srv!, addresses: zone.addresses! };
    const { targets, queries } = await locate('sip:example.com', srvOnly, { transports: ['tcp', 'udp', 'tls'] });
    assert.deepEqual(targets, ['tcp 192.0.2.10:5060', 'tcp 2001:db8::10:5060', 'udp 192.0.2.10:5070', 'udp 2001:db8::10:5070', 'udp 192.0.2.20:5060']);
    assert.deepEqual(queries.slice(0, 3), ['NAPTR example.com', 'SRV _sip._tcp.example.com', 'A pbx.example.com']);
    assert.ok(!queries.some((q) => q.includes('_sips')), 'a SIP URI does not ask for SIPS');
    assert.deepEqual((await locate('sips:example.com', srvOnly)).targets, ['tls pbx.example.com:5061']);

    assert.deepEqual((await locate('sip:example.com', { addresses: zone.addresses! })).targets, ['udp 192.0.2.1:5060']);
    assert.deepEqual((await locate('sips:example.com', { addresses: zone.addresses! })).targets, ['tls example.com:5061']);
  });

  test('a transport in the URI: SRV for that transport only, else the host', async () => {
    const { targets, queries } = await locate('sip:example.com;transport=tcp', zone);
    assert.deepEqual(targets, ['tcp 192.0.2.10:5060', 'tcp 2001:db8::10:5060']);
    assert.deepEqual(queries, ['SRV _sip._tcp.example.com', 'A pbx.example.com']);
    assert.deepEqual((await locate('sip:example.com;transport=ws', zone)).targets, ['ws 192.0.2.1:80']);
  });

  test('an SRV target of "." says there is no such service: no fallback to the host', async () => {
    const closed: Zone = { srv: { '_sip._udp.example.com': [srv(0, 0, 0, '.')] }, addresses: zone.addresses! };
    await assert.rejects(locate('sip:example.com;transport=udp', closed), (error: unknown) =>
      error instanceof SipError && error.code === 'dns' && /example\.com/.test(error.message));
  });

  test('a failing query is skipped; a failed SRV query is no licence to guess the host; when nothing is found the error says why', async () => {
    const { targets } = await locate('sip:example.com', { ...zone, failing: ['example.com'] });
    assert.deepEqual(targets.slice(0, 2), ['udp 192.0.2.10:5070', 'udp 2001:db8::10:5070'], 'NAPTR failed, SRV still answered');
    const srvDown = locate('sip:example.com;transport=udp', { ...zone, failing: ['_sip._udp.example.com'] });
    await assert.rejects(srvDown, (error: unknown) => error instanceof SipError && error.code === 'dns' && /ETIMEOUT/.test(error.message));
    await assert.rejects(locate('sip:nowhere.example', { failing: ['nowhere.example'] }), (error: unknown) =>
      error instanceof SipError && error.code === 'dns' && /ETIMEOUT/.test(error.message) && error.cause instanceof SipError);
    await assert.rejects(locate('sip:nowhere.example', {}), { code: 'dns' });
  });

  test('refuses URIs it cannot send to', async () => {
    await assert.rejects(locate('tel:+15551234', zone), { code: 'invalid-argument' });
    await assert.rejects(locate('sip:example.com;transport=sctp', zone), { code: 'invalid-argument' });
    await assert.rejects(locate('sip:example.com', zone, { transports: [] }), { code: 'invalid-argument' });
  });

  test('a WS-only side asks for _sip._ws, a TCP-only side falls back to TCP, a TLS-only side asks for _sips._tcp', async () => {
    const ws: Zone = { srv: { '_sip._ws.example.com': [srv(10, 0, 8080, 'pbx.example.com')] }, addresses: zone.addresses! };
    assert.deepEqual((await locate('sip:example.com', ws, { transports: ['ws'] })).targets, ['ws 192.0.2.10:8080', 'ws 2001:db8::10:8080']);
    assert.deepEqual((await locate('sip:example.com', { addresses: zone.addresses! }, { transports: ['tcp'] })).targets, ['tcp 192.0.2.1:5060']);
    const tlsOnly = await locate('sip:example.com', { srv: zone.srv!, addresses: zone.addresses! }, { transports: ['tls'] });
    assert.deepEqual(tlsOnly.targets, ['tls pbx.example.com:5061']);
    assert.deepEqual((await locate('sip:192.0.2.5', zone, { transports: ['wss'] })).targets, ['wss 192.0.2.5:443']);
    assert.deepEqual((await locate('sip:example.com', { addresses: zone.addresses! }, { transports: ['tls'] })).targets, ['tls example.com:5061']);
  });

  test('records that cannot be servers are skipped: port 0, names that are not host names', async () => {
    const odd: Zone = {
      srv: { '_sip._udp.example.com': [srv(1, 0, 0, 'pbx.example.com'), srv(2, 0, 5060, 'a:b'), srv(3, 0, 5060, 'bad name.example.com'), srv(4, 0, 5062, 'backup.example.com')] },
      addresses: zone.addresses!,
    };
    assert.deepEqual((await locate('sip:example.com;transport=udp', odd)).targets, ['udp 192.0.2.20:5062']);
  });

  test('a long answer is ordered before it is cut: the preferred server is never dropped', async () => {
    const backups = Array.from({ length: 20 }, (_, i) => srv(50, 0, 6000 + i, 'backup.example.com'));
    const answer = [...backups, srv(1, 0, 5060, 'pbx.example.com')];
    const { targets } = await locate('sip:example.com;transport=udp', { srv: { '_sip._udp.example.com': answer }, addresses: zone.addresses! });
    assert.equal(targets[0], 'udp 192.0.2.10:5060');
    const naptrs = [...Array.from({ length: 20 }, (_, i) => naptr(90, i, 'SIP+D2U', `_sip._udp.n${i}.example.com`)), naptr(1, 1, 'SIP+D2T', '_sip._tcp.example.com')];
    const first = await locate('sip:example.com', { naptr: { 'example.com': naptrs }, srv: zone.srv!, addresses: zone.addresses! });
    assert.equal(first.targets[0], 'tcp 192.0.2.10:5060');
  });

  test('a domain cannot make one look-up ask more than 32 queries', async () => {
    // 16 NAPTR services, each naming an SRV name of 16 servers of their own.
    const names = Array.from({ length: 16 }, (_, i) => `_sip._udp.s${i}.example.com`);
    const hostile: Zone = {
      naptr: { 'example.com': names.map((name, i) => naptr(i, 0, 'SIP+D2U', name)) },
      srv: Object.fromEntries(names.map((name, i) => [name, Array.from({ length: 16 }, (_, j) => srv(j, 0, 5060, `h${i}-${j}.example.com`))])),
      addresses: {},
    };
    const resolver = fakeDns(hostile);
    await assert.rejects(locateSipServers(parseUri('sip:example.com'), { resolver, random: fixed(0) }), { code: 'dns' });
    assert.equal(resolver.queries.length, 32);
  });

  test('a domain cannot make it try more than MAX_TARGETS addresses', async () => {
    const many = Array.from({ length: 40 }, (_, i) => srv(i, 0, 5060 + i, `h${i}.example.com`));
    const addresses = Object.fromEntries(many.map((r) => [r.name, Array.from({ length: 20 }, (_, j) => `192.0.2.${j}`)]));
    const { targets } = await locate('sip:example.com;transport=udp', { srv: { '_sip._udp.example.com': many }, addresses });
    assert.equal(targets.length, MAX_TARGETS);
    assert.equal(new Set(targets.map((t) => t.split(':')[1])).size, 4, '8 addresses from each of the first 4 records');
  });
});

describe('orderSrv (RFC 2782)', () => {
  const records = [srv(20, 0, 1, 'c'), srv(10, 60, 2, 'a'), srv(10, 0, 3, 'zero'), srv(10, 40, 4, 'b')];
  const names = (random: Random) => orderSrv(records, random).map((r) => r.name);

  test('lower priority first; within one, weight 0 first for a draw of 0, the heaviest last for the top draw', () => {
    assert.deepEqual(names(fixed(0)), ['zero', 'a', 'b', 'c']);
    assert.deepEqual(names(fixed(255)), ['b', 'a', 'zero', 'c']);
  });

  test('within a priority, each record comes first about as often as its weight says', () => {
    let state = 12345;
    const lcg: Random = { bytes: (n) => Uint8Array.from({ length: n }, () => (state = (state * 1103515245 + 12345) >>> 0) >>> 24) };
    const first = new Map<string, number>();
    const rounds = 4000;
    for (let i = 0; i < rounds; i++) {
      const name = names(lcg)[0]!;
      first.set(name, (first.get(name) ?? 0) + 1);
    }
    // Sum 100 (+1 for the zero-weight record's chance at a draw of 0): a ~ 60/101, b ~ 40/101, zero ~ 1/101.
    assert.ok(Math.abs(first.get('a')! / rounds - 60 / 101) < 0.03, `a first ${first.get('a')} times`);
    assert.ok(Math.abs(first.get('b')! / rounds - 40 / 101) < 0.03, `b first ${first.get('b')} times`);
    assert.ok((first.get('zero') ?? 0) < rounds * 0.03, `zero first ${first.get('zero')} times`);
    assert.equal(first.get('c'), undefined, 'a lower priority never comes first');
  });
});
