/**
 * What an answered call between a browser and SIP offers the browser beyond hold and hang-up (`call.answered`'s
 * `features`), and why a DTMF request is refused when digits do not go through the gateway.
 */
import type { CallFeatures } from '@switchboard/protocol';
import type { PbxConfig } from '../config/types.js';
import { carriesTelephoneEvents } from '../media/codec-policy.js';
import { ProtocolError } from '../ws/errors.js';

/** How DTMF reaches the SIP side of a call: what the PBX is set to take; phones registered here take SIP INFO. */
export type DtmfMode = PbxConfig['dtmf'];

/**
 * `browserSdp`: the browser's side of the answered session (the answer it was given, or the answer it gave). With
 * `rfc4733` the browser sends the digits in its own audio, which it can only do when that session negotiated
 * telephone-event.
 */
export function sipCallFeatures(dtmf: DtmfMode, browserSdp: string): CallFeatures {
  if (dtmf === 'info') return { dtmf: 'gateway', transfer: true };
  return { dtmf: carriesTelephoneEvents(browserSdp) ? 'media' : 'none', transfer: true };
}

/** The refusal of a `call.dtmf` on an answered call whose digits do not go through the gateway. */
export function dtmfRefusal(features: CallFeatures): ProtocolError {
  return new ProtocolError(
    'not-supported',
    features.dtmf === 'media'
      ? 'the PBX takes DTMF in the media (RFC 4733): the browser sends the digits itself as telephone-events'
      : 'the PBX takes DTMF only in the media (RFC 4733), and this call’s media negotiated no telephone-event',
  );
}
