// SIP phones registering to the gateway's own registrar, over the private loopback: a baresip desk phone with the
// right password registers (the gateway logs it, and a registrar query lists its Contact), one with a wrong password
// is refused with a fresh 401, and sipp's REGISTER-with-digest scenario passes over UDP and TCP and fails on a wrong
// password. Accounts come from the config's `registrar.accounts`, their passwords from the environment given.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DigestClient, UserAgent, type SipResponse } from '@switchboard/sip';
import { createTransport, nodeDigestHasher } from '@switchboard/sip/node';
import { startPhone, type Phone } from './support/baresip.js';
import { startGateway, type StartedGateway } from './support/gateway.js';
import { assertPrivateNetns } from './support/netns.js';
import { LOOPBACK } from './support/ports.js';
import { HarnessError, waitFor } from './support/processes.js';
import { sippRegister } from './support/sipp.js';

const suite = 'gateway-registrar';
const PASSWORDS: Record<string, string> = { '201': 'desk-201-pass', '202': 'desk-202-pass', '301': 'sipp-301-pass', '302': 'sipp-302-pass' };
const ENV = Object.fromEntries(Object.entries(PASSWORDS).map(([user, password]) => [`PHONE_${user}_PASSWORD`, password]));
const ACCOUNTS = Object.fromEntries(Object.keys(PASSWORDS).map((user) => [user, { passwordEnv: `PHONE_${user}_PASSWORD` }]));

type LogEntry = Record<string, unknown>;

/** A REGISTER without Contact (RFC 3261 §10.2.3): the registrar's answer lists the user's bindings. */
async function queryBindings(gateway: StartedGateway, user: string): Promise<SipResponse> {
  const transport = await createTransport({ protocol: 'udp', host: LOOPBACK, port: 0 });
  const ua = new UserAgent({ transports: [transport] });
  try {
    const { host, port } = gateway.sip.udp;
    const request = ua.createRequest('REGISTER', `sip:${host}:${port}`, { from: `sip:${user}@${host}` });
    const digest = new DigestClient({
      credentials: { username: user, password: PASSWORDS[user]! },
      hasher: nodeDigestHasher,
      random: { bytes: (n) => new Uint8Array(randomBytes(n)) },
    });
    return await ua.request(request, { protocol: 'udp', host, port }, { digest });
  } finally {
    await ua.close();
    await transport.close();
  }
}

describe('SIP phones register to the gateway', { timeout: 120_000 }, () => {
  let gateway: StartedGateway;
  const phones: Phone[] = [];
  const logged = (msg: string, match: (entry: LogEntry) => boolean = () => true): LogEntry[] =>
    gateway.logEntries().filter((entry) => entry['msg'] === msg && match(entry));

  before(async () => {
    assertPrivateNetns();
    gateway = await startGateway({ suite, config: { registrar: { accounts: ACCOUNTS } }, env: ENV });
  });

  after(async () => {
    // Phones first, while the gateway can still answer their de-REGISTER.
    await Promise.all(phones.map((phone) => phone.stop()));
    await gateway?.close();
  });

  it('a baresip phone with the right password registers; the gateway holds its binding', async () => {
    const phone = await startPhone({ suite, name: 'phone-201', kamailio: gateway.sip.udp, user: '201', password: PASSWORDS['201']!, toneHz: 697 });
    phones.push(phone);
    const [entry] = logged('SIP phone registered', (e) => e['user'] === '201');
    assert.ok(entry, 'the gateway logs the registration');
    assert.equal(entry['level'], 30);
    assert.match(String(entry['source']), /^udp:127\.0\.0\.1:\d+$/);
    assert.equal(entry['expires'], 600, "baresip's regint");
    const contact = String(entry['contact']);
    // baresip names its Contact user after the account and an instance: sip:201-0x…@127.0.0.1:port
    assert.match(contact, /^sip:201[^@]*@127\.0\.0\.1:\d+/);

    const query = await queryBindings(gateway, '201');
    assert.equal(query.status, 200);
    const listed = query.getAll('Contact');
    assert.equal(listed.length, 1, `bindings of 201: ${listed.join(' | ')}`);
    assert.ok(listed[0]!.startsWith(`<${contact}`), `${listed[0]} is baresip's Contact ${contact}`);
    assert.match(listed[0]!, /;expires=(59\d|600)$/);
    const log = gateway.logEntries().map((e) => JSON.stringify(e)).join('\n');
    assert.ok(!log.includes(PASSWORDS['201']!), 'no password in the log');
  });

  it('a baresip phone with a wrong password is refused with a fresh challenge and not bound', async () => {
    await assert.rejects(
      startPhone({ suite, name: 'phone-202-wrong', kamailio: gateway.sip.udp, user: '202', password: 'not-the-password', toneHz: 1209 }),
      (error: unknown) => error instanceof HarnessError && /refused: 401 Unauthorized/.test(error.message),
    );
    assert.ok(logged('SIP registration credentials refused', (e) => e['user'] === '202' && e['account'] === 'known').length > 0);
    assert.equal(logged('SIP phone registered', (e) => e['user'] === '202').length, 0);
    const query = await queryBindings(gateway, '202');
    assert.equal(query.status, 200);
    assert.deepEqual(query.getAll('Contact'), []);
  });

  it('a phone that stops unregisters (Expires 0) and its binding goes', async () => {
    const phone = await startPhone({ suite, name: 'phone-202', kamailio: gateway.sip.udp, user: '202', password: PASSWORDS['202']!, toneHz: 1209 });
    assert.equal((await queryBindings(gateway, '202')).getAll('Contact').length, 1);
    await phone.stop();
    const gone = await waitFor(() => logged('SIP phone unregistered', (e) => e['user'] === '202' && e['reason'] === 'unregistered').length > 0, 5000, 20);
    assert.ok(gone, 'baresip unregistered on SIGTERM');
    assert.deepEqual((await queryBindings(gateway, '202')).getAll('Contact'), []);
  });

  for (const transport of ['udp', 'tcp'] as const) {
    it(`sipp REGISTER with digest over ${transport.toUpperCase()} gets 401 then 200`, async () => {
      const user = transport === 'udp' ? '301' : '302';
      const result = await sippRegister({ suite, registrar: `${gateway.sip[transport].host}:${gateway.sip[transport].port}`, user, password: PASSWORDS[user]!, transport });
      assert.equal(result.exitCode, 0, result.errors());
      assert.equal(result.stats.successful, 1);
      assert.equal(result.stats.failed, 0);
      const [entry] = logged('SIP phone registered', (e) => e['user'] === user);
      assert.ok(entry, `${user} registered`);
      assert.match(String(entry['source']), new RegExp(`^${transport}:127\\.0\\.0\\.1:${result.localPort}$`));
    });
  }

  it('sipp with a wrong password fails on a second 401', async () => {
    const result = await sippRegister({ suite, name: 'sipp-register-wrong', registrar: `${gateway.sip.udp.host}:${gateway.sip.udp.port}`, user: '301', password: 'wrong' });
    assert.equal(result.exitCode, 1);
    assert.equal(result.stats.successful, 0);
    assert.equal(result.stats.failed, 1);
    assert.match(result.errors(), /401 Unauthorized/);
  });

  it('nothing made the gateway log an error', () => {
    const errors = gateway.logEntries().filter((entry) => typeof entry['level'] === 'number' && entry['level'] >= 50);
    assert.deepEqual(errors.map((entry) => entry['msg']), []);
  });
});
