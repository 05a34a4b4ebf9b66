/**
 * Hold and resume on calls between a browser and SIP, on loopback UDP: the gateway's user agent against one that
 * plays the PBX. Our hold is a re-INVITE that changes only the direction of the media; the PBX's hold is taken
 * the same way; collisions (491), refusals, a challenge and a lost dialog each leave the call as RFC 3261 §14 says.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { formatNameAddr, parseUri, type Dialog, type IncomingRequest, type ManualClock, type SipResponse, type TransportAddress, type UserAgent } from '@switchboard/sip';
import type { SipCallLayer } from './sip-calls.js';
import { OFFER, waitFor, type FakeTab, type MarkingMedia } from './test-support/b2bua-fakes.js';
import { deliver, startLineCallHarness, type LineCallHarness } from './test-support/line-call-harness.js';

/** The direction attribute of the (only) audio section, and the o= version. */
function directionOf(sdp: string): string {
  return /^a=(sendrecv|sendonly|recvonly|inactive)\r?$/m.exec(sdp)?.[1] ?? 'sendrecv';
}
function versionOf(sdp: string): number {
  return Number(/^o=\S+ \S+ (\d+) /m.exec(sdp)?.[1]);
}
function holdEvents(tab: FakeTab): [unknown, unknown][] {
  return tab.events.filter((e) => e.type === 'call.hold-state').map((e) => [(e as { local: boolean }).local, (e as { remote: boolean }).remote]);
}

