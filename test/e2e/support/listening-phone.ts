// A desk phone that only listens, built on @switchboard/sip: it registers at Kamailio, answers every call (and every
// re-INVITE, in the direction that meets the offer's) with G.711 µ-law, and keeps what it hears with the time it
// arrived and its SSRC. baresip 1.0 stops recording at a call's first re-INVITE; this one hears through holds.
import { createSocket, type Socket } from 'node:dgram';
import {
  cryptoRandom, Dialog, dialogKey, DigestClient, formatNameAddr, nextHop, UserAgent, type IncomingRequest, type SipTransport,
} from '@switchboard/sip';
import { createTransport, nodeDigestHasher } from '@switchboard/sip/node';
import { admitToDialog } from './answering-uas.js';
import { detectTone, type ToneDetection } from './audio.js';
import type { Kamailio } from './kamailio.js';
import { LOOPBACK } from './ports.js';

const SAMPLE_RATE = 8000;

/** One RTP packet's audio as it arrived. */
interface Heard {
  readonly at: number;
  readonly ssrc: number;
  readonly samples: Int16Array;
}

export interface ListeningPhone {
  readonly user: string;
  /** The offers and answers of every INVITE in its calls, re-INVITEs included, with the direction it answered. */
  readonly invites: { offer: string; answered: string }[];
  /** Whether a tone of `hz` was in the audio that arrived in the last `windowMs`. */
  hears(hz: number, windowMs?: number): ToneDetection;
  /** The SSRCs of the packets that arrived in the last `windowMs`. */
  ssrcs(windowMs?: number): Set<number>;
  close(): Promise<void>;
}

/** µ-law (G.711) to linear PCM, as ITU-T G.711 decodes it. */
function ulawToLinear(byte: number): number {
  const u = ~byte & 0xff;
  const magnitude = ((((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4)) - 0x84;
  return u & 0x80 ? -magnitude : magnitude;
}

const DIRECTION = /^a=(sendrecv|sendonly|recvonly|inactive)\r?$/m;
const MEETS: Record<string, string> = { sendrecv: 'sendrecv', sendonly: 'recvonly', recvonly: 'sendonly', inactive: 'inactive' };

export async function startListeningPhone(options: { kamailio: Kamailio; user: string; password: string }): Promise<ListeningPhone> {
  const rtp: Socket = createSocket('udp4');
  const heard: Heard[] = [];
  rtp.on('message', (packet) => {
    // RTP version 2, payload type 0 (PCMU): a 12-byte header, its CSRCs and header extension, then the payload and
    // any padding.
    if (packet.length < 12 || packet[0]! >> 6 !== 2 || (packet[1]! & 0x7f) !== 0) return;
    let start = 12 + (packet[0]! & 0x0f) * 4;
    if (packet[0]! & 0x10) start += packet.length >= start + 4 ? 4 + packet.readUInt16BE(start + 2) * 4 : packet.length;
    const end = packet.length - (packet[0]! & 0x20 ? packet[packet.length - 1]! : 0);
    if (start >= end) return;
    const samples = new Int16Array(end - start);
    for (let i = start; i < end; i++) samples[i - start] = ulawToLinear(packet[i]!);
    heard.push({ at: Date.now(), ssrc: packet.readUInt32BE(8), samples });
  });
  await new Promise<void>((resolve) => rtp.bind(0, LOOPBACK, resolve));
  const rtpPort = rtp.address().port;

  const transport: SipTransport = await createTransport({ protocol: 'udp', host: LOOPBACK, port: 0 });
  const ua = new UserAgent({ transports: [transport], product: 'Switchboard-test-listening-phone' });
  const dialogs = new Map<string, Dialog>();
  const invites: { offer: string; answered: string }[] = [];
  let version = 1;

  const answer = (incoming: IncomingRequest, dialog: Dialog | undefined): void => {
    const offer = incoming.request.bodyText;
    const direction = MEETS[DIRECTION.exec(offer)?.[1] ?? 'sendrecv'] ?? 'sendrecv';
    const sdp = [
      'v=0', `o=- 1 ${version++} IN IP4 ${LOOPBACK}`, 's=-', `c=IN IP4 ${LOOPBACK}`, 't=0 0',
      `m=audio ${rtpPort} RTP/AVP 0`, 'a=rtpmap:0 PCMU/8000', `a=${direction}`, '',
    ].join('\r\n');
    const response = incoming.respond(200, { body: sdp, contentType: 'application/sdp', headers: [['Contact', formatNameAddr(ua.contact(options.user, 'udp'))]] });
    invites.push({ offer, answered: direction });
    if (dialog === undefined && response !== undefined) {
      const created = Dialog.fromUas(incoming.request, response);
      dialogs.set(dialogKey(created.id), created);
    }
  };

  ua.on('request', (incoming) => {
    const { request } = incoming;
    if (request.method === 'INVITE' && request.toTag === undefined) {
      answer(incoming, undefined);
      return;
    }
    const dialog = admitToDialog(dialogs, incoming);
    if (dialog === undefined) return;
    if (request.method === 'INVITE') {
      answer(incoming, dialog);
      return;
    }
    incoming.respond(200);
    if (request.method === 'BYE') dialogs.delete(dialogKey(dialog.id));
  });

  const register = ua.createRequest('REGISTER', options.kamailio.uri('udp'), { from: options.kamailio.aor(options.user), contact: ua.contact(options.user, 'udp') });
  register.append('Expires', 300);
  const digest = new DigestClient({ credentials: { username: options.user, password: options.password }, hasher: nodeDigestHasher, random: cryptoRandom });
  const registered = await ua.request(register, nextHop(register, 'udp'), { digest });
  if (registered.status !== 200) throw new Error(`the listening phone ${options.user} could not register: ${registered.status} ${registered.reason}`);

  const recent = (windowMs: number): Heard[] => {
    const since = Date.now() - windowMs;
    return heard.filter((h) => h.at >= since);
  };
  return {
    user: options.user,
    invites,
    hears(hz, windowMs = 1000) {
      const packets = recent(windowMs);
      const samples = new Int16Array(packets.reduce((n, p) => n + p.samples.length, 0));
      let offset = 0;
      for (const p of packets) {
        samples.set(p.samples, offset);
        offset += p.samples.length;
      }
      return detectTone(samples, SAMPLE_RATE, hz);
    },
    ssrcs: (windowMs = 1000) => new Set(recent(windowMs).map((h) => h.ssrc)),
    async close() {
      await ua.close();
      await transport.close();
      rtp.close();
    },
  };
}
