/**
 * Blind transfer on calls between a browser and SIP, on loopback UDP: the gateway's user agent against one that plays
 * the PBX. The operator's transfer is a REFER in the call's dialog (RFC 3515); once the PBX takes it the browser's
 * call ends as `transferred`, and the SIP leg stays until the PBX reports the outcome (NOTIFY with a sipfrag), ends
 * it, or LINGER_MS pass. A refusal leaves the call as it was.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Dialog, parseUri, type IncomingRequest, type SipResponse } from '@switchboard/sip';
import { LINGER_MS, sipfragStatus } from './blind-transfer.js';
import { OFFER, waitFor } from './test-support/b2bua-fakes.js';
import { deliver, operator, startLineCallHarness, type LineCallHarness } from './test-support/line-call-harness.js';

describe('blind transfer on calls to SIP', () => {
  let h: LineCallHarness;

  beforeEach(async () => {
    h = await startLineCallHarness();
  });

  afterEach(() => h.close());

  function take(method: string): IncomingRequest | undefined {
    const index = h.inbox.findIndex((i) => i.request.method === method);
    return index < 0 ? undefined : h.inbox.splice(index, 1)[0];
  }
  const next = (method: string) => waitFor(() => take(method));
  /** Lets datagrams in flight on loopback arrive. */
  const settle = () => new Promise((resolve) => setTimeout(resolve, 60));

  /** The PBX reports on its call to the target; resolves with the gateway's answer. */
  function notify(dialog: Dialog, sipfrag: string, state: string, event = 'refer'): Promise<SipResponse> {
    const request = dialog.createRequest('NOTIFY', { body: `${sipfrag}\r\n`, contentType: 'message/sipfrag' });
    request.append('Event', event);
    request.append('Subscription-State', state);
    return h.pbxUa.request(request, h.gateway);
  }

  async function endedCause(callId: string): Promise<string | null | undefined> {
    return (await h.store.calls.get(callId))?.cause;
  }

  it('a REFER naming the target at the PBX; accepted, the call ends transferred; the leg goes once the PBX reports 200', async () => {
    const { callId, dialog } = await h.answeredInbound();
    const transferring = h.layer.handle(h.tab, { type: 'call.transfer', id: 't1', callId, target: '204#1' }, deliver);
    const refer = await next('REFER');
    assert.equal(refer.request.get('Refer-To'), '<sip:204%231@pbx.example>');
    assert.equal(refer.request.get('Referred-By'), `<sip:line101@127.0.0.1:${h.gateway.port}>`);
    assert.equal(refer.request.callId, dialog.id.callId, 'in the call\'s dialog');
    assert.equal(h.tab.events.some((e) => e.type === 'call.ended'), false, 'nothing ends before the PBX accepts');
    refer.respond(202);
    await transferring;
    const ended = await h.tab.next('call.ended');
    assert.equal(ended['cause'], 'transferred');
    await waitFor(async () => ((await endedCause(callId)) === 'transferred' ? true : undefined));

    assert.equal((await notify(dialog, 'SIP/2.0 100 Trying', 'active;expires=60')).status, 200);
    assert.equal((await notify(dialog, 'SIP/2.0 180 Ringing', 'active;expires=60')).status, 200);
    await settle();
    assert.equal(take('BYE'), undefined, 'the leg stays while the target rings');
    assert.equal((await notify(dialog, 'SIP/2.0 200 OK', 'terminated;reason=noresource')).status, 200);
    const bye = await next('BYE');
    assert.equal(bye.request.callId, dialog.id.callId);
    bye.respond(200);
    assert.equal((await notify(dialog, 'SIP/2.0 200 OK', 'terminated')).status, 481, 'the subscription is over');
    await assert.rejects(h.layer.handle(h.tab, { type: 'call.hangup', id: 'x', callId }, deliver), { code: 'call-state' });
  });

  it('a refused REFER leaves the call as it was: 405 not-supported, 403 forbidden, each with the SIP status', async () => {
    const { callId } = await h.answeredInbound();
    for (const [status, code] of [[405, 'not-supported'], [403, 'forbidden']] as const) {
      const transferring = h.layer.handle(h.tab, { type: 'call.transfer', id: `t${status}`, callId, target: '204' }, deliver);
      (await next('REFER')).respond(status);
      await assert.rejects(transferring, (error: { code?: string; details?: { sipStatus?: number } }) => error.code === code && error.details?.sipStatus === status);
    }
    assert.equal(h.tab.events.some((e) => e.type === 'call.ended'), false);
    await h.layer.handle(h.tab, { type: 'call.hangup', id: 'h', callId }, deliver);
    (await next('BYE')).respond(200);
    assert.equal(await waitFor(async () => (await endedCause(callId)) ?? undefined), 'normal');
  });

  it('a 481 to the REFER ends the call as failed; a second transfer while one is under way is refused', async () => {
    const { callId } = await h.answeredInbound();
    const first = h.layer.handle(h.tab, { type: 'call.transfer', id: 't1', callId, target: '204' }, deliver);
    const refer = await next('REFER');
    await assert.rejects(h.layer.handle(h.tab, { type: 'call.transfer', id: 't2', callId, target: '205' }, deliver), { code: 'call-state', message: /under way/ });
    refer.respond(481);
    await assert.rejects(first, { code: 'call-state' });
    assert.equal((await h.tab.next('call.ended'))['cause'], 'failed');
  });

  it('without an outcome the leg is released after LINGER_MS, not before', async () => {
    const { callId } = await h.answeredInbound();
    const transferring = h.layer.handle(h.tab, { type: 'call.transfer', id: 't1', callId, target: '204' }, deliver);
    (await next('REFER')).respond(202);
    await transferring;
    h.clock.advance(LINGER_MS - 1);
    await settle();
    assert.equal(take('BYE'), undefined);
    h.clock.advance(1);
    (await next('BYE')).respond(200);
  });

  it('an outcome that overtakes the 202 is kept: the leg goes as soon as the REFER is accepted', async () => {
    const { callId, dialog } = await h.answeredInbound();
    const transferring = h.layer.handle(h.tab, { type: 'call.transfer', id: 't1', callId, target: '204' }, deliver);
    const refer = await next('REFER');
    assert.equal((await notify(dialog, 'SIP/2.0 486 Busy Here', 'terminated')).status, 200);
    refer.respond(202);
    await transferring;
    (await next('BYE')).respond(200);
    assert.equal((await h.tab.next('call.ended'))['cause'], 'transferred');
  });

  it('the PBX hanging up after the transfer ends the leg without a BYE of ours; a NOTIFY for another event gets 489', async () => {
    const { callId, dialog } = await h.answeredInbound();
    const transferring = h.layer.handle(h.tab, { type: 'call.transfer', id: 't1', callId, target: '204' }, deliver);
    (await next('REFER')).respond(202);
    await transferring;
    assert.equal((await notify(dialog, 'SIP/2.0 100 Trying', 'active', 'presence')).status, 489);
    assert.equal((await h.pbxUa.request(dialog.createRequest('BYE'), h.gateway)).status, 200);
    await settle();
    assert.equal(take('BYE'), undefined);
    assert.equal(h.clock.pending, 0, 'no timer is left waiting for an outcome');
    h.clock.advance(LINGER_MS);
    await settle();
    assert.equal(take('BYE'), undefined, 'nothing is left to release');
  });

  it('a REFER challenged by the PBX is sent again with the line\'s credentials; later requests take higher CSeqs, and a challenged BYE is answered too', async () => {
    const { callId, dialog } = await h.answeredInbound();
    const transferring = h.layer.handle(h.tab, { type: 'call.transfer', id: 't1', callId, target: '204' }, deliver);
    const first = await next('REFER');
    first.respond(407, { headers: [['Proxy-Authenticate', 'Digest realm="pbx", nonce="n1", algorithm=MD5, qop="auth"']] });
    const second = await next('REFER');
    assert.match(second.request.get('Proxy-Authorization') ?? '', /^Digest username="line101", realm="pbx"/);
    assert.ok(second.request.cseq!.seq > first.request.cseq!.seq);
    second.respond(202);
    await transferring;
    assert.equal((await notify(dialog, 'SIP/2.0 200 OK', 'terminated')).status, 200);
    const bye = await next('BYE');
    assert.ok(bye.request.cseq!.seq > second.request.cseq!.seq, `BYE CSeq ${bye.request.cseq!.seq} after REFER ${second.request.cseq!.seq}`);
    bye.respond(407, { headers: [['Proxy-Authenticate', 'Digest realm="pbx", nonce="n2", algorithm=MD5, qop="auth"']] });
    const byeAgain = await next('BYE');
    assert.match(byeAgain.request.get('Proxy-Authorization') ?? '', /^Digest username="line101"/);
    assert.ok(byeAgain.request.cseq!.seq > bye.request.cseq!.seq);
    byeAgain.respond(200);
  });

  it('a REFER without an answer (408) ends the call as failed with a BYE', async () => {
    const { callId } = await h.answeredInbound();
    const transferring = h.layer.handle(h.tab, { type: 'call.transfer', id: 't1', callId, target: '204' }, deliver);
    (await next('REFER')).respond(408);
    await assert.rejects(transferring, { code: 'call-state' });
    assert.equal((await h.tab.next('call.ended'))['cause'], 'failed');
    (await next('BYE')).respond(200);
  });

  it('the gateway shutting down while a transfer holds the leg sends one BYE', async () => {
    const { callId } = await h.answeredInbound();
    const transferring = h.layer.handle(h.tab, { type: 'call.transfer', id: 't1', callId, target: '204' }, deliver);
    (await next('REFER')).respond(202);
    await transferring;
    await h.layer.close();
    (await next('BYE')).respond(200);
    await settle();
    assert.equal(take('BYE'), undefined);
    assert.equal(h.clock.pending, 0);
  });

  it('a NOTIFY outside any transfer gets 481', async () => {
    const { dialog } = await h.answeredInbound();
    assert.equal((await notify(dialog, 'SIP/2.0 200 OK', 'terminated')).status, 481);
  });

  it('reads the status of a sipfrag', () => {
    assert.equal(sipfragStatus('SIP/2.0 180 Ringing\r\n'), 180);
    assert.equal(sipfragStatus('SIP/2.0 603 Declined'), 603);
    assert.equal(sipfragStatus('SIP/2.0 200'), 200);
    assert.equal(sipfragStatus('INVITE sip:a@b SIP/2.0\r\n'), undefined);
    assert.equal(sipfragStatus('SIP/2.0 99 Odd\r\n'), undefined);
  });
});

