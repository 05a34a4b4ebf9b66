// RFC 3263 against real peers: a dnsmasq name server holds NAPTR, SRV and A records for a PBX domain whose preferred
// servers are dead, and Kamailio is the server behind the less preferred records. The stack locates the servers
// through that name server and a REGISTER with digest authentication reaches Kamailio by failing over (§4.3).
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { cryptoRandom, DigestClient, locateSipServers, parseUri, UserAgent, type SipTransport, type TransportAddress } from '@switchboard/sip';
import { createTransport, nodeDigestHasher, nodeDnsResolver } from '@switchboard/sip/node';
import { startDnsmasq, type DnsServer } from './support/dnsmasq.js';
import { startKamailio, type Kamailio } from './support/kamailio.js';
import { assertPrivateNetns } from './support/netns.js';
import { freePort, LOOPBACK } from './support/ports.js';
import { stopAll } from './support/processes.js';

const suite = 'sip-dns';
const show = (targets: readonly TransportAddress[]) => targets.map((t) => `${t.protocol} ${t.host}:${t.port}`);

describe('locating SIP servers through DNS (RFC 3263) and failing over to the next one', { timeout: 90_000 }, () => {
  const users = { alice: 'alice-secret' };
  let kamailio: Kamailio;
  let dns: DnsServer;
  /** A UDP port that takes requests and never answers: a hung server. */
  let blackHole: Socket;
  const swallowed: string[] = [];
  let deadUdp: number;
  /** A TCP port nothing listens on: connections are refused. */
  let deadTcp: number;
  let sockets: SipTransport[];

  before(async () => {
    assertPrivateNetns();
    kamailio = await startKamailio({ suite, users });
    [deadUdp, deadTcp] = [await freePort(), await freePort()];
    blackHole = createSocket('udp4');
    blackHole.on('message', (bytes) => swallowed.push(bytes.toString('latin1')));
    await new Promise<void>((done) => blackHole.bind(deadUdp, LOOPBACK, done));
    const server = (name: string, target: string, port: number, priority: number) => ({ name, target, port, priority, weight: 0 });
    dns = await startDnsmasq(suite, {
      domain: 'test',
      hosts: { 'hung.pbx.test': [LOOPBACK], 'live.pbx.test': [LOOPBACK], 'plain.test': [LOOPBACK] },
      naptr: [
        { name: 'pbx.test', order: 10, preference: 10, service: 'SIP+D2U', replacement: '_sip._udp.pbx.test' },
        { name: 'pbx.test', order: 20, preference: 10, service: 'SIP+D2T', replacement: '_sip._tcp.pbx.test' },
      ],
      srv: [
        server('_sip._udp.pbx.test', 'hung.pbx.test', deadUdp, 10),
        server('_sip._udp.pbx.test', 'live.pbx.test', kamailio.port, 20),
        server('_sip._tcp.pbx.test', 'hung.pbx.test', deadTcp, 10),
        server('_sip._tcp.pbx.test', 'live.pbx.test', kamailio.port, 20),
        server('_sip._tcp.srv.test', 'live.pbx.test', kamailio.port, 10),
      ],
      noService: ['_sip._udp.closed.test'],
    });
    sockets = [
      await createTransport({ protocol: 'udp', host: LOOPBACK, port: 0 }),
      await createTransport({ protocol: 'tcp', host: LOOPBACK, port: 0 }),
    ];
  });

  after(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    blackHole?.close();
    await stopAll();
  });

  const resolver = () => nodeDnsResolver({ servers: [dns.address], timeoutMs: 1_000, tries: 1, families: [4] });
  const locate = (uri: string, transports?: ('udp' | 'tcp')[]) =>
    locateSipServers(parseUri(uri), { resolver: resolver(), random: cryptoRandom, ...(transports ? { transports } : {}) });

  it('finds the servers the name server lists: NAPTR, then SRV by priority, then A; or the host itself', async () => {
    assert.deepEqual(show(await locate('sip:pbx.test')), [
      `udp 127.0.0.1:${deadUdp}`, `udp 127.0.0.1:${kamailio.port}`, `tcp 127.0.0.1:${deadTcp}`, `tcp 127.0.0.1:${kamailio.port}`,
    ]);
    assert.deepEqual(show(await locate('sip:pbx.test', ['tcp'])), [`tcp 127.0.0.1:${deadTcp}`, `tcp 127.0.0.1:${kamailio.port}`]);
    assert.deepEqual(show(await locate('sip:alice@srv.test')), [`tcp 127.0.0.1:${kamailio.port}`], 'no NAPTR: SRV');
    assert.deepEqual(show(await locate('sip:plain.test')), ['udp 127.0.0.1:5060'], 'no NAPTR or SRV: the host at 5060');
    assert.deepEqual(show(await locate('sip:live.pbx.test:5070;transport=tcp')), ['tcp 127.0.0.1:5070'], 'a port: A only');
    await assert.rejects(locate('sip:closed.test;transport=udp'), { code: 'dns' }, 'SRV "." means no service');
    await assert.rejects(locate('sip:nothing.test'), (error: Error & { code?: string }) =>
      error.code === 'dns' && /nothing\.test/.test(error.message));
  });

  for (const protocol of ['udp', 'tcp'] as const) {
    const dead = protocol === 'udp' ? 'a server that never answers (Timer F)' : 'a refused connection';
    it(`a REGISTER to sip:pbx.test over ${protocol.toUpperCase()} gets past ${dead} to Kamailio, and authenticates there`, async () => {
      // T1 of 50 ms: Timer F, after which the hung server is given up, is 64*T1 = 3.2 s.
      const ua = new UserAgent({ transports: sockets, timers: { T1: 50 } });
      try {
        const targets = await locate('sip:pbx.test', [protocol]);
        assert.equal(targets[0]!.port, protocol === 'udp' ? deadUdp : deadTcp, 'the dead server is the first choice');
        const request = ua.createRequest('REGISTER', 'sip:pbx.test', { from: 'sip:alice@pbx.test', contact: ua.contact('alice', protocol) });
        request.append('Expires', 60);
        const digest = new DigestClient({ credentials: { username: 'alice', password: users.alice }, hasher: nodeDigestHasher, random: cryptoRandom });
        const before = swallowed.length;
        const response = await ua.request(request, targets, { digest });
        assert.equal(response.status, 200, `${response.status} ${response.reason}`);
        const ours = ua.contact('alice', protocol).uri;
        assert.ok(response.contacts.some((c) => c !== '*' && c.uri.type === 'sip' && ours.type === 'sip' && c.uri.user === 'alice' && c.uri.port === ours.port),
          'the binding is ours');
        if (protocol === 'udp') {
          const lost = swallowed.slice(before);
          assert.ok(lost.length >= 2 && lost.every((text) => text.startsWith('REGISTER sip:pbx.test SIP/2.0')), `the hung server got the REGISTER and its retransmissions (${lost.length})`);
        }
        const log = kamailio.process.readLog();
        assert.match(log, new RegExp(`REQ REGISTER sip:pbx\\.test from ${protocol}:127\\.0\\.0\\.1`), 'Kamailio received it');
      } finally {
        await ua.close();
      }
    });
  }
});
