import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Call, CallEnded } from './call.js';
import { ClientError, MicrophoneError } from './errors.js';
import type { MediaErrorEvent } from './phone.js';
import { ANSWER, EVENT_EXAMPLES, NOW, OFFER } from './test-support/examples.js';
import { FakePeer, LOCAL_SDP, harness, settle, type Harness } from './test-support/fakes.js';

/** Places a call to 102 and answers call.start with `callId`. */
async function placeCall(h: Harness, callId = 'c-81f2', context?: string): Promise<Call> {
  const placing = h.phone.call('102', context === undefined ? {} : { context });
  await settle();
  h.socket().reply('call.start', { callId });
  return placing;
}

const VIA_GATEWAY = { dtmf: 'gateway', transfer: true } as const;

function incoming(h: Harness, callId = 'c-9d30'): Call {
  h.socket().receive({ ...EVENT_EXAMPLES['call.incoming'], callId });
  const call = h.phone.calls.find((c) => c.id === callId);
  if (!call) throw new Error('no incoming call');
  return call;
}

describe('outgoing calls', () => {
  it('offer → callId → ringing → early media → answered → hangup → ended', async () => {
    const h = harness();
    await h.login();
    const call = await placeCall(h, 'c-81f2', 'crm:deal/4711');
    const start = h.socket().last('call.start');
    assert.deepEqual(start, { type: 'call.start', id: start.id, target: '102', sdp: LOCAL_SDP, context: 'crm:deal/4711' });
    assert.equal(h.streams.length, 1, 'the microphone was opened');
    const peer = h.peer();
    assert.deepEqual(peer.tracks, [h.streams[0]!.tracks[0]]);
    assert.deepEqual(peer.config.iceServers, [
      { urls: ['stun:turn.example.com:3478'] },
      { urls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349'], username: '1732283600:op-17', credential: 'qZ3b0f2Yk1m8' },
    ]);
    assert.equal(call.id, 'c-81f2');
    assert.equal(call.direction, 'outbound');
    assert.deepEqual(call.remote, { number: '102' });
    assert.equal(call.state, 'ringing');
    assert.deepEqual(h.phone.calls, [call]);

    const states: string[] = [];
    call.on('state', ({ state }) => states.push(state));
    h.socket().receive({ type: 'call.ringing', callId: 'c-81f2' });
    h.socket().receive({ type: 'call.progress', callId: 'c-81f2', sdp: ANSWER });
    h.socket().receive({ type: 'call.answered', callId: 'c-81f2', sdp: ANSWER, answeredAt: NOW, features: VIA_GATEWAY });
    await settle();
    assert.deepEqual(states, ['early', 'active']);
    assert.deepEqual(peer.remoteDescriptions, [
      { type: 'pranswer', sdp: ANSWER },
      { type: 'answer', sdp: ANSWER },
    ]);

    const remote = { id: 'remote-stream' };
    peer.remoteTrack(remote);
    assert.equal(h.audio.srcObject, remote);
    assert.equal(h.audio.plays, 1);

    const hangingUp = call.hangup();
    await settle();
    assert.equal(h.socket().last('call.hangup').callId, 'c-81f2');
    h.socket().reply('call.hangup', {});
    await hangingUp;
    const ended: CallEnded[] = [];
    call.on('ended', (e) => ended.push(e));
    h.socket().receive({ type: 'call.ended', callId: 'c-81f2', cause: 'normal', endedAt: NOW });
    assert.deepEqual(ended, [{ cause: 'normal' }]);
    assert.equal(call.state, 'ended');
    assert.equal(call.endCause, 'normal');
    assert.ok(peer.closed);
    assert.ok(h.streams[0]!.tracks[0]!.stopped);
    assert.equal(h.audio.srcObject, null);
    assert.deepEqual(h.phone.calls, []);
  });

  it('hangup() before an answer sends call.cancel; the end carries the cause and SIP status', async () => {
    const h = harness();
    await h.login();
    const call = await placeCall(h);
    const cancelling = call.hangup();
    await settle();
    assert.equal(h.socket().requests('call.hangup').length, 0);
    h.socket().reply('call.cancel', {});
    await cancelling;
    h.socket().receive({ type: 'call.ended', callId: 'c-81f2', cause: 'cancelled', sipStatus: 487, reason: 'Request Terminated', endedAt: NOW });
    assert.equal(call.endCause, 'cancelled');
    assert.equal(call.sipStatus, 487);
    assert.equal(call.endReason, 'Request Terminated');
  });

  it('hangup() racing an answer falls back from call.cancel to call.hangup', async () => {
    const h = harness();
    await h.login();
    const call = await placeCall(h);
    const hangingUp = call.hangup();
    await settle();
    h.socket().replyError('call.cancel', 'call-state');
    await settle();
    h.socket().reply('call.hangup', {});
    await hangingUp;
  });

  it('releases the microphone when the gateway refuses the call', async () => {
    const h = harness();
    await h.login();
    const placing = h.phone.call('102');
    await settle();
    h.socket().replyError('call.start', 'invalid-target');
    await assert.rejects(placing, (error: unknown) => error instanceof ClientError && error.code === 'invalid-target');
    assert.ok(h.peer().closed);
    assert.ok(h.streams[0]!.tracks[0]!.stopped);
    assert.deepEqual(h.phone.calls, []);
  });

  it('trickles candidates gathered after the offer was sent, holding early ones until the call has an id', async () => {
    const h = harness({ iceGatheringTimeoutMs: 500 });
    await h.login();
    FakePeer.gatherAtOnce = false;
    const placing = h.phone.call('102');
    await settle();
    assert.equal(h.socket().requests('call.start').length, 0, 'waits for gathering');
    h.peer().gather('candidate:0 1 udp 1 192.0.2.1 1000 typ host');
    await h.timers.advance(500);
    assert.equal(h.socket().requests('call.start').length, 1);
    h.peer().gather('candidate:1 1 udp 2122260223 192.0.2.10 54400 typ host');
    h.socket().reply('call.start', { callId: 'c-81f2' });
    await placing;
    h.peer().completeGathering();
    const ice = h.socket().requests('call.ice');
    assert.deepEqual(
      ice.map(({ callId, candidate }) => ({ callId, candidate })),
      [
        { callId: 'c-81f2', candidate: { candidate: 'candidate:1 1 udp 2122260223 192.0.2.10 54400 typ host', sdpMid: '0', sdpMLineIndex: 0 } },
        { callId: 'c-81f2', candidate: null },
      ],
    );
  });

  it('applies remote candidates once a remote description exists', async () => {
    const h = harness();
    await h.login();
    await placeCall(h);
    const candidate = { candidate: 'candidate:9 1 udp 1 198.51.100.7 4000 typ host', sdpMid: '0' };
    h.socket().receive({ type: 'call.ice', callId: 'c-81f2', candidate });
    await settle();
    assert.deepEqual(h.peer().candidates, []);
    h.socket().receive({ type: 'call.answered', callId: 'c-81f2', sdp: ANSWER, answeredAt: NOW, features: VIA_GATEWAY });
    h.socket().receive({ type: 'call.ice', callId: 'c-81f2', candidate: null });
    await settle();
    assert.deepEqual(h.peer().candidates, [candidate, null]);
  });

  it('mute() disables the microphone track and nothing else', async () => {
    const h = harness();
    await h.login();
    const call = await placeCall(h);
    const sent = h.socket().sent.length;
    call.mute(true);
    assert.equal(h.streams[0]!.tracks[0]!.enabled, false);
    assert.equal(call.muted, true);
    call.mute(false);
    assert.equal(h.streams[0]!.tracks[0]!.enabled, true);
    assert.equal(h.socket().sent.length, sent);
  });

  it('while the operator holds, the microphone and the remote audio are off; resuming keeps a mute', async () => {
    const h = harness();
    await h.login();
    const call = await placeCall(h);
    const microphone = h.streams[0]!.tracks[0]!;
    const speaker = h.peer().remoteTrack({ id: 'remote' });
    const hold = (local: boolean, remote = false) => h.socket().receive({ type: 'call.hold-state', callId: 'c-81f2', local, remote });
    hold(true);
    assert.deepEqual([microphone.enabled, speaker.enabled], [false, false], 'held');
    call.mute(true);
    hold(false);
    assert.deepEqual([microphone.enabled, speaker.enabled], [false, true], 'resumed, still muted');
    call.mute(false);
    assert.equal(microphone.enabled, true);
    hold(false, true);
    assert.deepEqual([microphone.enabled, speaker.enabled], [true, true], "the far end's hold is the far end's to carry out");
    hold(true, true);
    const late = h.peer().remoteTrack({ id: 'late' });
    assert.equal(late.enabled, false, 'a track that arrives during the hold stays silent');
  });

  it('reports blocked playback without failing the call', async () => {
    const h = harness();
    await h.login();
    const call = await placeCall(h);
    const errors: string[] = [];
    h.phone.on('error', (error) => errors.push(error.code));
    h.audio.playResult = Promise.reject(Object.assign(new Error('autoplay'), { name: 'NotAllowedError' }));
    h.peer().remoteTrack({ id: 'remote' });
    await settle();
    assert.deepEqual(errors, ['audio-playback']);
    assert.equal(call.state, 'ringing');
  });

  it('sends hold, resume, DTMF and transfer requests and follows hold-state events', async () => {
    const h = harness();
    await h.login();
    const call = await placeCall(h);
    await assert.rejects(call.sendDtmf('1'), { code: 'invalid-state' }, 'no digits before the answer');
    assert.equal(call.features, undefined);
    h.socket().receive({ type: 'call.answered', callId: 'c-81f2', sdp: ANSWER, answeredAt: NOW, features: VIA_GATEWAY });
    assert.deepEqual(call.features, VIA_GATEWAY);
    const done = Promise.all([call.hold(), call.resume(), call.sendDtmf('12#', 120), call.transfer('204')]);
    await settle();
    h.socket().reply('call.hold', {});
    h.socket().reply('call.resume', {});
    h.socket().reply('call.dtmf', {});
    h.socket().reply('call.transfer', {});
    await done;
    assert.equal(h.socket().last('call.dtmf').digits, '12#');
    assert.equal(h.socket().last('call.transfer').target, '204');
    const holds: unknown[] = [];
    call.on('hold', (hold) => holds.push(hold));
    h.socket().receive({ type: 'call.hold-state', callId: 'c-81f2', local: false, remote: true });
    assert.deepEqual(holds, [{ local: false, remote: true }]);
    assert.deepEqual(call.holdState, { local: false, remote: true });
  });

  it('puts digits in its own audio when the PBX takes them there, after those still waiting, and asks the gateway nothing', async () => {
    const h = harness();
    await h.login();
    const call = await placeCall(h);
    const dtmf = h.peer().dtmf;
    h.socket().receive({ type: 'call.answered', callId: 'c-81f2', sdp: ANSWER, answeredAt: NOW, features: { dtmf: 'media', transfer: true } });
    // At once: the digits wait for the answer, without which the sender could not insert them.
    assert.equal(dtmf.canInsertDTMF, false);
    const sent = h.socket().sent.length;
    await call.sendDtmf('12');
    dtmf.playOne();
    await call.sendDtmf('#');
    assert.deepEqual(dtmf.inserted, [
      { tones: '12', duration: 100, gap: 70 },
      { tones: '2#', duration: 100, gap: 70 },
    ]);
    await assert.rejects(call.sendDtmf('3', 250), (error: ClientError) => error.code === 'rate-limited' && error.details?.retryAfterMs === 340, 'another duration waits for the digits queued');
    assert.equal(h.socket().sent.length, sent, 'no call.dtmf: the gateway never sees these digits');
    await assert.rejects(call.sendDtmf('12E'), { code: 'bad-request' });
    await assert.rejects(call.sendDtmf(''), { code: 'bad-request' });
    await assert.rejects(call.sendDtmf('1', 39), { code: 'bad-request' });
    await assert.rejects(call.sendDtmf('1', 2001), { code: 'bad-request' });
    await assert.rejects(call.sendDtmf('1'.repeat(31)), (error: ClientError) => error.code === 'rate-limited' && error.details?.retryAfterMs === 170);
    await call.sendDtmf('1'.repeat(30));
    assert.equal(dtmf.toneBuffer.length, 32, 'up to 32 wait at a time');
    dtmf.toneBuffer = '';
    await call.sendDtmf('9', 250);
    assert.deepEqual(dtmf.inserted.at(-1), { tones: '9', duration: 250, gap: 70 }, 'once the queue is empty, any duration');
    dtmf.canInsertDTMF = false;
    await assert.rejects(call.sendDtmf('5'), { code: 'not-supported' });
    assert.equal(dtmf.inserted.length, 4);
  });

  it('refuses digits on a call that takes none without asking the gateway', async () => {
    const h = harness();
    await h.login();
    const call = await placeCall(h);
    h.socket().receive({ type: 'call.answered', callId: 'c-81f2', sdp: ANSWER, answeredAt: NOW, features: { dtmf: 'none', transfer: false } });
    const sent = h.socket().sent.length;
    await assert.rejects(call.sendDtmf('1'), { code: 'not-supported' });
    assert.equal(h.socket().sent.length, sent);
    assert.deepEqual(h.peer().dtmf.inserted, []);
  });

  it('learns who the dialled number is when the gateway finds out', async () => {
    const h = harness();
    await h.login();
    const call = await placeCall(h);
    assert.equal(call.contact, undefined);
    const seen: unknown[] = [];
    call.on('contact', (contact) => seen.push(contact));
    const contact = { name: 'Anna Petrova', company: 'Acme', url: 'https://crm.example.com/c/7' };
    h.socket().receive({ type: 'call.contact', callId: 'c-81f2', contact });
    assert.deepEqual(seen, [contact]);
    assert.deepEqual(call.contact, contact);
    // A link the protocol does not allow never reaches the call.
    h.socket().receive({ type: 'call.contact', callId: 'c-81f2', contact: { name: 'x', url: 'javascript:alert(1)' } });
    assert.deepEqual(call.contact, contact);
  });
});

describe('incoming calls', () => {
  it('announces the call with the caller and the screen-pop contact, and answers it', async () => {
    const h = harness();
    await h.login();
    const announced: Call[] = [];
    h.phone.on('incoming', (call) => announced.push(call));
    const call = incoming(h);
    assert.deepEqual(announced, [call]);
    assert.equal(call.direction, 'inbound');
    assert.deepEqual(call.remote, { number: '+4915112345678', name: 'Grace Hopper' });
    assert.equal(call.contact?.url, 'https://crm.example.com/contacts/4711');
    assert.equal(h.peers.length, 0, 'no microphone or peer connection before the operator answers');

    // A candidate that arrives while ringing is kept for the peer connection that answering creates.
    const early = { candidate: 'candidate:3 1 udp 1 203.0.113.3 5000 typ host' };
    h.socket().receive({ type: 'call.ice', callId: 'c-9d30', candidate: early });
    const answering = call.answer();
    await settle();
    const peer = h.peer();
    assert.deepEqual(peer.remoteDescriptions, [{ type: 'offer', sdp: OFFER }]);
    assert.deepEqual(peer.candidates, [early]);
    assert.deepEqual(h.socket().last('call.answer'), { type: 'call.answer', id: h.socket().last('call.answer').id, callId: 'c-9d30', sdp: LOCAL_SDP });
    h.socket().reply('call.answer', {});
    let answered = false;
    void answering.then(() => (answered = true));
    await settle();
    assert.equal(call.state, 'ringing', 'active once the gateway says so');
    assert.equal(answered, false, 'answer() waits for that too, so digits can follow it at once');
    h.socket().receive({ type: 'call.answered', callId: 'c-9d30', answeredAt: NOW, features: VIA_GATEWAY });
    await answering;
    assert.equal(call.state, 'active');
    assert.deepEqual(call.features, VIA_GATEWAY);
    assert.equal(peer.remoteDescriptions.length, 1);
  });

  it('rejects with decline or busy', async () => {
    const h = harness();
    await h.login();
    const call = incoming(h);
    const rejecting = call.reject('busy');
    await settle();
    assert.equal(h.socket().last('call.reject').reason, 'busy');
    h.socket().reply('call.reject', {});
    await rejecting;
    const declined = incoming(h, 'c-9d31');
    void declined.hangup().catch(() => {});
    await settle();
    assert.deepEqual(
      h.socket().requests('call.reject').map((r) => [r.callId, r.reason]),
      [
        ['c-9d30', 'busy'],
        ['c-9d31', 'decline'],
      ],
    );
  });

  it('ends with answered-elsewhere when another tab answers', async () => {
    const h = harness();
    await h.login();
    const call = incoming(h);
    const ended: CallEnded[] = [];
    call.on('ended', (e) => ended.push(e));
    h.socket().receive({ type: 'call.ended', callId: 'c-9d30', cause: 'answered-elsewhere', endedAt: NOW });
    assert.deepEqual(ended, [{ cause: 'answered-elsewhere' }]);
    assert.deepEqual(h.phone.calls, []);
    await assert.rejects(call.answer(), (error: unknown) => error instanceof ClientError && error.code === 'invalid-state');
  });

  it('gives back the microphone when another tab won the race', async () => {
    const h = harness();
    await h.login();
    const call = incoming(h);
    const answering = call.answer();
    await settle();
    h.socket().replyError('call.answer', 'already-answered');
    await assert.rejects(answering, (error: unknown) => error instanceof ClientError && error.code === 'already-answered');
    assert.ok(h.peer().closed);
    assert.ok(h.streams[0]!.tracks[0]!.stopped);
  });
});

describe('microphone errors', () => {
  const kinds: [string, MediaErrorEvent['kind']][] = [
    ['NotAllowedError', 'denied'],
    ['SecurityError', 'denied'],
    ['NotFoundError', 'missing'],
    ['OverconstrainedError', 'missing'],
    ['NotReadableError', 'busy'],
    ['AbortError', 'busy'],
    ['TypeError', 'failed'],
  ];

  for (const [name, kind] of kinds) {
    it(`${name} → ${kind}, when calling and when answering`, async () => {
      const h = harness();
      await h.login();
      const reported: MediaErrorEvent[] = [];
      h.phone.on('media-error', (event) => reported.push(event));
      h.microphone.failWith = name;
      const isMicError = (error: unknown) =>
        error instanceof MicrophoneError && error.kind === kind && error.code === `microphone-${kind}` && (error.cause as Error).name === name;
      await assert.rejects(h.phone.call('102'), isMicError);
      assert.equal(h.socket().requests('call.start').length, 0);

      const call = incoming(h);
      await assert.rejects(call.answer(), isMicError);
      assert.equal(call.state, 'ringing', 'still ringing, so it can be rejected');
      assert.equal(h.socket().requests('call.answer').length, 0);
      assert.deepEqual(
        reported.map(({ kind: k, callId }) => ({ kind: k, callId })),
        [
          { kind, callId: undefined },
          { kind, callId: 'c-9d30' },
        ],
      );
      assert.ok(reported.every((event) => event.message.length > 0));
      const rejecting = call.reject();
      await settle();
      h.socket().reply('call.reject', {});
      await rejecting;
    });
  }
});

describe('losing the connection', () => {
  it('ends every call locally, stops the microphone and closes the peer connections', async () => {
    const h = harness();
    await h.login();
    const outgoing = await placeCall(h);
    const ended: CallEnded[] = [];
    outgoing.on('ended', (e) => ended.push(e));
    h.socket().serverClose(1006);
    assert.deepEqual(ended, [{ cause: 'connection-lost' }]);
    assert.ok(h.peer().closed);
    assert.ok(h.streams[0]!.tracks[0]!.stopped);
    assert.deepEqual(h.phone.calls, []);
  });

  it('after reconnecting, ends the calls whose media this tab carried', async () => {
    const h = harness();
    await h.login();
    await placeCall(h);
    h.socket().serverClose(4201);
    await h.timers.advance(750);
    h.socket().open();
    h.socket().reply(
      'hello',
      (await import('./test-support/examples.js')).welcomeResult({
        calls: [
          { callId: 'c-81f2', direction: 'outbound', state: 'early', remote: { number: '102' }, here: true, startedAt: NOW },
          { callId: 'c-9d30', direction: 'inbound', state: 'ringing', remote: { number: '+4915112345678' }, here: false, startedAt: NOW },
        ],
      }),
    );
    await settle();
    assert.deepEqual(
      h.socket().sent.filter((m) => m.type !== 'hello').map((m) => m.type),
      ['call.cancel'],
    );
  });

  it('disconnect() hangs up this tab\'s calls but leaves a ringing incoming call to other tabs', async () => {
    const h = harness();
    await h.login();
    await placeCall(h);
    incoming(h);
    const socket = h.socket();
    h.phone.disconnect();
    assert.deepEqual(
      socket.sent.filter((m) => m.type.startsWith('call.') && m.type !== 'call.start').map((m) => m.type),
      ['call.cancel'],
    );
    assert.deepEqual(h.phone.calls, []);
  });
});