describe('hold on calls to SIP', () => {
  let harness: LineCallHarness;
  let pbxUa: UserAgent;
  let layer: SipCallLayer;
  let tab: FakeTab;
  let gateway: TransportAddress;
  let pbxPort: number;
  /** The B2BUA's clock (the user agents keep real time): re-INVITE deadlines and glare waits advance by hand. */
  let clock: ManualClock;
  let inbox: IncomingRequest[];
  /** CSeq numbers of the ACKs the PBX received. */
  let acks: number[];

  beforeEach(async () => {
    harness = await startLineCallHarness();
    ({ pbxUa, layer, tab, gateway, pbxPort, clock, inbox, acks } = harness);
  });

  afterEach(() => harness.close());

  const answeredInbound = () => harness.answeredInbound();

  /** The PBX's re-INVITE in the call; resolves with the gateway's final answer, ACKed. */
  async function reinviteFromPbx(dialog: Dialog, sdp: string): Promise<SipResponse> {
    const request = dialog.createRequest('INVITE', { body: sdp, contentType: 'application/sdp' });
    const transaction = pbxUa.sendInvite(request, gateway);
    const response = await new Promise<SipResponse>((resolve) => transaction.on('response', ({ response: r }) => r.status >= 200 && resolve(r)));
    if (response.status < 300) await pbxUa.sendAck(dialog.createAck(request), gateway);
    return response;
  }

  function takeReinvite(): IncomingRequest | undefined {
    const index = inbox.findIndex((i) => i.request.method === 'INVITE' && i.request.toTag !== undefined);
    return index < 0 ? undefined : inbox.splice(index, 1)[0];
  }

  /** The next re-INVITE the PBX receives. */
  function nextReinvite(): Promise<IncomingRequest> {
    return waitFor(takeReinvite);
  }

  /** Answers a re-INVITE as a phone would: the direction that meets the offer's. */
  function accept(incoming: IncomingRequest, direction: string): void {
    const body = OFFER.replace('o=- 1 1 ', `o=- 1 ${incoming.request.cseq!.seq + 10} `).replace('t=0 0\r\n', `t=0 0\r\na=${direction}\r\n`);
    incoming.respond(200, { body, contentType: 'application/sdp', headers: [['Contact', formatNameAddr({ displayName: undefined, uri: parseUri(`sip:pbx@127.0.0.1:${pbxPort}`), params: new Map() })]] });
  }

  it('the operator holds and resumes: a re-INVITE with sendonly, then sendrecv, each o= version one up, ACKed; the tab is told after the reply', async () => {
    const { callId, answer } = await answeredInbound();
    const holding = layer.handle(tab, { type: 'call.hold', id: 'h1', callId }, deliver);
    const hold = await nextReinvite();
    assert.equal(directionOf(hold.request.bodyText), 'sendonly');
    assert.equal(versionOf(hold.request.bodyText), versionOf(answer) + 1);
    assert.equal(hold.request.bodyText.replace(/^o=.*$/m, '').replace(/^a=sendonly\r\n/m, ''), answer.replace(/^o=.*$/m, ''), 'only the direction and the version change');
    assert.equal(holdEvents(tab).length, 0, 'nothing is said before the far end agrees');
    accept(hold, 'recvonly');
    await holding;
    assert.deepEqual(holdEvents(tab), [[true, false]]);
    await waitFor(() => acks.find((seq) => seq === hold.request.cseq!.seq), 2000);
    const resuming = layer.handle(tab, { type: 'call.resume', id: 'h2', callId }, deliver);
    const resume = await nextReinvite();
    assert.equal(directionOf(resume.request.bodyText), 'sendrecv');
    assert.equal(versionOf(resume.request.bodyText), versionOf(answer) + 2);
    assert.ok(resume.request.cseq!.seq > hold.request.cseq!.seq);
    accept(resume, 'sendrecv');
    await resuming;
    assert.deepEqual(holdEvents(tab), [[true, false], [false, false]]);
    await layer.handle(tab, { type: 'call.resume', id: 'h3', callId }, deliver);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(inbox.filter((i) => i.request.method === 'INVITE').length, 0, 'resuming a call not held sends nothing');
    assert.equal(holdEvents(tab).length, 2);
    assert.deepEqual(harness.medias[0]?.holdMusic, [true, false], 'the music plays from the hold to the resume, and is not asked again');
  });

  it('the hold neither waits for the music nor fails with it', async () => {
    const { callId } = await answeredInbound();
    const media = harness.medias[0]!;
    media.setHoldMusic = () => Promise.reject(new Error('the media relay failed'));
    const holding = layer.handle(tab, { type: 'call.hold', id: 'h1', callId }, deliver);
    accept(await nextReinvite(), 'recvonly');
    await holding;
    media.setHoldMusic = () => new Promise<void>(() => {});
    const resuming = layer.handle(tab, { type: 'call.resume', id: 'h2', callId }, deliver);
    accept(await nextReinvite(), 'sendrecv');
    await resuming;
    assert.deepEqual(holdEvents(tab), [[true, false], [false, false]]);
  });

  it('the PBX holds: its sendonly offer gets recvonly; with both holding the stream is inactive; its resume leaves our hold in force', async () => {
    const { callId, dialog, answer } = await answeredInbound();
    const pbxHold = (version: number, direction: string) => OFFER.replace('o=- 1 1 ', `o=- 1 ${version} `).replace('t=0 0\r\n', `t=0 0\r\na=${direction}\r\n`);
    const held = await reinviteFromPbx(dialog, pbxHold(2, 'sendonly'));
    assert.equal(held.status, 200);
    assert.equal(directionOf(held.bodyText), 'recvonly');
    assert.equal(versionOf(held.bodyText), versionOf(answer) + 1);
    assert.deepEqual(holdEvents(tab), [[false, true]]);

    const holding = layer.handle(tab, { type: 'call.hold', id: 'h1', callId }, deliver);
    const ours = await nextReinvite();
    assert.equal(directionOf(ours.request.bodyText), 'inactive', 'we hold a call the PBX holds');
    accept(ours, 'inactive');
    await holding;
    assert.deepEqual(holdEvents(tab), [[false, true], [true, true]]);

    const resumed = await reinviteFromPbx(dialog, pbxHold(3, 'sendrecv'));
    assert.equal(directionOf(resumed.bodyText), 'sendonly', 'our hold is still in force');
    assert.deepEqual(holdEvents(tab).at(-1), [true, false]);
    const again = await reinviteFromPbx(dialog, pbxHold(3, 'sendrecv'));
    assert.equal(again.bodyText, resumed.bodyText, 'a session refresh gets the same description back');
    assert.equal(holdEvents(tab).length, 3, 'and says nothing');
    assert.deepEqual(harness.medias[0]?.holdMusic, [true], 'the PBX’s own hold and resume leave the music to ours');
  });

  it('a hold the PBX refuses leaves the call as it was, and a later one works', async () => {
    const { callId } = await answeredInbound();
    const refused = layer.handle(tab, { type: 'call.hold', id: 'h1', callId }, deliver);
    (await nextReinvite()).respond(488);
    await assert.rejects(refused, (error: { code?: string; details?: { sipStatus?: number } }) => error.code === 'not-supported' && error.details?.sipStatus === 488);
    assert.deepEqual(harness.medias[0]?.holdMusic, [], 'no music for a hold the far end refused');
    assert.deepEqual(holdEvents(tab), []);
    const holding = layer.handle(tab, { type: 'call.hold', id: 'h2', callId }, deliver);
    const second = await nextReinvite();
    assert.equal(directionOf(second.request.bodyText), 'sendonly');
    accept(second, 'recvonly');
    await holding;
    assert.deepEqual(holdEvents(tab), [[true, false]]);
    assert.equal(tab.events.some((e) => e.type === 'call.ended'), false);
  });

  it('glare: a 491 is followed by a new offer; a re-INVITE from the PBX while ours is pending gets 491', async () => {
    const { callId, dialog } = await answeredInbound();
    const holding = layer.handle(tab, { type: 'call.hold', id: 'h1', callId }, deliver);
    const first = await nextReinvite();
    const crossing = await reinviteFromPbx(dialog, OFFER.replace('o=- 1 1 ', 'o=- 1 2 ').replace('t=0 0\r\n', 't=0 0\r\na=sendonly\r\n'));
    assert.equal(crossing.status, 491, 'ours is pending');
    first.respond(491);
    const retry = await waitFor(() => {
      clock.advance(10);
      return takeReinvite();
    });
    assert.ok(retry.request.cseq!.seq > first.request.cseq!.seq, 'a new transaction');
    assert.equal(directionOf(retry.request.bodyText), 'sendonly');
    accept(retry, 'recvonly');
    await holding;
    assert.deepEqual(holdEvents(tab), [[true, false]]);
  });

  it('a 481 to our re-INVITE means the PBX lost the call: it ends as failed and the hold is refused', async () => {
    const { callId } = await answeredInbound();
    const holding = layer.handle(tab, { type: 'call.hold', id: 'h1', callId }, deliver);
    (await nextReinvite()).respond(481);
    await assert.rejects(holding, { code: 'call-state' });
    const ended = await tab.next('call.ended');
    assert.equal(ended.cause, 'failed');
    assert.equal(ended.sipStatus, 481);
  });

  it('a BYE while our re-INVITE is pending ends the call normally and the hold is refused at once; a 2xx after it is still ACKed', async () => {
    const { callId, dialog } = await answeredInbound();
    const refused = assert.rejects(layer.handle(tab, { type: 'call.hold', id: 'h1', callId }, deliver), { code: 'call-state' });
    const pending = await nextReinvite();
    assert.equal((await pbxUa.request(dialog.createRequest('BYE'), gateway)).status, 200);
    await refused;
    assert.equal((await tab.next('call.ended')).cause, 'normal');
    accept(pending, 'recvonly');
    await waitFor(() => acks.find((seq) => seq === pending.request.cseq!.seq), 2000);
  });

  it('a re-INVITE answered 180 and then nothing is CANCELled after 8 s: the hold fails, the call goes on and takes re-INVITEs again', async () => {
    const { callId, dialog } = await answeredInbound();
    const holding = layer.handle(tab, { type: 'call.hold', id: 'h1', callId }, deliver);
    const stuck = await nextReinvite();
    stuck.respond(180);
    await new Promise((resolve) => setTimeout(resolve, 50));
    clock.advance(7999);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(stuck.transaction.state, 'proceeding', 'not cancelled before 8 s');
    clock.advance(1);
    await assert.rejects(holding, (error: { code?: string; details?: { sipStatus?: number } }) => error.code === 'not-supported' && error.details?.sipStatus === 487);
    assert.deepEqual(holdEvents(tab), []);
    const refreshed = await reinviteFromPbx(dialog, OFFER.replace('o=- 1 1 ', 'o=- 1 2 ').replace('t=0 0\r\n', 't=0 0\r\na=sendonly\r\n'));
    assert.equal(refreshed.status, 200, 'no longer 491: nothing is pending');
    assert.equal(tab.events.some((e) => e.type === 'call.ended'), false);
  });

  /** The PBX's offer with its media moved to `port` (and `address`), and its o= version set. */
  const moved = (version: number, port: number, address = '127.0.0.1') =>
    OFFER.replace('o=- 1 1 ', `o=- 1 ${version} `).replace('m=audio 4000', `m=audio ${port}`).replace('c=IN IP4 127.0.0.1', `c=IN IP4 ${address}`);

  it('the PBX moves its media: the relay answers the new offer; the 200 carries its answer as our next version; our later hold builds on it', async () => {
    const { callId, dialog, answer } = await answeredInbound();
    const media = harness.medias[0]!;
    const response = await reinviteFromPbx(dialog, moved(2, 4100));
    assert.equal(response.status, 200);
    assert.deepEqual(media.reoffers.map((sdp) => /m=audio (\d+)/.exec(sdp)?.[1]), ['4100'], 'the relay was given the new offer');
    assert.match(response.bodyText, /a=x-bridge:to-sip-reanswer/, 'the answer is the relay’s');
    assert.equal(/^o=\S+ (\S+)/m.exec(response.bodyText)?.[1], /^o=\S+ (\S+)/m.exec(answer)?.[1], 'the same session id');
    assert.equal(versionOf(response.bodyText), versionOf(answer) + 1, 'its next version');
    assert.deepEqual(holdEvents(tab), [], 'a move is no hold');

    const refreshed = await reinviteFromPbx(dialog, moved(2, 4100));
    assert.equal(refreshed.bodyText, response.bodyText, 'a refresh of the moved session gets the same answer');
    assert.equal(media.reoffers.length, 1, 'without the relay');

    const holding = layer.handle(tab, { type: 'call.hold', id: 'h1', callId }, deliver);
    const hold = await nextReinvite();
    assert.match(hold.request.bodyText, /a=x-bridge:to-sip-reanswer/, 'our hold offers the session as moved');
    assert.equal(versionOf(hold.request.bodyText), versionOf(response.bodyText) + 1);
    assert.equal(directionOf(hold.request.bodyText), 'sendonly');
    accept(hold, 'recvonly');
    await holding;
  });

  it('a move the relay cannot take is refused and leaves the session as it was: 488 for passthrough or another codec, 500 when the relay fails', async () => {
    const { callId, dialog, answer } = await answeredInbound();
    const media = harness.medias[0]!;
    const refusals: [string, number][] = [['unsupported', 488], ['no-common-codec', 488], ['invalid-sdp', 400], ['unreachable', 500]];
    for (const [code, status] of refusals) {
      media.reoffer = async () => {
        throw Object.assign(new Error(code), { code });
      };
      const response = await reinviteFromPbx(dialog, moved(2, 4100));
      assert.equal(response.status, status, code);
    }
    assert.equal(tab.events.some((e) => e.type === 'call.ended'), false, 'the call goes on');
    const holding = layer.handle(tab, { type: 'call.hold', id: 'h1', callId }, deliver);
    const hold = await nextReinvite();
    assert.equal(hold.request.bodyText.replace(/^o=.*$/m, '').replace(/^a=sendonly\r\n/m, ''), answer.replace(/^o=.*$/m, ''), 'the session as it was before');
    accept(hold, 'recvonly');
    await holding;
  });

  /** Makes the call's relay take its time over re-offers: each answers (marked "slow") once `release()` is called. */
  function slowRelay(): { media: MarkingMedia; release: () => void } {
    const media = harness.medias[0]!;
    let release!: () => void;
    const relayed = new Promise<void>((resolve) => (release = resolve));
    media.reoffer = async (sdp) => {
      await relayed;
      return `${sdp}a=x-bridge:slow\r\n`;
    };
    return { media, release: () => release() };
  }

  it('while the relay takes a move, another re-INVITE gets 500 with Retry-After, and the operator’s hold waits for the 200', async () => {
    const { callId, dialog } = await answeredInbound();
    const { media, release } = slowRelay();
    const moving = reinviteFromPbx(dialog, moved(2, 4100));
    await waitFor(() => (media.reoffers.length === 1 ? true : undefined));
    const second = await reinviteFromPbx(dialog, moved(3, 4200));
    assert.equal(second.status, 500);
    const retryAfter = Number(second.get('Retry-After'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 0 && retryAfter <= 10, `Retry-After ${second.get('Retry-After')}`);

    const holding = layer.handle(tab, { type: 'call.hold', id: 'h1', callId }, deliver);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(takeReinvite(), undefined, 'no offer of ours while the peer’s INVITE is being answered');
    release();
    assert.equal((await moving).status, 200);
    const hold = await nextReinvite();
    assert.match(hold.request.bodyText, /a=x-bridge:slow/);
    accept(hold, 'recvonly');
    await holding;
    assert.deepEqual(holdEvents(tab), [[true, false]]);
  });

  it('the RFC 2543 hold (c=0.0.0.0) goes to the relay and holds the call; the PBX’s real address back resumes it', async () => {
    const { dialog, answer } = await answeredInbound();
    const held = await reinviteFromPbx(dialog, moved(2, 4000, '0.0.0.0'));
    assert.equal(held.status, 200);
    assert.equal(directionOf(held.bodyText), 'recvonly', 'the PBX will not receive');
    assert.equal(versionOf(held.bodyText), versionOf(answer) + 1, 'one version up, the direction change included');
    assert.deepEqual(holdEvents(tab), [[false, true]]);
    const resumed = await reinviteFromPbx(dialog, moved(3, 4000));
    assert.equal(resumed.status, 200);
    assert.equal(directionOf(resumed.bodyText), 'sendrecv');
    assert.deepEqual(holdEvents(tab), [[false, true], [false, false]]);
    assert.equal(harness.medias[0]!.reoffers.length, 2);
  });

  it('a re-INVITE CANCELled while the relay takes the move: 487, and the relay goes back to the session before', async () => {
    const { dialog } = await answeredInbound();
    const { media, release } = slowRelay();
    const request = dialog.createRequest('INVITE', { body: moved(2, 4100), contentType: 'application/sdp' });
    const transaction = pbxUa.sendInvite(request, gateway);
    const final = new Promise<SipResponse>((resolve) => transaction.on('response', ({ response: r }) => r.status >= 200 && resolve(r)));
    await waitFor(() => (media.reoffers.length === 1 ? true : undefined));
    await pbxUa.transactions.cancel(transaction);
    assert.equal((await final).status, 487);
    release();
    await waitFor(() => (media.reverted.length === 1 ? true : undefined));
    const later = await reinviteFromPbx(dialog, moved(3, 4000));
    assert.equal(later.status, 200, 'the session is as before, and the next re-INVITE is taken');
  });

  it('a call that ends while the relay takes a move answers that re-INVITE 487', async () => {
    const { dialog } = await answeredInbound();
    const { media, release } = slowRelay();
    const moving = reinviteFromPbx(dialog, moved(2, 4100));
    await waitFor(() => (media.reoffers.length === 1 ? true : undefined));
    await layer.handle(tab, { type: 'call.hangup', id: 'x1', callId: (await tab.next('call.answered')).callId as string }, deliver);
    release();
    assert.equal((await moving).status, 487);
  });

  it('a re-INVITE without an offer gets 488: its answer would come in the ACK, where nothing could act on it', async () => {
    const { dialog } = await answeredInbound();
    const request = dialog.createRequest('INVITE');
    const transaction = pbxUa.sendInvite(request, gateway);
    const response = await new Promise<SipResponse>((resolve) => transaction.on('response', ({ response: r }) => r.status >= 200 && resolve(r)));
    assert.equal(response.status, 488);
  });

  it('on a call through a PBX line, a challenge to the re-INVITE is answered with the line’s credentials', async () => {
    const deferred: (() => void)[] = [];
    const placed = await layer.place(tab, '+4930999', OFFER, undefined, (send) => deferred.push(send));
    assert.ok(placed);
    for (const send of deferred) send();
    const invite = await waitFor(() => inbox.find((i) => i.request.method === 'INVITE'));
    inbox.splice(inbox.indexOf(invite), 1);
    invite.respond(200, {
      body: OFFER,
      contentType: 'application/sdp',
      headers: [['Contact', formatNameAddr({ displayName: undefined, uri: parseUri(`sip:pbx@127.0.0.1:${pbxPort}`), params: new Map() })]],
    });
    await tab.next('call.answered');
    const holding = layer.handle(tab, { type: 'call.hold', id: 'h1', callId: placed.callId }, deliver);
    const challenged = await nextReinvite();
    challenged.respond(401, { headers: [['WWW-Authenticate', 'Digest realm="pbx", nonce="n0nce", algorithm=MD5, qop="auth"']] });
    const authorized = await nextReinvite();
    assert.match(authorized.request.get('Authorization') ?? '', /username="line101"/);
    assert.ok(authorized.request.cseq!.seq > challenged.request.cseq!.seq);
    accept(authorized, 'recvonly');
    await holding;
    assert.deepEqual(holdEvents(tab), [[true, false]]);
  });
});
