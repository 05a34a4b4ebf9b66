/**
 * A SIP call layer whose operator has a PBX line, on loopback UDP against a second user agent that plays the PBX:
 * what the unit tests of in-dialog features (hold, transfer) start from. The layer's clock is manual, so deadlines
 * are advanced by hand while the user agents keep real time.
 */
import { Dialog, ManualClock, UserAgent, type IncomingRequest, type SipResponse, type TransportAddress } from '@switchboard/sip';
import { createTransport } from '@switchboard/sip/node';
import type { ServerEvent } from '@switchboard/protocol';
import { pino } from 'pino';
import { Secret } from '../../config/secret.js';
import { SIP_ACCEPTS } from '../../sip-listener.js';
import type { PbxLineConfig } from '../../config/types.js';
import { openStore, type Store } from '../../store/store.js';
import type { SessionHandle, SessionOperator, SessionRegistry } from '../../ws/index.js';
import { SipCallLayer } from '../sip-calls.js';
import type { PhoneDirectory } from '../sip-routes.js';
import { FakeTab, MarkingMedia, OFFER } from './b2bua-fakes.js';

export const operator: SessionOperator = { id: 'op-101', displayName: 'Ada', extension: '101', enabled: true };
export const deliver = (s: SessionHandle, e: ServerEvent) => void s.send(e);

export interface LineCallHarness {
  gatewayUa: UserAgent;
  pbxUa: UserAgent;
  store: Store;
  layer: SipCallLayer;
  tab: FakeTab;
  clock: ManualClock;
  /** The gateway's address, where the PBX sends. */
  gateway: TransportAddress;
  pbxPort: number;
  /** Requests the PBX received and has not answered. */
  inbox: IncomingRequest[];
  /** CSeq numbers of the ACKs the PBX received. */
  acks: number[];
  /** Every call's media, in the order the calls were made. */
  medias: MarkingMedia[];
  /** A call from the PBX, answered in the tab and ACKed: the PBX's dialog and the gateway's SDP. */
  answeredInbound(): Promise<{ callId: string; dialog: Dialog; answer: string }>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Phones registered here (by default none): the PBX's user agent may then play one. */
  phones?: (pbxPort: number) => PhoneDirectory;
  /** Operators by extension (by default none). */
  directory?: (extension: string) => SessionOperator | undefined;
}

export async function startLineCallHarness(options: HarnessOptions = {}): Promise<LineCallHarness> {
  const gatewayTransport = await createTransport({ protocol: 'udp', host: '127.0.0.1', port: 0 });
  const pbxTransport = await createTransport({ protocol: 'udp', host: '127.0.0.1', port: 0 });
  const gatewayUa = new UserAgent({ transports: [gatewayTransport], accepts: SIP_ACCEPTS });
  const pbxUa = new UserAgent({ transports: [pbxTransport] });
  const gateway: TransportAddress = { protocol: 'udp', host: '127.0.0.1', port: gatewayTransport.local.port };
  const pbxPort = pbxTransport.local.port;
  const store = await openStore({ kind: 'sqlite', file: ':memory:' });
  await store.operators.upsert({ id: operator.id, displayName: operator.displayName, extension: operator.extension });
  const line: PbxLineConfig = {
    mode: 'pbx', operatorId: operator.id, user: 'line101', authUser: 'line101', password: new Secret('pw', 'test'),
    pbx: {
      name: 'pbx', registrar: `sip:127.0.0.1:${pbxPort}`, outboundProxy: undefined, domain: 'pbx.example', realm: undefined,
      media: 'passthrough', dtmf: 'info', codecs: ['PCMU'], registerExpiresSeconds: 600, keepAliveSeconds: 15,
    },
  };
  const tab = new FakeTab('s-1', operator);
  const medias: MarkingMedia[] = [];
  const clock = new ManualClock(Date.now());
  const layer = new SipCallLayer({
    ua: gatewayUa,
    registry: { sessionsOf: (id: string) => (id === operator.id ? [tab] : []) } as unknown as SessionRegistry,
    directory: { getByExtension: async (extension) => options.directory?.(extension) },
    lines: { lineFor: (id) => (id === operator.id ? line : undefined), linesForUser: (user) => (user === 'line101' ? [line] : []), stateOf: () => ({ state: 'registered' }),
      // The PBX is known by name (pbx.example) for calls and Refer-To, and reached at its loopback address.
      serverOf: () => ({ protocol: 'udp', host: '127.0.0.1', port: pbxPort }), isPbxServer: () => false },
    phones: options.phones?.(pbxPort) ?? { lookup: () => [], isRegisteredSource: () => false },
    mediaFor: () => {
      const media = new MarkingMedia();
      medias.push(media);
      return media;
    },
    calls: store.calls,
    clock,
    // No wait after a collision on a call the PBX made (0-2 s, §14.1): the test need not sleep.
    random: { bytes: (length) => new Uint8Array(length) },
    logger: pino({ level: 'silent' }),
    ringTimeoutSeconds: 30,
    busy: () => false,
  });
  gatewayUa.on('request', (incoming) => {
    const method = incoming.request.method;
    if (method === 'INVITE') layer.onInvite(incoming);
    else if (method === 'BYE') layer.onBye(incoming);
    else if (method === 'NOTIFY') layer.onNotify(incoming);
    else incoming.respond(405);
  });
  const inbox: IncomingRequest[] = [];
  const acks: number[] = [];
  pbxUa.on('request', (incoming) => inbox.push(incoming));
  pbxUa.on('ack', ({ request }) => acks.push(request.cseq!.seq));

  return {
    gatewayUa, pbxUa, store, layer, tab, clock, gateway, pbxPort, inbox, acks, medias,
    async answeredInbound() {
      const invite = pbxUa.createRequest('INVITE', `sip:line101@127.0.0.1:${gateway.port}`, { from: 'sip:+4930123@127.0.0.1', contact: pbxUa.contact('pbx') });
      invite.setBody(OFFER, 'application/sdp');
      const transaction = pbxUa.sendInvite(invite, gateway);
      const final = new Promise<SipResponse>((resolve) => transaction.on('response', ({ response }) => response.status >= 200 && resolve(response)));
      const callId = String((await tab.next('call.incoming')).callId);
      await layer.handle(tab, { type: 'call.answer', id: 'a1', callId, sdp: OFFER }, deliver);
      const ok = await final;
      const dialog = Dialog.fromUac(invite, ok);
      await pbxUa.sendAck(dialog.createAck(invite), gateway);
      return { callId, dialog, answer: ok.bodyText };
    },
    async close() {
      await layer.close();
      await gatewayUa.close();
      await pbxUa.close();
      await gatewayTransport.close();
      await pbxTransport.close();
      await store.close();
    },
  };
}
