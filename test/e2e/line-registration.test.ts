// Operators' lines registered at a real PBX (Kamailio with digest passwords), by the gateway's line registrations on
// a user agent of their own (UDP and TCP on loopback, as the gateway's SIP listener builds it). One line per
// transport registers; one with a wrong password fails with 401. Kamailio is then stopped: both good lines must show
// "unregistered" with a reason within 30 s, and after Kamailio is started again on the same port (its location table
// empty, as after any PBX restart) they must register again by themselves. A call to each line's address of record
// through Kamailio must reach our user agent with the line's user, which maps back to its operator.
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LineState } from '@switchboard/protocol';
import { UserAgent, type SipResponse, type SipTransport } from '@switchboard/sip';
import { createTransport } from '@switchboard/sip/node';
import { pino } from 'pino';
import { startKamailio, type Kamailio } from './support/kamailio.js';
import { assertPrivateNetns } from './support/netns.js';
import { LOOPBACK } from './support/ports.js';
import { stopAll, suiteDir } from './support/processes.js';
// From the source: the gateway's package entry does not export its SIP side yet.
import { Secret } from '../../packages/gateway/src/config/secret.js';
import type { LineConfig } from '../../packages/gateway/src/config/types.js';
import { LineRegistrations } from '../../packages/gateway/src/sip/line-registrations.js';

const suite = 'line-registration';
const PASSWORDS = { '1001': 'pw-1001-Qm4t8Zr', '1002': 'pw-1002-Hs9w2Lk', '1003': 'pw-1003-Vb6n3Xe' } as const;
const WRONG = 'not-the-password-Jq7';
const KEEP_ALIVE_S = 15;
/** What operators are promised after a PBX goes away. */
const DETECT_BOUND_MS = 30_000;
/** A probe interval plus a registration, with room for a slow start of Kamailio's workers. */
const RECOVER_BOUND_MS = 30_000;

interface Sip {
  ua: UserAgent;
  transports: SipTransport[];
  close(): Promise<void>;
}

async function userAgent(): Promise<Sip> {
  const udp = await createTransport({ protocol: 'udp', host: LOOPBACK, port: 0 });
  const tcp = await createTransport({ protocol: 'tcp', host: LOOPBACK, port: udp.local.port }).catch(() => createTransport({ protocol: 'tcp', host: LOOPBACK, port: 0 }));
  const transports = [udp, tcp];
  const ua = new UserAgent({ transports });
  return { ua, transports, close: async () => { await ua.close(); await Promise.all(transports.map((t) => t.close())); } };
}

