// @switchboard/sip against real peers on the private loopback: sipp's built-in uac calls a UAS built on the stack
// (over UDP with 10 % of packets lost, and over TCP), a UAC built on the stack calls sipp's built-in uas and drops a
// response whose Via sipp forged, Kamailio answers (and, stopped, fails to answer) the keep-alives of our connections,
// and a REGISTER with digest authentication goes to Kamailio with the right and with a wrong password.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  cryptoRandom, Dialog, DigestClient, formatNameAddr, nextHop, type SipResponse, type SipTransport, UserAgent,
} from '@switchboard/sip';
import { createTransport, nodeDigestHasher } from '@switchboard/sip/node';
import { ANSWER_SDP, startAnsweringUas, type AnsweringUas } from './support/answering-uas.js';
import { startKamailio, type Kamailio } from './support/kamailio.js';
import { assertPrivateNetns } from './support/netns.js';
import { stopAll, waitFor } from './support/processes.js';
import { runSipp, SCENARIOS_DIR, startSipp } from './support/sipp.js';

const FORGED_VIA_SCENARIO = join(SCENARIOS_DIR, 'options-forged-via.xml');

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

  it('drops a response with the branch of its request but another sent-by (RFC 3261 §18.1.2): sipp answers an OPTIONS first with a forged Via, then with ours', async () => {
    const server = await startSipp({ suite, name: 'uas-forged-via', scenario: { file: FORGED_VIA_SCENARIO }, transport: 'udp' });
    const strays: string[] = [];
    const off = ua.transactions.on('stray-response', ({ response }) => strays.push(response.get('X-Which') ?? '?'));
    try {
      const options = ua.createRequest('OPTIONS', `sip:probe@${server.address}`, { from: 'sip:switchboard@127.0.0.1' });
      const response = await ua.request(options, nextHop(options));
      assert.equal(response.status, 200);
      assert.equal(response.get('X-Which'), 'genuine');
      assert.deepEqual(strays, ['forged'], 'the forged 200 arrived, and was dropped as a stray');
      const result = await server.stop({ graceful: true });
      assert.equal(result.stats.successful, 1, result.errors());
    } finally {
      off();
    }
  });
});

describe('keep-alives on connections to Kamailio (RFC 5626 §4.4.1)', { timeout: 60_000 }, () => {
  let kamailio: Kamailio;
  const agents: { ua: UserAgent; sockets: SipTransport[] }[] = [];

  before(async () => {
    assertPrivateNetns();
    kamailio = await startKamailio({ suite, name: 'kamailio-keep-alive', users: { alice: 'alice-secret' }, websocket: true });
  });

  after(async () => {
    for (const { ua, sockets } of agents) {
      await ua.close();
      await closeAll(sockets);
    }
    await stopAll();
  });

  /** A user agent whose TCP and WS connections are pinged every 240-300 ms, a pong awaited for 200 ms. */
  async function pingingAgent(): Promise<UserAgent> {
    const keepAlive = { intervalMs: 300, pongTimeoutMs: 200 };
    const sockets = [
      await createTransport({ protocol: 'tcp', host: '127.0.0.1', port: 0, keepAlive }),
      await createTransport({ protocol: 'ws', host: '127.0.0.1', port: 0, keepAlive }),
    ];
    const ua = new UserAgent({ transports: sockets, product: 'Switchboard-test-keep-alive' });
    agents.push({ ua, sockets });
    return ua;
  }

  /** Opens a connection from `ua` to Kamailio over `protocol` with an OPTIONS, and collects its keep-alive outcomes. */
  async function connect(ua: UserAgent, protocol: 'tcp' | 'ws'): Promise<{ connectionId: string; outcomes: string[]; closed: Promise<void>; stop(): void }> {
    const transport = ua.transport(protocol);
    const outcomes: string[] = [];
    let connectionId: string | undefined;
    let markClosed = (): void => undefined;
    const closed = new Promise<void>((resolve) => { markClosed = resolve; });
    const offs = [
      transport.on('connection', (event) => {
        if (event.state === 'open' && connectionId === undefined) connectionId = event.connectionId;
        if (event.state === 'closed' && event.connectionId === connectionId) markClosed();
      }),
      transport.on('keep-alive', (event) => { if (event.connectionId === connectionId) outcomes.push(event.outcome); }),
    ];
    const port = protocol === 'ws' ? kamailio.wsPort! : kamailio.port;
    const options = ua.createRequest('OPTIONS', `sip:${kamailio.host}:${port};transport=${protocol}`, { from: 'sip:switchboard@127.0.0.1' });
    const response = await ua.request(options, nextHop(options));
    assert.ok(response.status >= 200, `${response.status}`);
    assert.ok(connectionId !== undefined, 'a connection was opened');
    return { connectionId, outcomes, closed, stop: () => offs.forEach((off) => off()) };
  }

  for (const protocol of ['tcp', 'ws'] as const) {
    it(`over ${protocol.toUpperCase()}: Kamailio answers every ping (${protocol === 'tcp' ? 'CRLF CRLF, answered by CRLF' : 'WebSocket ping frames'})`, async () => {
      const flow = await connect(await pingingAgent(), protocol);
      try {
        assert.ok(await waitFor(() => flow.outcomes.length >= 4, 10_000), `four keep-alive rounds; got ${flow.outcomes.join(', ')}`);
        assert.deepEqual(flow.outcomes.slice(0, 4), ['pong', 'pong', 'pong', 'pong']);
      } finally {
        flow.stop();
      }
    });
  }

  it('a Kamailio that stops answering (SIGSTOP): the ping goes unanswered and the connection is closed', async () => {
    const ua = await pingingAgent();
    const flows = [await connect(ua, 'tcp'), await connect(ua, 'ws')];
    assert.ok(await waitFor(() => flows.every((flow) => flow.outcomes.includes('pong')), 10_000), 'a pong on each connection');
    process.kill(-kamailio.process.pid, 'SIGSTOP');
    try {
      await Promise.all(flows.map((flow) => flow.closed));
      for (const flow of flows) assert.equal(flow.outcomes.at(-1), 'no-pong');
    } finally {
      process.kill(-kamailio.process.pid, 'SIGCONT');
      for (const flow of flows) flow.stop();
    }
  });
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
