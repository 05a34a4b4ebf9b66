/**
 * Media for a PBX that speaks WebRTC (ICE, DTLS-SRTP) itself: browser and PBX exchange media directly, so their
 * SDP travels unchanged apart from the PBX's codec list applied to offers.
 */
import { checkSdp, restrictOffer } from './codec-policy.js';
import { MediaError } from './media-error.js';
import type { MediaSession, MediaUpdate } from './media-session.js';

export class PassthroughMediaSession implements MediaSession {
  private closed = false;

  constructor(private readonly codecs: readonly string[]) {}

  async offerFromBrowser(sdp: string): Promise<string> {
    this.assertOpen();
    return restrictOffer(sdp, this.codecs, { reorder: true });
  }

  async answerFromSip(sdp: string): Promise<string> {
    this.assertOpen();
    checkSdp(sdp, 'SIP answer');
    return sdp;
  }

  async offerFromSip(sdp: string): Promise<string> {
    this.assertOpen();
    return restrictOffer(sdp, this.codecs);
  }

  async answerFromBrowser(sdp: string): Promise<string> {
    this.assertOpen();
    checkSdp(sdp, 'browser answer');
    return sdp;
  }

  /** The browser would have to take the new offer itself (renegotiate), which the protocol does not do. */
  async updateFromSip(): Promise<MediaUpdate> {
    this.assertOpen();
    throw new MediaError('unsupported', 'a passthrough call cannot move its media without the browser renegotiating');
  }

  /** The media flows between browser and PBX without the gateway: nothing here could play (the PBX may, on hold). */
  async setHoldMusic(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new MediaError('closed', 'the media session is closed');
  }
}
