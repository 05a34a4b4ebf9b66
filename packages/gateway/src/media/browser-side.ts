/**
 * The browser's description of its media as an answer would state it: what rtpengine is given as the browser's
 * answer when the SIP side changes its media by re-INVITE and the browser is not asked (RFC 3264 §8 lets an answer
 * repeat the session as it is). An answer the browser gave is used as it is; an offer it made is narrowed to what
 * was agreed, because the browser takes nothing else: the payload types of the answer it was given, and the DTLS
 * role opposite to the one that answer took.
 */
import { getCodecs, keepPayloadTypes, payloadTypes, serializeSdp, type SdpCodec, type SdpSession } from '@switchboard/sip';
import { parseMediaSdp as parse } from './codec-policy.js';
import { MediaError } from './media-error.js';

/** Payloads that carry no audio of their own: agreeing on these alone is agreeing on nothing. */
const NOT_AUDIO = new Set(['telephone-event', 'cn', 'red', 'rtx', 'ulpfec', 'flexfec-03']);

/**
 * The browser's offer as the answer `answered` made it agree to, section by section: the payload types the answer
 * kept (an answer uses the offer's numbers, RFC 3264 §6.1).
 */
export function browserSideOfOffer(offer: string, answered: string): string {
  const given = parse(answered, 'answer for the browser');
  let agreed = parse(offer, 'browser offer');
  if (given.media.length !== agreed.media.length) {
    throw new MediaError('invalid-sdp', `the answer for the browser has ${given.media.length} media sections, its offer ${agreed.media.length}`);
  }
  given.media.forEach((answer, index) => {
    agreed = keepPayloadTypes(agreed, index, payloadTypes(answer));
    if (Number(answer.port) === 0) agreed.media[index]!.port = 0;
  });
  if (!agreed.media.some((media) => Number(media.port) !== 0 && payloadTypes(media).length > 0)) {
    throw new MediaError('no-common-codec', 'the answer for the browser has none of the payload types the browser offered');
  }
  // RFC 4145 §4.1: an answer without a=setup is passive.
  const setup = roleOf(given) === 'active' ? 'passive' : 'active';
  for (const media of agreed.media) {
    if (media.setup !== undefined) media.setup = setup;
  }
  if (agreed.setup !== undefined) agreed.setup = setup;
  return serializeSdp(agreed);
}

/**
 * Throws unless the SIP side's new offer can go on with the browser's side as it is: the same media sections
 * (`unsupported` otherwise: an answer must have as many as the offer), and the audio codec the browser sends
 * (`no-common-codec`: another would need the browser to renegotiate). `sendingAnswer` is the answer that decided
 * what the browser sends: its own when it answered, the one it was given when it offered.
 */
export function requireBrowserSide(offer: string, browserSide: string, sendingAnswer: string): void {
  const sip = parse(offer, 'SIP offer');
  const browser = parse(browserSide, 'browser');
  const kinds = (sdp: SdpSession): string => sdp.media.map((media) => media.type).join(' ');
  if (kinds(sip) !== kinds(browser) || sip.media.some((media, index) => (Number(media.port) === 0) !== (Number(browser.media[index]!.port) === 0))) {
    throw new MediaError('unsupported', `the new offer has media sections (${kinds(sip)}) other than the call's (${kinds(browser)})`);
  }
  const sending = sendingCodec(parse(sendingAnswer, 'browser'));
  if (sending === undefined) return;
  const offered = sip.media.flatMap((media, index) => (Number(media.port) === 0 ? [] : getCodecs(sip, index)));
  if (!offered.some((codec) => sameCodec(codec, sending))) {
    throw new MediaError('no-common-codec', `the new offer lacks ${sending.name}/${sending.clockRate ?? '?'}, the codec the browser sends`);
  }
}

/** The first audio codec of the first active section: what the side that answered with it sends (RFC 3264 §6.1). */
function sendingCodec(sdp: SdpSession): SdpCodec | undefined {
  const index = sdp.media.findIndex((media) => Number(media.port) !== 0);
  return index < 0 ? undefined : getCodecs(sdp, index).find((codec) => !NOT_AUDIO.has(codec.name.toLowerCase()));
}

function sameCodec(a: SdpCodec, b: SdpCodec): boolean {
  return a.name.toLowerCase() === b.name.toLowerCase() && a.clockRate === b.clockRate && (a.channels ?? 1) === (b.channels ?? 1);
}

function roleOf(sdp: SdpSession): string | undefined {
  return sdp.media.find((media) => media.setup !== undefined)?.setup ?? sdp.setup;
}
