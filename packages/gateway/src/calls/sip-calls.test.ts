/**
 * The B2BUA on loopback UDP: one user agent is the gateway's, another plays the PBX or a phone. Browser tabs are
 * fakes that record the events they are sent; media is a fake bridge that marks each SDP it converts, so the test
 * sees which side of the bridge every SDP came from. In-memory SQLite holds the call log.
 */
import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import { Dialog, formatNameAddr, parseUri, systemClock, UserAgent, type IncomingRequest, type SipRequest, type SipResponse, type TransportAddress } from '@switchboard/sip';
import { createTransport } from '@switchboard/sip/node';
import type { ServerEvent } from '@switchboard/protocol';
import { pino } from 'pino';
import { Secret } from '../config/secret.js';
import type { PbxConfig, PbxLineConfig } from '../config/types.js';
import { openStore, type Store } from '../store/store.js';
import type { SessionHandle, SessionOperator, SessionRegistry } from '../ws/index.js';
import { SipCallLayer, comesFromPbx } from './sip-calls.js';
import { FakeTab, MarkingMedia, OFFER, waitFor } from './test-support/b2bua-fakes.js';

const CALLER_CONTACT = { name: 'Berlin office', company: 'Acme GmbH', url: 'https://crm.example.com/c/1' };
const operator: SessionOperator = { id: 'op-101', displayName: 'Ada', extension: '101', enabled: true };

