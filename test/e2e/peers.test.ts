// Sanity of the real-peer harness itself: Kamailio and sipp start, talk to each other on the private loopback and
// report what happened; a config Kamailio refuses is reported as such. Interop tests build on exactly these calls.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startKamailio, type Kamailio } from './support/kamailio.js';
import { assertPrivateNetns } from './support/netns.js';
import { HarnessError, stopAll } from './support/processes.js';
import { runSipp, sippRegister, startSipp } from './support/sipp.js';

const suite = 'peers';
const users = { alice: 'alice-secret', bob: 'b0b"\\pass', carol: 'carol-secret' };

describe('real peers on the private loopback', { timeout: 60_000 }, () => {
  let kamailio: Kamailio;

  before(async () => {
    assertPrivateNetns();
    kamailio = await startKamailio({ suite, users });
  });

  after(async () => {
    await stopAll();
  });

  it('registers with the right password over UDP and TCP', async () => {
    const udp = await sippRegister({ suite, registrar: kamailio.address, user: 'alice', password: users.alice });
    assert.equal(udp.exitCode, 0, udp.errors());
    assert.equal(udp.stats.successful, 1);
    assert.equal(udp.stats.failed, 0);

    // The password with a quote and a backslash proves the config quotes htable values correctly.
    const tcp = await sippRegister({ suite, registrar: kamailio.address, user: 'bob', password: users.bob, transport: 'tcp' });
    assert.equal(tcp.exitCode, 0, tcp.errors());
    assert.equal(tcp.stats.successful, 1);
  });

  it('counts a failed call when the password is wrong (401 again)', async () => {
    const result = await sippRegister({ suite, registrar: kamailio.address, user: 'alice', password: 'wrong' });
    assert.equal(result.exitCode, 1);
    assert.equal(result.stats.successful, 0);
    assert.equal(result.stats.failed, 1);
    assert.equal(result.stats.unexpectedMessages, 1);
    assert.match(result.errors(), /401 Unauthorized/);
  });

  it('puts 10 calls from sipp uac through Kamailio to a sipp uas registered as carol', async () => {
    const uas = await startSipp({ suite, scenario: 'uas' });
    const registered = await sippRegister({
      suite,
      registrar: kamailio.address,
      user: 'carol',
      password: users.carol,
      contact: uas.contact('carol'),
    });
    assert.equal(registered.stats.successful, 1, registered.errors());

    const uac = await runSipp({
      suite,
      scenario: 'uac',
      target: kamailio.address,
      service: 'carol',
      calls: 10,
      rate: 20,
      concurrency: 10,
      timeoutS: 15,
    });
    assert.equal(uac.exitCode, 0, uac.errors());
    assert.equal(uac.stats.successful, 10);
    assert.equal(uac.stats.failed, 0);
    assert.equal(uac.stats.outgoing, 10);

    const served = await uas.stop();
    assert.equal(served.stats.incoming, 10);
    assert.equal(served.stats.successful, 10);
    assert.equal(served.stats.failed, 0);
    assert.ok(!uas.process.isRunning());
  });

  it('challenges INVITEs when asked to (sipp uac without credentials fails on the 407)', async () => {
    const proxy = await startKamailio({ suite, name: 'kamailio-invite-auth', users, authenticateInvites: true });
    const uac = await runSipp({ suite, scenario: 'uac', target: proxy.address, service: 'alice', calls: 1, timeoutS: 10 });
    assert.equal(uac.stats.failed, 1);
    assert.match(uac.errors(), /407 Proxy Authentication Required/);
    await proxy.stop();
  });

  it('rejects start() naming kamailio and the reason when the config is broken', async () => {
    const started = startKamailio({
      suite,
      name: 'kamailio-broken',
      users,
      requestPrelude: '  no_such_function("x");',
      readyTimeoutMs: 5000,
    });
    await assert.rejects(started, (err: unknown) => {
      assert.ok(err instanceof HarnessError);
      assert.match(err.message, /^kamailio-broken: exited \(exit code \d+\) before it was ready/);
      assert.match(err.message, /no_such_function/);
      assert.match(err.message, /kamailio-broken\.cfg/);
      return true;
    });
  });
});
