// @switchboard/sip against real peers on the private loopback: sipp's built-in uac calls a UAS built on the stack
// (over UDP with 10 % of packets lost, and over TCP), a UAC built on the stack calls sipp's built-in uas, and a REGISTER
// with digest authentication goes to Kamailio with the right and with a wrong password.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  cryptoRandom, Dialog, DigestClient, formatNameAddr, nextHop, type SipResponse, type SipTransport, UserAgent,
} from '@switchboard/sip';
import { createTransport, nodeDigestHasher } from '@switchboard/sip/node';
import { ANSWER_SDP, startAnsweringUas, type AnsweringUas } from './support/answering-uas.js';
import { startKamailio, type Kamailio } from './support/kamailio.js';
import { assertPrivateNetns } from './support/netns.js';
import { stopAll } from './support/processes.js';
import { runSipp, startSipp } from './support/sipp.js';

const suite = 'sip-interop';

async function transports(): Promise<SipTransport[]> {
  return [
    await createTransport({ protocol: 'udp', host: '127.0.0.1', port: 0 }),
    await createTransport({ protocol: 'tcp', host: '127.0.0.1', port: 0 }),
  ];
}

async function closeAll(list: readonly SipTransport[]): Promise<void> {
  await Promise.all(list.map((transport) => transport.close()));
}

describe('a UAS built on the stack answers sipp uac', { timeout: 120_000 }, () => {
  let sockets: SipTransport[];
  let uas: AnsweringUas;

  before(async () => {
    assertPrivateNetns();
    sockets = await transports();
    uas = startAnsweringUas(sockets);
  });

  after(async () => {
    await uas.close();
    await closeAll(sockets);
    await stopAll();
  });

  it('over UDP with 10 % packet loss, retransmissions recover every call', async () => {
    const calls = 40;
    const before = { ...uas.counts };
    const result = await runSipp({
      suite, name: 'uac-udp-lost', scenario: 'uac', transport: 'udp', target: `127.0.0.1:${sockets[0]!.local.port}`,
      service: 'answer', calls, rate: 20, concurrency: calls, lostPercent: 10, timeoutS: 90,
    });
    assert.equal(result.stats.failed, 0, result.errors());
    assert.equal(result.stats.successful, calls, result.errors());
    assert.ok(result.stats.retransmissions > 0, 'with 10 % loss some messages had to be sent again');
    // Retransmitted INVITEs are absorbed by the transaction layer: the application sees each call once. (BYEs are not
    // counted here: when both sipp's ACK and its BYE are lost, our 2xx retransmission reaches sipp after its BYE and
    // its built-in uac scenario, which does not check the CSeq, takes that 200 for the BYE's and ends the call.)
    assert.equal(uas.counts.answered - before.answered, calls, 'each INVITE reached the application exactly once');
  });

  it('over TCP', async () => {
    const calls = 30;
    const result = await runSipp({
      suite, name: 'uac-tcp', scenario: 'uac', transport: 'tcp', target: `127.0.0.1:${sockets[1]!.local.port}`,
      service: 'answer', calls, rate: 30, concurrency: calls, timeoutS: 60,
    });
    assert.equal(result.stats.failed, 0, result.errors());
    assert.equal(result.stats.successful, calls, result.errors());
  });
});

describe('a UAC built on the stack calls sipp uas', { timeout: 120_000 }, () => {
  let sockets: SipTransport[];
  let ua: UserAgent;

  before(async () => {
    assertPrivateNetns();
    sockets = await transports();
    ua = new UserAgent({ transports: sockets, product: 'Switchboard-test-uac' });
  });

  after(async () => {
    await ua.close();
    await closeAll(sockets);
    await stopAll();
  });

  /** INVITE, wait for the 2xx, ACK it, hang up with BYE; resolves with the INVITE's and the BYE's final statuses. */
  async function call(target: string, protocol: 'udp' | 'tcp'): Promise<{ invite: number; bye: number }> {
    const invite = ua.createRequest('INVITE', target, { from: 'sip:switchboard@127.0.0.1', contact: ua.contact('switchboard', protocol) });
    invite.setBody(ANSWER_SDP, 'application/sdp');
    const destination = nextHop(invite, protocol);
    const transaction = ua.sendInvite(invite, destination);
    const final = await new Promise<SipResponse>((resolve, reject) => {
      transaction.on('response', ({ response }) => { if (response.status >= 200) resolve(response); });
      transaction.on('timeout', ({ error }) => reject(error));
      transaction.on('transport-error', ({ error }) => reject(error));
    });
    if (final.status >= 300) return { invite: final.status, bye: 0 };
    const dialog = Dialog.fromUac(invite, final);
    const ack = dialog.createAck(invite);
    await ua.sendAck(ack, nextHop(ack, protocol));
    const bye = dialog.createRequest('BYE');
    const byeResponse = await ua.request(bye, nextHop(bye, protocol));
    dialog.receiveResponse(byeResponse);
    return { invite: final.status, bye: byeResponse.status };
  }

  for (const protocol of ['udp', 'tcp'] as const) {
    it(`completes calls over ${protocol.toUpperCase()}`, async () => {
      const server = await startSipp({ suite, name: `uas-${protocol}`, scenario: 'uas', transport: protocol });
      const calls = 10;
      const outcomes = [];
      for (let i = 0; i < calls; i++) outcomes.push(await call(`sip:service@${server.address}`, protocol));
      assert.deepEqual(outcomes, Array.from({ length: calls }, () => ({ invite: 200, bye: 200 })));
      const result = await server.stop({ graceful: true });
      assert.equal(result.stats.successful, calls, result.errors());
      assert.equal(result.stats.failed, 0, result.errors());
    });
  }
});

describe('REGISTER with digest authentication against Kamailio', { timeout: 60_000 }, () => {
  const users = { alice: 'alice-secret' };
  let kamailio: Kamailio;
  let sockets: SipTransport[];
  let ua: UserAgent;

  before(async () => {
    assertPrivateNetns();
    kamailio = await startKamailio({ suite, users });
    sockets = await transports();
    ua = new UserAgent({ transports: sockets, product: 'Switchboard-test-registrar-client' });
  });

  after(async () => {
    await ua.close();
    await closeAll(sockets);
    await stopAll();
  });

  function register(password: string, protocol: 'udp' | 'tcp'): Promise<SipResponse> {
    const contact = ua.contact('alice', protocol);
    const request = ua.createRequest('REGISTER', kamailio.uri(protocol), { from: kamailio.aor('alice'), contact });
    request.append('Expires', 60);
    const digest = new DigestClient({ credentials: { username: 'alice', password }, hasher: nodeDigestHasher, random: cryptoRandom });
    return ua.request(request, nextHop(request, protocol), { digest });
  }

  for (const protocol of ['udp', 'tcp'] as const) {
    it(`succeeds with the right password over ${protocol.toUpperCase()}, and the binding is ours`, async () => {
      const response = await register(users.alice, protocol);
      assert.equal(response.status, 200, `${response.status} ${response.reason}`);
      const bound = response.contacts.map((contact) => (contact === '*' ? '*' : formatNameAddr({ ...contact, params: new Map() })));
      assert.ok(bound.includes(formatNameAddr(ua.contact('alice', protocol))), `bindings: ${bound.join(', ')}`);
    });
  }

  it('fails cleanly with a wrong password: one retry, then the 401 is the answer', async () => {
    const response = await register('not-the-password', 'udp');
    assert.equal(response.status, 401);
    assert.ok(response.has('WWW-Authenticate'));
  });
});