describe('SIP calls through the B2BUA', () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  let gatewayUa: UserAgent;
  let pbxUa: UserAgent;
  let store: Store;
  let layer: SipCallLayer;
  let tabs: FakeTab[];
  let medias: MarkingMedia[];
  let pbxPort: number;
  let line: PbxLineConfig;
  /** Lines of other operators at other PBXs, listed before `line`. */
  let otherLines: PbxLineConfig[];
  /** Where the line is registered (as DNS located it), and the addresses DNS gave for its PBX. */
  let registeredAt: TransportAddress | undefined;
  let located: string[];
  const inbox: IncomingRequest[] = [];

  beforeEach(async () => {
    const gatewayTransport = await createTransport({ protocol: 'udp', host: '127.0.0.1', port: 0 });
    const pbxTransport = await createTransport({ protocol: 'udp', host: '127.0.0.1', port: 0 });
    gatewayUa = new UserAgent({ transports: [gatewayTransport] });
    // A PBX that takes DTMF as SIP INFO.
    pbxUa = new UserAgent({ transports: [pbxTransport], accepts: { acceptedContentTypes: ['application/sdp', 'application/dtmf-relay'] } });
    pbxPort = pbxTransport.local.port;
    store = await openStore({ kind: 'sqlite', file: ':memory:' });
    await store.operators.upsert({ id: operator.id, displayName: operator.displayName, extension: operator.extension });
    cleanup.push(async () => {
      await gatewayUa.close();
      await pbxUa.close();
      await gatewayTransport.close();
      await pbxTransport.close();
      await store.close();
    });
    const pbx: PbxConfig = {
      name: 'pbx', registrar: `sip:127.0.0.1:${pbxPort}`, outboundProxy: undefined, domain: '127.0.0.1', realm: undefined,
      media: 'passthrough', dtmf: 'rfc4733', codecs: ['PCMU', 'telephone-event'], registerExpiresSeconds: 600, keepAliveSeconds: 15,
    };
    line = { mode: 'pbx', operatorId: operator.id, pbx, user: 'line101', authUser: 'line101', password: new Secret('pw', 'test') };
    otherLines = [];
    registeredAt = undefined;
    located = [];
    tabs = [new FakeTab('s-1', operator), new FakeTab('s-2', operator)];
    medias = [];
    inbox.length = 0;
    const registry = { sessionsOf: (id: string) => (id === operator.id ? tabs.filter((t) => t.open) : []) } as unknown as SessionRegistry;
    layer = new SipCallLayer({
      ua: gatewayUa,
      registry,
      directory: { getByExtension: async (ext) => (ext === '101' ? operator : undefined) },
      lines: { lineFor: (id) => (id === operator.id ? line : undefined), linesForUser: (user) => [...otherLines.filter((other) => other.user === user), ...(user === 'line101' ? [line] : [])], stateOf: () => ({ state: 'registered' }),
        serverOf: (id) => (id === operator.id ? registeredAt : undefined), isPbxServer: (name, host) => name === line.pbx.name && located.includes(host) },
      phones: { lookup: () => [], isRegisteredSource: () => false },
      mediaFor: () => {
        const media = new MarkingMedia();
        medias.push(media);
        return media;
      },
      calls: store.calls,
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      ringTimeoutSeconds: 30,
      busy: () => false,
      lookup: { find: async (number) => (number === '+4930123' ? CALLER_CONTACT : undefined) },
    });
    gatewayUa.on('request', (incoming) => {
      if (incoming.request.method === 'INVITE') layer.onInvite(incoming);
      else if (incoming.request.method === 'BYE') layer.onBye(incoming);
      else incoming.respond(405);
    });
    gatewayUa.on('cancelled', ({ request }) => layer.onCancelled(request));
    pbxUa.on('request', (incoming) => inbox.push(incoming));
  });

  function inviteToGateway(user: string, offer = OFFER) {
    const port = gatewayUa.transport('udp').local.port;
    const invite = pbxUa.createRequest('INVITE', `sip:${user}@127.0.0.1:${port}`, { from: 'sip:+4930123@127.0.0.1', contact: pbxUa.contact('pbx') });
    invite.setBody(offer, 'application/sdp');
    const provisional: SipResponse[] = [];
    const transaction = pbxUa.sendInvite(invite, { protocol: 'udp', host: '127.0.0.1', port });
    const final = new Promise<SipResponse>((resolve) => {
      transaction.on('response', ({ response }) => {
        if (response.status < 200) provisional.push(response);
        else resolve(response);
      });
    });
    return { final, provisional, invite, transaction };
  }

  it('refuses an INVITE from a stranger for an extension with 403', async () => {
    const { final } = inviteToGateway('101');
    assert.equal((await final).status, 403);
  });

  it('an INVITE for a line rings every tab with the bridged offer; one answers; a BYE from the PBX ends it', async () => {
    const { final, provisional, invite } = inviteToGateway('line101');
    const [incomingA, incomingB] = [await tabs[0]!.next('call.incoming'), await tabs[1]!.next('call.incoming')];
    assert.match(String(incomingA.sdp), /a=x-bridge:to-browser-offer/);
    assert.deepEqual(incomingA.from, { number: '+4930123' });
    assert.deepEqual(incomingA.contact, CALLER_CONTACT, 'the screen pop comes with the ring');
    assert.equal(incomingA.callId, incomingB.callId);
    const callId = String(incomingA.callId);
    const deliver = (s: SessionHandle, e: ServerEvent) => void s.send(e);
    await layer.handle(tabs[0]!, { type: 'call.answer', id: 'r1', callId, sdp: OFFER }, deliver);
    const ok = await final;
    assert.equal(ok.status, 200);
    assert.ok(provisional.some((r) => r.status === 180), 'the PBX heard ringing first');
    assert.match(ok.bodyText, /a=x-bridge:to-sip-answer/);
    assert.equal((await tabs[1]!.next('call.ended')).cause, 'answered-elsewhere');
    const dialog = Dialog.fromUac(invite, ok);
    await pbxUa.sendAck(dialog.createAck(invite), { protocol: 'udp', host: '127.0.0.1', port: gatewayUa.transport('udp').local.port });
    const bye = dialog.createRequest('BYE');
    const byeResponse = await pbxUa.request(bye, { protocol: 'udp', host: '127.0.0.1', port: gatewayUa.transport('udp').local.port });
    assert.equal(byeResponse.status, 200);
    assert.equal((await tabs[0]!.next('call.ended')).cause, 'normal');
    assert.equal(medias[0]?.closed, true, 'media released');
    await layer.close();
    const record = await store.calls.get(callId);
    assert.equal(record?.direction, 'inbound');
    assert.equal(record?.cause, 'normal');
  });

  /** An INVITE from the PBX for the line offering `sdp`, answered with it in the first tab and ACKed, with the PBX set to `dtmf`. */
  async function answeredCall(dtmf: PbxConfig['dtmf'], sdp = OFFER) {
    const deliver = (s: SessionHandle, e: ServerEvent) => void s.send(e);
    line = { ...line, pbx: { ...line.pbx, dtmf } };
    const { final, invite } = inviteToGateway('line101', sdp);
    const callId = String((await tabs[0]!.next('call.incoming')).callId);
    await assert.rejects(layer.handle(tabs[0]!, { type: 'call.dtmf', id: 'd0', callId, digits: '1' }, deliver), { code: 'call-state' }, 'not before the answer');
    await layer.handle(tabs[0]!, { type: 'call.answer', id: 'r1', callId, sdp }, deliver);
    const dialog = Dialog.fromUac(invite, await final);
    await pbxUa.sendAck(dialog.createAck(invite), { protocol: 'udp', host: '127.0.0.1', port: gatewayUa.transport('udp').local.port });
    const { features } = await tabs[0]!.next('call.answered');
    return { callId, dialog, deliver, features };
  }

  it('a PBX set to rfc4733: the browser sends the digits in its audio when its answer has telephone-event, none without; call.dtmf is refused and sends nothing', async () => {
    const withEvents = `${OFFER.replace('RTP/AVP 0', 'RTP/AVP 0 101')}a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n`;
    const media = await answeredCall('rfc4733', withEvents);
    assert.deepEqual(media.features, { dtmf: 'media', transfer: true });
    await assert.rejects(layer.handle(tabs[0]!, { type: 'call.dtmf', id: 'd1', callId: media.callId, digits: '1' }, media.deliver), {
      code: 'not-supported',
      message: /the browser sends the digits itself/,
    });
    await layer.handle(tabs[0]!, { type: 'call.hangup', id: 'h1', callId: media.callId }, media.deliver);
    for (const tab of tabs) tab.events.length = 0;
    const none = await answeredCall('rfc4733');
    assert.deepEqual(none.features, { dtmf: 'none', transfer: true });
    await assert.rejects(layer.handle(tabs[0]!, { type: 'call.dtmf', id: 'd2', callId: none.callId, digits: '1' }, none.deliver), {
      code: 'not-supported',
      message: /negotiated no telephone-event/,
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(inbox.filter((i) => i.request.method === 'INFO').length, 0);
    await layer.close();
  });

  it('DTMF to a PBX set to info: an INFO per digit, in the call\'s dialog, each once the last is answered', async () => {
    const { callId, dialog, deliver, features } = await answeredCall('info');
    assert.deepEqual(features, { dtmf: 'gateway', transfer: true }, 'whatever the media negotiated');
    const infos: SipRequest[] = [];
    const answering = setInterval(() => {
      for (const incoming of inbox.splice(0)) {
        if (incoming.request.method === 'INFO') infos.push(incoming.request);
        incoming.respond(200);
      }
    }, 5);
    try {
      await layer.handle(tabs[0]!, { type: 'call.dtmf', id: 'd2', callId, digits: '7#', durationMs: 250 }, deliver);
      assert.deepStrictEqual(infos.map((info) => info.bodyText), ['Signal=7\r\nDuration=250\r\n', 'Signal=#\r\nDuration=250\r\n']);
      for (const info of infos) {
        assert.equal(info.callId, dialog.id.callId, "in the call's dialog");
        assert.equal(info.contentType?.mediaType, 'application/dtmf-relay');
      }
      await layer.close();
    } finally {
      clearInterval(answering);
    }
  });

  it('a re-INVITE refreshing the session gets our SDP back unchanged, without the media relay; one that moves the media goes to the relay', async () => {
    const { final, invite } = inviteToGateway('line101');
    const incoming = await tabs[0]!.next('call.incoming');
    const callId = String(incoming.callId);
    await layer.handle(tabs[0]!, { type: 'call.answer', id: 'r1', callId, sdp: OFFER }, (s, e) => void s.send(e));
    const ok = await final;
    const dialog = Dialog.fromUac(invite, ok);
    const gateway = { protocol: 'udp' as const, host: '127.0.0.1', port: gatewayUa.transport('udp').local.port };
    await pbxUa.sendAck(dialog.createAck(invite), gateway);
    async function reinvite(sdp: string): Promise<SipResponse> {
      const request = dialog.createRequest('INVITE');
      request.setBody(sdp, 'application/sdp');
      const transaction = pbxUa.sendInvite(request, gateway);
      const response = await new Promise<SipResponse>((resolve) => transaction.on('response', ({ response: r }) => r.status >= 200 && resolve(r)));
      if (response.status < 300) await pbxUa.sendAck(dialog.createAck(request), gateway);
      return response;
    }
    const refreshed = await reinvite(OFFER);
    assert.equal(refreshed.status, 200);
    assert.equal(refreshed.bodyText, ok.bodyText, 'the same session description, o= version included');
    assert.deepEqual(medias[0]?.reoffers, [], 'a refresh does not concern the relay');
    const moved = await reinvite(OFFER.replace('o=- 1 1 ', 'o=- 1 2 ').replace('m=audio 4000 ', 'm=audio 4002 '));
    assert.equal(moved.status, 200);
    assert.match(moved.bodyText, /a=x-bridge:to-sip-reanswer/, 'the relay answered the new media address');
    assert.equal(tabs[0]!.events.some((e) => e.type === 'call.ended'), false, 'the call goes on');
    assert.equal((await pbxUa.request(dialog.createRequest('BYE'), gateway)).status, 200);
    assert.equal((await tabs[0]!.next('call.ended')).cause, 'normal');
  });

  it('one user at two PBXs: the PBX the INVITE comes from decides whose line it rings', async () => {
    const branch: PbxConfig = { ...line.pbx, name: 'branch', registrar: 'sip:127.0.0.9:5060' };
    otherLines.push({ ...line, operatorId: 'op-202', pbx: branch });
    inviteToGateway('line101');
    const incoming = await tabs[0]!.next('call.incoming');
    assert.match(String(incoming.sdp), /a=x-bridge:to-browser-offer/, 'rang op-101, whose PBX sent it (op-202 has no tab: 480 otherwise)');
  });

  it('a caller who gives up (CANCEL) ends the call in every tab', async () => {
    const { final, transaction } = inviteToGateway('line101');
    await tabs[0]!.next('call.incoming');
    await pbxUa.transactions.cancel(transaction);
    assert.equal((await final).status, 487);
    for (const tab of tabs) assert.equal((await tab.next('call.ended')).cause, 'cancelled');
  });

  it('a browser call goes to the PBX as an INVITE with the bridged offer; ringing, answer, hangup with BYE', async () => {
    const tab = tabs[0]!;
    const deferred: (() => void)[] = [];
    const placed = await layer.place(tab, '+4930999', OFFER, 'crm:1', (send) => deferred.push(send));
    assert.ok(placed);
    for (const send of deferred) send();
    const invite = await waitFor(() => inbox.find((i) => i.request.method === 'INVITE'));
    assert.equal(invite.request.uri.type === 'sip' ? invite.request.uri.user : '', '+4930999');
    assert.match(invite.request.bodyText, /a=x-bridge:to-sip-offer/);
    assert.equal(invite.request.from?.displayName, 'Ada');
    invite.respond(180);
    await tab.next('call.ringing');
    const response = invite.respond(200, {
      body: `${OFFER.replace('RTP/AVP 0', 'RTP/AVP 0 101')}a=rtpmap:101 telephone-event/8000\r\n`,
      contentType: 'application/sdp',
      headers: [['Contact', formatNameAddr({ displayName: undefined, uri: parseUri(`sip:pbx@127.0.0.1:${pbxPort}`), params: new Map() })]],
    });
    const dialog = Dialog.fromUas(invite.request, response);
    const answered = await tab.next('call.answered');
    assert.match(String(answered.sdp), /a=x-bridge:to-browser-answer/);
    assert.deepEqual(answered.features, { dtmf: 'media', transfer: true }, 'a PBX set to rfc4733 whose answer has telephone-event');
    await layer.handle(tab, { type: 'call.hangup', id: 'r2', callId: placed.callId }, (s, e) => void s.send(e));
    const bye = await waitFor(() => inbox.find((i) => i.request.method === 'BYE'));
    assert.equal(dialog.matchesRequest(bye.request), true, 'the BYE belongs to the dialog');
    bye.respond(200);
    assert.equal((await tab.next('call.ended')).cause, 'normal');
  });

  it('through an outbound proxy: the INVITE goes to the proxy with a preloaded Route, and its CANCEL follows', async () => {
    // The registrar's port is closed: anything sent there instead of the proxy would never be answered.
    line = { ...line, pbx: { ...line.pbx, registrar: 'sip:127.0.0.1:9', outboundProxy: `sip:127.0.0.1:${pbxPort}` } };
    const tab = tabs[0]!;
    const deferred: (() => void)[] = [];
    const placed = await layer.place(tab, '555', OFFER, undefined, (send) => deferred.push(send));
    for (const send of deferred) send();
    const invite = await waitFor(() => inbox.find((i) => i.request.method === 'INVITE'));
    assert.deepEqual(invite.request.getAll('Route'), [`<sip:127.0.0.1:${pbxPort};lr>`]);
    assert.equal(invite.request.uri.type === 'sip' ? `${invite.request.uri.user}@${invite.request.uri.host}` : '', '555@127.0.0.1');
    invite.respond(180);
    await tab.next('call.ringing');
    // The CANCEL copies the INVITE's Route (createCancel, tested with the transaction layer) and reaches the proxy.
    const cancelled = new Promise<SipRequest>((resolve) => pbxUa.once('cancelled', ({ request }) => resolve(request)));
    await layer.handle(tab, { type: 'call.cancel', id: 'r3', callId: placed!.callId }, (s, e) => void s.send(e));
    assert.equal((await cancelled).callId, invite.request.callId);
    assert.equal((await tab.next('call.ended')).cause, 'cancelled');
  });

  it('a PBX given by name: the INVITE goes to the server the line registered with, and that PBX may call the line', async () => {
    // Nothing listens at the name: only the located server can answer.
    line = { ...line, pbx: { ...line.pbx, registrar: 'sip:pbx.invalid:9', domain: 'pbx.example' } };
    registeredAt = { protocol: 'udp', host: '127.0.0.1', port: pbxPort };
    const tab = tabs[0]!;
    const deferred: (() => void)[] = [];
    await layer.place(tab, '556', OFFER, undefined, (send) => deferred.push(send));
    for (const send of deferred) send();
    const invite = await waitFor(() => inbox.find((i) => i.request.method === 'INVITE'));
    assert.equal(invite.request.uriText, 'sip:556@pbx.example');
    invite.respond(486);
    assert.equal((await tab.next('call.ended')).cause, 'busy');

    const refused = inviteToGateway('line101');
    assert.equal((await refused.final).status, 403, 'no look-up gave 127.0.0.1');
    located = ['127.0.0.1'];
    inviteToGateway('line101');
    await tabs[0]!.next('call.incoming');
  });

  it('a final failure from the PBX ends the browser call with the mapped cause', async () => {
    const tab = tabs[0]!;
    const deferred: (() => void)[] = [];
    const placed = await layer.place(tab, '555', OFFER, undefined, (send) => deferred.push(send));
    for (const send of deferred) send();
    const invite = await waitFor(() => inbox.find((i) => i.request.method === 'INVITE'));
    invite.respond(486);
    const ended = await tab.next('call.ended');
    assert.equal(ended.callId, placed?.callId);
    assert.equal(ended.cause, 'busy');
    assert.equal(ended.sipStatus, 486);
  });
});

describe('phone to phone through the gateway', () => {
  it('bridges an INVITE from one registered phone to another: 180, 200 with the callee’s SDP, ACK, a re-INVITE (hold) and BYE across', async () => {
    const [gwT, aT, bT] = await Promise.all([0, 0, 0].map(() => createTransport({ protocol: 'udp', host: '127.0.0.1', port: 0 })));
    const gw = new UserAgent({ transports: [gwT!] });
    const phoneA = new UserAgent({ transports: [aT!] });
    const phoneB = new UserAgent({ transports: [bT!] });
    const store = await openStore({ kind: 'sqlite', file: ':memory:' });
    try {
      const bPort = bT!.local.port;
      const layer = new SipCallLayer({
        ua: gw,
        registry: { sessionsOf: () => [] } as unknown as SessionRegistry,
        directory: { getByExtension: async () => undefined },
        lines: undefined,
        phones: {
          lookup: (user) => (user === '201' ? [{ contact: parseUri(`sip:201@127.0.0.1:${bPort}`), source: { protocol: 'udp', host: '127.0.0.1', port: bPort }, connectionId: undefined }] : []),
          isRegisteredSource: (source) => source.port === aT!.local.port || source.port === bPort,
        },
        mediaFor: () => undefined,
        calls: store.calls,
        clock: systemClock,
        logger: pino({ level: 'silent' }),
        ringTimeoutSeconds: 30,
        busy: () => false,
      });
      gw.on('request', (incoming) => (incoming.request.method === 'INVITE' ? layer.onInvite(incoming) : incoming.request.method === 'BYE' ? layer.onBye(incoming) : incoming.respond(405)));
      const atB: IncomingRequest[] = [];
      phoneB.on('request', (incoming) => atB.push(incoming));
      const gwAddress = { protocol: 'udp' as const, host: '127.0.0.1', port: gwT!.local.port };
      const invite = phoneA.createRequest('INVITE', `sip:201@127.0.0.1:${gwT!.local.port}`, { from: 'sip:200@127.0.0.1', contact: phoneA.contact('200') });
      invite.setBody(OFFER, 'application/sdp');
      const statuses: number[] = [];
      const final = new Promise<SipResponse>((resolve) => {
        phoneA.sendInvite(invite, gwAddress).on('response', ({ response }) => {
          statuses.push(response.status);
          if (response.status >= 200) resolve(response);
        });
      });
      const bInvite = await waitFor(() => atB.find((i) => i.request.method === 'INVITE'));
      assert.equal(bInvite.request.bodyText, OFFER, 'the SDP passes through unchanged');
      assert.equal(bInvite.request.from?.uri.type === 'sip' ? bInvite.request.from.uri.user : '', '200');
      bInvite.respond(180);
      const answer = OFFER.replace('m=audio 4000', 'm=audio 4002');
      const bOk = bInvite.respond(200, { body: answer, contentType: 'application/sdp', headers: [['Contact', `<sip:201@127.0.0.1:${bPort}>`]] });
      const ok = await final;
      assert.equal(ok.status, 200);
      assert.deepEqual(statuses.filter((s) => s !== 100), [180, 200]);
      assert.equal(ok.bodyText, answer);
      const aDialog = Dialog.fromUac(invite, ok);
      await phoneA.sendAck(aDialog.createAck(invite), gwAddress);
      // A puts the call on hold: the re-INVITE goes on to B in B's dialog, and B's answer comes back.
      const hold = OFFER.replace('o=- 1 1 ', 'o=- 1 2 ').replace('t=0 0\r\n', 't=0 0\r\na=sendonly\r\n');
      const reinvite = aDialog.createRequest('INVITE', { body: hold, contentType: 'application/sdp' });
      const held = new Promise<SipResponse>((resolve) => {
        phoneA.sendInvite(reinvite, gwAddress).on('response', ({ response }) => response.status >= 200 && resolve(response));
      });
      const bReinvite = await waitFor(() => atB.find((i) => i.request.method === 'INVITE' && i !== bInvite));
      const bDialog = Dialog.fromUas(bInvite.request, bOk);
      assert.equal(bDialog.matchesRequest(bReinvite.request), true, 'in the dialog the gateway has with B');
      assert.equal(bReinvite.request.bodyText, hold, 'the SDP passes through unchanged');
      const holdAnswer = answer.replace('o=- 1 1 ', 'o=- 1 2 ').replace('t=0 0\r\n', 't=0 0\r\na=recvonly\r\n');
      bReinvite.respond(200, { body: holdAnswer, contentType: 'application/sdp', headers: [['Contact', `<sip:201@127.0.0.1:${bPort}>`]] });
      const heldOk = await held;
      assert.equal(heldOk.status, 200);
      assert.equal(heldOk.bodyText, holdAnswer);
      await phoneA.sendAck(aDialog.createAck(reinvite), gwAddress);
      const bye = aDialog.createRequest('BYE');
      assert.equal((await phoneA.request(bye, gwAddress)).status, 200);
      const bBye = await waitFor(() => atB.find((i) => i.request.method === 'BYE'));
      assert.equal(Dialog.fromUas(bInvite.request, bOk).matchesRequest(bBye.request), true);
      bBye.respond(200);
      await layer.close();
    } finally {
      await Promise.all([gw.close(), phoneA.close(), phoneB.close()]);
      await Promise.all([gwT!.close(), aT!.close(), bT!.close()]);
      await store.close();
    }
  });
});

describe('who may call a line', () => {
  const pbx: PbxConfig = {
    name: 'pbx', registrar: 'sip:192.0.2.10:5060', outboundProxy: 'sip:[2001:db8::5];lr', domain: 'example.com', realm: undefined,
    media: 'rtpengine', dtmf: 'rfc4733', codecs: ['PCMU', 'telephone-event'], registerExpiresSeconds: 600, keepAliveSeconds: 15,
  };
  const none = () => false;
  it('only the PBX’s registrar or outbound proxy address, or an address DNS gave for its servers', () => {
    assert.equal(comesFromPbx(pbx, '192.0.2.10', none), true);
    assert.equal(comesFromPbx(pbx, '2001:db8::5', none), true);
    assert.equal(comesFromPbx(pbx, '2001:DB8::5', none), true);
    assert.equal(comesFromPbx(pbx, '198.51.100.7', none), false);
    const byName = { ...pbx, registrar: 'sip:pbx.example.com', outboundProxy: undefined };
    assert.equal(comesFromPbx(byName, '198.51.100.7', none), false, 'a name is no licence for anyone');
    assert.equal(comesFromPbx(byName, '198.51.100.7', (host) => host === '198.51.100.7'), true);
    assert.equal(comesFromPbx(byName, '198.51.100.8', (host) => host === '198.51.100.7'), false);
    assert.equal(comesFromPbx(byName, '::ffff:198.51.100.7', (host) => host === '198.51.100.7'), true, 'an IPv4 peer on a dual-stack socket');
    assert.equal(comesFromPbx(pbx, '::FFFF:192.0.2.10', none), true);
  });
  it('a registrar given by name behind an outbound proxy is never looked up, so it is trusted as configured', () => {
    assert.equal(comesFromPbx({ ...pbx, registrar: 'sip:pbx.example.com' }, '198.51.100.7', none), true);
    assert.equal(comesFromPbx({ ...pbx, outboundProxy: 'sip:proxy.example.com' }, '198.51.100.7', none), false);
  });
});
