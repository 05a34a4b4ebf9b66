/**
 * The browser's description of its media as an answer would state it: what rtpengine is given as the browser's
 * answer when the SIP side changes its media by re-INVITE and the browser is not asked (RFC 3264 §8 lets an answer
 * repeat the session as it is). An answer the browser gave is used as it is; an offer it made is narrowed to what
 * was agreed, because the browser sends nothing else: the codecs of the answer it was given, and the DTLS role
 * opposite to the one that answer took.
 */
import { filterCodecs, getCodecs, parseSdp, serializeSdp, type SdpSession } from '@switchboard/sip';
import { MediaError } from './media-error.js';

/** Payloads that carry no audio of their own: agreeing on these alone is agreeing on nothing. */
const NOT_AUDIO = new Set(['telephone-event', 'cn', 'red', 'rtx', 'ulpfec', 'flexfec-03']);

/** The browser's offer as the answer `answered` made it agree to. */
export function browserSideOfOffer(offer: string, answered: string): string {
  const given = parse(answered, 'answer for the browser');
  let agreed: SdpSession;
  try {
    agreed = filterCodecs(parse(offer, 'browser offer'), [...codecNames(given)], { onEmpty: 'throw' });
  } catch (error) {
    if (error instanceof MediaError) throw error;
    throw new MediaError('no-common-codec', 'the answer for the browser has none of the codecs the browser offered', { cause: error });
  }
  const setup = oppositeRole(given);
  if (setup !== undefined) {
    for (const media of agreed.media) {
      if (media.setup !== undefined) media.setup = setup;
    }
    if (agreed.setup !== undefined) agreed.setup = setup;
  }
  return serializeSdp(agreed);
}

/**
 * Throws `no-common-codec` unless the SIP side's new offer has an audio codec the browser's side already sends and
 * receives: anything else would need the browser to renegotiate.
 */
export function requireCommonAudioCodec(offer: string, browserSide: string): void {
  const browser = codecNames(parse(browserSide, 'browser'));
  const common = [...codecNames(parse(offer, 'SIP offer'))].filter((name) => !NOT_AUDIO.has(name) && browser.has(name));
  if (common.length === 0) {
    const has = [...browser].filter((name) => !NOT_AUDIO.has(name)).join(', ') || 'none';
    throw new MediaError('no-common-codec', `the new offer has none of the codecs the browser's side of the call uses (${has})`);
  }
}

function codecNames(sdp: SdpSession): Set<string> {
  const names = new Set<string>();
  sdp.media.forEach((media, index) => {
    if (Number(media.port) === 0) return;
    for (const codec of getCodecs(sdp, index)) names.add(codec.name.toLowerCase());
  });
  return names;
}

/** The DTLS role (RFC 5763) the other side of `sdp` plays: the one it did not take. */
function oppositeRole(sdp: SdpSession): 'active' | 'passive' | undefined {
  const role = sdp.media.find((media) => media.setup !== undefined)?.setup ?? sdp.setup;
  if (role === 'active') return 'passive';
  if (role === 'passive') return 'active';
  return undefined;
}

function parse(sdp: string, what: string): SdpSession {
  try {
    return parseSdp(sdp);
  } catch (error) {
    throw new MediaError('invalid-sdp', `the ${what} SDP is not usable: ${(error as Error).message}`, { cause: error });
  }
}
