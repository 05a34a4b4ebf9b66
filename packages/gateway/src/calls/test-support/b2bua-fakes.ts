/**
 * Stand-ins for the B2BUA's unit tests: browser tabs that record the events they are sent, and a media bridge that
 * marks each SDP it converts, so a test sees which side of the bridge every SDP came from.
 */
import type { CloseReason, ServerEvent } from '@switchboard/protocol';
import type { SessionHandle, SessionOperator } from '../../ws/index.js';
import type { CallMedia } from '../sip-call.js';

export const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';

export class FakeTab implements SessionHandle {
  readonly events: ServerEvent[] = [];
  readonly instance = undefined;
  readonly tokenExpiresAt = Date.now() + 3_600_000;
  readonly connectedAt = Date.now();
  open = true;
  constructor(
    readonly id: string,
    readonly operator: SessionOperator,
  ) {}
  send(event: ServerEvent): boolean {
    if (!this.open) return false;
    this.events.push(event);
    return true;
  }
  close(_reason: CloseReason): void {
    this.open = false;
  }
  async next(type: string, timeoutMs = 3000): Promise<Record<string, unknown>> {
    const started = Date.now();
    for (;;) {
      const found = this.events.find((e) => e.type === type);
      if (found) return found as unknown as Record<string, unknown>;
      if (Date.now() - started > timeoutMs) throw new Error(`${this.id}: no ${type}; got ${this.events.map((e) => e.type).join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/** Marks every SDP with the direction it was converted in. */
export class MarkingMedia implements CallMedia {
  closed = false;
  /** Every hold-music change asked for, in order. */
  readonly holdMusic: boolean[] = [];
  async offerFromBrowser(sdp: string) { return `${sdp}a=x-bridge:to-sip-offer\r\n`; }
  async answerFromSip(sdp: string) { return `${sdp}a=x-bridge:to-browser-answer\r\n`; }
  async offerFromSip(sdp: string) { return `${sdp}a=x-bridge:to-browser-offer\r\n`; }
  async answerFromBrowser(sdp: string) { return `${sdp}a=x-bridge:to-sip-answer\r\n`; }
  /** Every re-offer from the SIP side, in order, and every one taken back. */
  readonly reoffers: string[] = [];
  readonly reverted: string[] = [];
  /** What a re-offer from the SIP side gets; by default a marked copy of it. */
  reoffer: (sdp: string) => Promise<string> = async (sdp) => `${sdp}a=x-bridge:to-sip-reanswer\r\n`;
  async updateFromSip(sdp: string) {
    this.reoffers.push(sdp);
    const answer = await this.reoffer(sdp);
    return { answer, revert: async () => void this.reverted.push(sdp) };
  }
  async setHoldMusic(playing: boolean) { this.holdMusic.push(playing); }
  async close() { this.closed = true; }
}

/** Polls until `probe` gives (or resolves with) something. */
export async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 3000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
