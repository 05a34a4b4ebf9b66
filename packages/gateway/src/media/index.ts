export { MediaError, isMediaError, type MediaErrorCode } from './media-error.js';
export {
  bencode, bdecode, isBencodeDict, DEFAULT_BENCODE_MAX_BYTES, DEFAULT_BENCODE_MAX_DEPTH, type BencodeDict, type BencodeValue,
  type BencodeLimits, type DecodeOptions,
} from './bencode.js';
export {
  RtpengineClient, type RtpengineClientOptions, type MediaLogger, type NgSdpOptions, type NgOfferParams, type NgAnswerParams,
  type NgDeleteParams, type NgSdpReply, type NgParticipant, type NgPlayMediaParams,
} from './rtpengine-client.js';
export { createMediaSession, type MediaSession, type MediaSessionOptions, type MediaMode, type MediaUpdate } from './media-session.js';
export { RtpengineMediaSession, TO_SIP, TO_BROWSER_OFFER, TO_BROWSER_ANSWER, REOFFER_TO_BROWSER, type RtpengineMediaSessionOptions } from './rtpengine-media-session.js';
export { PassthroughMediaSession } from './passthrough-media-session.js';
export { restrictOffer, checkSdp, type RestrictOptions } from './codec-policy.js';