describe('blind transfer on calls with a phone registered here', () => {
  let h: LineCallHarness;

  beforeEach(async () => {
    h = await startLineCallHarness({
      // The PBX's user agent plays desk phone 300, registered here; phone 201 is registered too.
      phones: (pbxPort) => ({
        lookup: (user) => (user === '201' ? [{ contact: parseUri('sip:201@127.0.0.1:5999'), source: { protocol: 'udp', host: '127.0.0.1', port: 5999 }, connectionId: undefined }] : []),
        isRegisteredSource: (source) => source.port === pbxPort,
      }),
      directory: (extension) => (extension === '101' ? operator : undefined),
    });
  });

  afterEach(() => h.close());

  it('the phone is asked to call the target at the gateway; a target nobody here has is refused before any REFER', async () => {
    const invite = h.pbxUa.createRequest('INVITE', `sip:101@127.0.0.1:${h.gateway.port}`, { from: 'sip:300@127.0.0.1', contact: h.pbxUa.contact('300') });
    invite.setBody(OFFER, 'application/sdp');
    const transaction = h.pbxUa.sendInvite(invite, h.gateway);
    const final = new Promise<SipResponse>((resolve) => transaction.on('response', ({ response }) => response.status >= 200 && resolve(response)));
    const callId = String((await h.tab.next('call.incoming')).callId);
    await h.layer.handle(h.tab, { type: 'call.answer', id: 'a1', callId, sdp: OFFER }, deliver);
    const dialog = Dialog.fromUac(invite, await final);
    await h.pbxUa.sendAck(dialog.createAck(invite), h.gateway);

    await assert.rejects(h.layer.handle(h.tab, { type: 'call.transfer', id: 't0', callId, target: '555' }, deliver), { code: 'not-found' });
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(h.inbox.some((i) => i.request.method === 'REFER'), false);

    const transferring = h.layer.handle(h.tab, { type: 'call.transfer', id: 't1', callId, target: '201' }, deliver);
    const refer = await waitFor(() => h.inbox.find((i) => i.request.method === 'REFER'));
    assert.equal(refer.request.get('Refer-To'), `<sip:201@127.0.0.1:${h.gateway.port}>`);
    refer.respond(202);
    await transferring;
    assert.equal((await h.tab.next('call.ended'))['cause'], 'transferred');
  });
});