describe('operators’ lines registered at Kamailio', { timeout: 180_000 }, () => {
  let kamailio: Kamailio;
  let gateway: Sip;
  let caller: Sip;
  let lines: LineRegistrations;
  let logFd: number;
  let logPath: string;
  const events: { at: number; operatorId: string; state: LineState }[] = [];
  /** Request-URI users of the INVITEs that reached the gateway, mapped to operators. */
  const invited: { user: string | undefined; operatorId: string | undefined }[] = [];

  function lineConfigs(): LineConfig[] {
    const pbx = (name: string, transport: 'udp' | 'tcp') => ({
      name, registrar: kamailio.uri(transport), outboundProxy: undefined, domain: kamailio.domain, realm: undefined,
      media: 'passthrough' as const, dtmf: 'rfc4733' as const, codecs: ['PCMU', 'telephone-event'], registerExpiresSeconds: 120, keepAliveSeconds: KEEP_ALIVE_S,
    });
    const udp = pbx('kamailio', 'udp');
    const tcp = pbx('kamailio-tcp', 'tcp');
    return [
      { mode: 'pbx', operatorId: 'op-1', pbx: udp, user: '1001', authUser: '1001', password: new Secret(PASSWORDS['1001'], 'test') },
      { mode: 'pbx', operatorId: 'op-2', pbx: udp, user: '1002', authUser: '1002', password: new Secret(WRONG, 'test') },
      { mode: 'pbx', operatorId: 'op-3', pbx: tcp, user: '1003', authUser: '1003', password: new Secret(PASSWORDS['1003'], 'test') },
    ];
  }

  function waitForState(operatorId: string, check: (state: LineState) => boolean, timeoutMs: number): Promise<LineState> {
    return new Promise((resolve, reject) => {
      const now = lines.stateOf(operatorId);
      if (now !== undefined && check(now)) return resolve(now);
      const timer = setTimeout(() => {
        off();
        reject(new Error(`${operatorId}: still ${JSON.stringify(lines.stateOf(operatorId))} after ${timeoutMs} ms`));
      }, timeoutMs);
      const off = lines.on('line-state', (event) => {
        if (event.operatorId !== operatorId || !check(event.state)) return;
        clearTimeout(timer);
        off();
        resolve(event.state);
      });
    });
  }

  /** Calls `user`'s address of record through Kamailio; resolves with its final answer. */
  async function call(user: string): Promise<SipResponse> {
    const invite = caller.ua.createRequest('INVITE', kamailio.aor(user), { from: `sip:tester@${LOOPBACK}`, contact: caller.ua.contact('tester') });
    invite.setBody('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n', 'application/sdp');
    const transaction = caller.ua.sendInvite(invite, { protocol: 'udp', host: kamailio.host, port: kamailio.port });
    return new Promise((resolve, reject) => {
      transaction.on('response', ({ response }) => void (response.status >= 200 && resolve(response)));
      transaction.on('timeout', ({ error }) => reject(error));
      transaction.on('transport-error', ({ error }) => reject(error));
    });
  }

  before(async () => {
    assertPrivateNetns();
    logPath = join(suiteDir(suite), 'lines.log');
    logFd = openSync(logPath, 'w');
    kamailio = await startKamailio({ suite, users: { ...PASSWORDS } });
    gateway = await userAgent();
    caller = await userAgent();
    gateway.ua.on('request', (incoming) => {
      const { request } = incoming;
      if (request.method !== 'INVITE') {
        incoming.respond(request.method === 'OPTIONS' ? 200 : 405);
        return;
      }
      const user = request.uri.type === 'sip' ? request.uri.user : undefined;
      const pbx = incoming.source.protocol === 'tcp' ? 'kamailio-tcp' : 'kamailio';
      invited.push({ user, operatorId: user === undefined ? undefined : lines.operatorForUser(pbx, user) });
      // Busy: an answer that ends the call without a dialog to tear down.
      incoming.respond(486);
    });
    const logger = pino({ level: 'debug' }, { write: (line: string) => void writeSync(logFd, line) });
    lines = new LineRegistrations({ ua: gateway.ua, lines: lineConfigs(), logger });
    lines.on('line-state', (event) => events.push({ at: Date.now(), ...event }));
    lines.start();
  });

  after(async () => {
    await lines?.close();
    await gateway?.close();
    await caller?.close();
    if (logFd !== undefined) closeSync(logFd);
    await stopAll();
  });

  it('registers the lines with the right passwords, over UDP and TCP', async () => {
    const started = Date.now();
    await waitForState('op-1', (s) => s.state === 'registered', 10_000);
    await waitForState('op-3', (s) => s.state === 'registered', 10_000);
    console.log(`lines registered ${Date.now() - started} ms after the test began`);
  });

  it('a wrong password fails its line with 401', async () => {
    const state = await waitForState('op-2', (s) => s.state === 'failed', 10_000);
    assert.equal(state.sipStatus, 401);
    assert.match(state.reason ?? '', /refused the line's credentials/);
  });

  it('calls to the lines’ addresses of record reach the gateway with the line user, mapped to the operator', async () => {
    for (const user of ['1001', '1003']) assert.equal((await call(user)).status, 486, `call to ${user}`);
    assert.equal((await call('1002')).status, 404, 'the failed line has no binding');
    assert.deepEqual(invited, [{ user: '1001', operatorId: 'op-1' }, { user: '1003', operatorId: 'op-3' }]);
  });

  it('Kamailio stopped: the lines are unregistered with a reason within 30 s', async () => {
    await kamailio.stop();
    const stoppedAt = Date.now();
    const [udp, tcp] = await Promise.all([
      waitForState('op-1', (s) => s.state === 'unregistered', DETECT_BOUND_MS + 5_000),
      waitForState('op-3', (s) => s.state === 'unregistered', DETECT_BOUND_MS + 5_000),
    ]);
    const took = (operatorId: string) => events.find((e) => e.operatorId === operatorId && e.at >= stoppedAt && e.state.state === 'unregistered')!.at - stoppedAt;
    console.log(`Kamailio stopped → op-1 (UDP) unregistered after ${took('op-1')} ms: ${udp.reason}`);
    console.log(`Kamailio stopped → op-3 (TCP) unregistered after ${took('op-3')} ms: ${tcp.reason}`);
    assert.equal(udp.reason, 'PBX not responding');
    assert.match(tcp.reason ?? '', /^PBX (not responding|unreachable)/);
    assert.ok(took('op-1') <= DETECT_BOUND_MS, `UDP line: ${took('op-1')} ms`);
    assert.ok(took('op-3') <= DETECT_BOUND_MS, `TCP line: ${took('op-3')} ms`);
    assert.equal(lines.stateOf('op-2')?.state, 'failed', 'a refused line stays failed');
  });

  it('Kamailio started again on the same port: the lines register again by themselves', async () => {
    // Timed from the start of Kamailio's launch: a line may register again while Kamailio is still being
    // reported ready, and that counts.
    const backAt = Date.now();
    kamailio = await startKamailio({ suite, users: { ...PASSWORDS }, port: kamailio.port });
    await Promise.all([
      waitForState('op-1', (s) => s.state === 'registered', RECOVER_BOUND_MS),
      waitForState('op-3', (s) => s.state === 'registered', RECOVER_BOUND_MS),
    ]);
    const took = (operatorId: string) => events.find((e) => e.operatorId === operatorId && e.at >= backAt && e.state.state === 'registered')!.at - backAt;
    console.log(`Kamailio back → op-1 (UDP) registered after ${took('op-1')} ms, op-3 (TCP) after ${took('op-3')} ms`);
    invited.length = 0;
    assert.equal((await call('1001')).status, 486, 'the new Kamailio knows the line again');
    assert.deepEqual(invited, [{ user: '1001', operatorId: 'op-1' }]);
  });

  it('no password appears in the log or in any line-state event', () => {
    const log = readFileSync(logPath, 'utf8');
    assert.ok(log.includes('line registered'), 'the log is the one written');
    const text = log + JSON.stringify(events);
    for (const password of [...Object.values(PASSWORDS), WRONG]) assert.equal(text.includes(password), false, `password ${password.slice(0, 6)}… leaked`);
  });
});
