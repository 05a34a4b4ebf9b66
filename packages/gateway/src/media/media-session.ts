/**
 * One call's media as the B2BUA sees it: every SDP crossing between the browser leg and the SIP leg goes through
 * a `MediaSession`, which hands back the SDP to send on. Which implementation a call gets follows the PBX's
 * `media` setting: `rtpengine` relays and converts the media (WebRTC on the browser side, plain RTP on the SIP
 * side); `passthrough` is for PBXs that speak WebRTC themselves, so the SDP only loses the codecs the PBX does
 * not allow.
 */
import type { PbxConfig } from '../config/types.js';
import { MediaError } from './media-error.js';
import { PassthroughMediaSession } from './passthrough-media-session.js';
import type { MediaLogger, RtpengineClient } from './rtpengine-client.js';
import { RtpengineMediaSession } from './rtpengine-media-session.js';

export interface MediaSession {
  /** Browser → SIP call: the browser's offer becomes the SDP of the INVITE. */
  offerFromBrowser(sdp: string): Promise<string>;
  /** Browser → SIP call: the answer of a 183 or 200 becomes the SDP for the browser. May be called again (183, then 200). */
  answerFromSip(sdp: string): Promise<string>;
  /** SIP → browser call: the INVITE's offer becomes the SDP of the browser's `call.incoming`. */
  offerFromSip(sdp: string): Promise<string>;
  /** SIP → browser call: the browser's answer becomes the SDP of the 200 OK. */
  answerFromBrowser(sdp: string): Promise<string>;
  /**
   * In an answered call, the SIP side's re-INVITE offers a session that moves its media or changes codecs: the
   * result is the answer for it, while the browser's side stays as it is. Rejects `unsupported` where that cannot
   * be done without the browser (passthrough) or the media sections differ, `no-common-codec` when the browser
   * would have to change codec. The relay uses the new session at once: `revert()` goes back to the one before
   * when the far end never gets the answer (never rejects).
   */
  updateFromSip(sdp: string): Promise<MediaUpdate>;
  /**
   * Music on hold: while the operator holds the call, the SIP side hears the configured file instead of silence.
   * `true` starts it, `false` stops it. Never rejects (a hold without music is still a hold), and does nothing where
   * no music is configured or the media does not pass the gateway's relay (passthrough).
   */
  setHoldMusic(playing: boolean): Promise<void>;
  /** Releases the call's media resources; idempotent, never rejects. Later operations reject with `closed`. */
  close(): Promise<void>;
}

export interface MediaUpdate {
  readonly answer: string;
  revert(): Promise<void>;
}

export type MediaMode = PbxConfig['media'];

export interface MediaSessionOptions {
  readonly mode: MediaMode;
  /** Required in `rtpengine` mode; shared by all calls. */
  readonly client?: RtpengineClient;
  /** Keys the call at rtpengine; must be unique among the calls alive at one time. */
  readonly callId: string;
  /** The PBX's `codecs`. */
  readonly codecs: readonly string[];
  readonly logger: MediaLogger;
  /** rtpengine mode only: the file played to the SIP side while the operator holds (a path on rtpengine's host). */
  readonly holdMusic?: string | undefined;
}

export function createMediaSession(options: MediaSessionOptions): MediaSession {
  if (options.codecs.length === 0) throw new MediaError('invalid-argument', 'a media session needs at least one allowed codec');
  if (options.mode === 'passthrough') return new PassthroughMediaSession(options.codecs);
  if (options.mode !== 'rtpengine') throw new MediaError('invalid-argument', `unknown media mode ${JSON.stringify(options.mode)}`);
  if (options.client === undefined) {
    throw new MediaError('invalid-argument', 'media mode "rtpengine" needs an rtpengine client (configure rtpengine.ng)');
  }
  if (options.callId.length === 0) throw new MediaError('invalid-argument', 'a media session needs a call id');
  return new RtpengineMediaSession({
    client: options.client,
    callId: options.callId,
    codecs: options.codecs,
    logger: options.logger,
    holdMusic: options.holdMusic,
  });
}
