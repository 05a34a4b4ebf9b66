/**
 * The PBX's `codecs` setting applied to SDP. Offers are restricted to the listed codecs (telephone-event stays
 * when it is listed, like any other name); answers are only checked, since an answer can hold nothing but codecs
 * of the offer it answers, which was already restricted.
 */
import { filterCodecs, getCodecs, parseSdp, payloadTypes, serializeSdp, SipError, type SdpSession } from '@switchboard/sip';
import { MediaError } from './media-error.js';

export interface RestrictOptions {
  /**
   * Put the remaining payload types in the order of `codecs` (the PBX's preference) instead of the offerer's.
   * For offers towards the PBX; an offer towards a browser keeps the PBX's own order.
   */
  readonly reorder?: boolean;
}

/**
 * The offer with only the allowed codecs. When nothing had to go (and no reordering changed anything) the text
 * comes back exactly as given, so passthrough leaves a compliant SDP byte for byte alone.
 */
export function restrictOffer(sdp: string, codecs: readonly string[], options: RestrictOptions = {}): string {
  const session = parseMediaSdp(sdp, 'offer');
  let restricted: SdpSession;
  try {
    restricted = filterCodecs(session, codecs);
  } catch (error) {
    if (error instanceof SipError && error.status === 488) {
      throw new MediaError('no-common-codec', `the offer has none of the codecs ${codecs.join(', ')}`, { cause: error });
    }
    throw new MediaError('invalid-sdp', `the offer could not be restricted to ${codecs.join(', ')}: ${(error as Error).message}`, { cause: error });
  }
  if (options.reorder === true) restricted = inPreferenceOrder(restricted, codecs);
  const text = serializeSdp(restricted);
  return text === serializeSdp(session) ? sdp : text;
}

/**
 * Whether the SDP's audio carries RFC 4733 telephone-events: an active audio stream lists the codec. An SDP that
 * does not parse carries nothing.
 */
export function carriesTelephoneEvents(sdp: string): boolean {
  let session: SdpSession;
  try {
    session = parseSdp(sdp);
  } catch {
    return false;
  }
  return session.media.some(
    (media, index) => media.type === 'audio' && media.port !== 0 && getCodecs(session, index).some((codec) => codec.name.toLowerCase() === 'telephone-event'),
  );
}

/** Throws `MediaError('invalid-sdp')` unless the text is a usable SDP. */
export function checkSdp(sdp: string, what: string): void {
  parseMediaSdp(sdp, what);
}

/** The parsed SDP, or `MediaError('invalid-sdp')` naming `what` it is. */
export function parseMediaSdp(sdp: string, what: string): SdpSession {
  try {
    return parseSdp(sdp);
  } catch (error) {
    throw new MediaError('invalid-sdp', `the ${what} SDP is not usable: ${(error as Error).message}`, { cause: error });
  }
}

function inPreferenceOrder(session: SdpSession, codecs: readonly string[]): SdpSession {
  const rank = new Map(codecs.map((name, index) => [name.toLowerCase(), index]));
  session.media.forEach((media, index) => {
    if (media.port === 0) return;
    // getCodecs also names static payload types listed without an a=rtpmap.
    const names = new Map(getCodecs(session, index).map((codec) => [codec.payload, codec.name.toLowerCase()]));
    if (names.size === 0) return;
    const order = (payload: number): number => rank.get(names.get(payload) ?? '') ?? codecs.length;
    const payloads = payloadTypes(media);
    // Array.prototype.sort is stable: payloads of equal rank (two telephone-event rates) keep the offerer's order.
    media.payloads = [...payloads].sort((a, b) => order(a) - order(b)).join(' ');
  });
  return session;
}
