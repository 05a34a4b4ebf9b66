/**
 * The WebRTC side of one call: the microphone track, the peer connection, and where remote audio plays.
 *
 * Operations on the peer connection run one after another (a provisional answer, then the final one, then
 * candidates), because each depends on the state the previous one left behind. Remote candidates wait until a
 * remote description exists. Local candidates are part of the SDP until it is handed out; the ones gathered
 * later go to `onTrickle`, ending with null.
 */
import type { IceCandidate, IceServer } from '@switchboard/protocol';
import { ClientError } from './errors.js';
import { MAX_DTMF_DIGITS } from './generated/server-checks.js';
import type { Platform } from './platform.js';

export interface MediaContext {
  platform: Platform;
  iceServers: IceServer[];
  iceGatheringTimeoutMs: number;
  /** Where remote audio plays; asked for when the first remote track arrives. */
  audioElement: () => HTMLAudioElement;
  report: (error: ClientError) => void;
}

/** The RTCIceServer a peer connection accepts, from the protocol's (which carries an expiry it does not know). */
export function rtcIceServers(servers: IceServer[]): RTCIceServer[] {
  return servers.map(({ urls, username, credential }) => ({
    urls,
    ...(username === undefined ? {} : { username }),
    ...(credential === undefined ? {} : { credential }),
  }));
}

/** The protocol's candidate mirrors RTCIceCandidateInit with null fields left out. */
export function candidateToWire(candidate: RTCIceCandidate): IceCandidate {
  const wire: IceCandidate = { candidate: candidate.candidate };
  if (candidate.sdpMid != null) wire.sdpMid = candidate.sdpMid;
  if (candidate.sdpMLineIndex != null) wire.sdpMLineIndex = candidate.sdpMLineIndex;
  if (candidate.usernameFragment != null) wire.usernameFragment = candidate.usernameFragment;
  return wire;
}

/** The pause between two telephone-events: RTCDTMFSender's default, and what the gateway's INFO digits leave too. */
const DTMF_GAP_MS = 70;

function webrtcFailed(what: string, cause: unknown): ClientError {
  return new ClientError('webrtc-failed', `${what} failed`, { cause });
}

export class CallMedia {
  /** Receives local candidates gathered after the SDP was handed out; null when gathering is complete. */
  onTrickle: (candidate: IceCandidate | null) => void = () => {};
  private readonly peer: RTCPeerConnection;
  private queue: Promise<unknown> = Promise.resolve();
  private handedOut = false;
  private hasRemote = false;
  private readonly waitingCandidates: (IceCandidate | null)[] = [];
  private remoteStream: MediaStream | undefined;
  private closed = false;
  private muted = false;
  private held = false;
  /** What the digits waiting in the DTMF sender last asked for. */
  private dtmfDurationMs = 0;

  private constructor(
    private readonly context: MediaContext,
    private readonly microphone: MediaStream,
  ) {
    this.peer = context.platform.createPeerConnection({ iceServers: rtcIceServers(context.iceServers) });
    for (const track of microphone.getAudioTracks()) this.peer.addTrack(track, microphone);
    this.peer.addEventListener('icecandidate', (event) => {
      if (!this.handedOut || this.closed) return;
      if (event.candidate === null) this.onTrickle(null);
      // An empty candidate is some browsers' end-of-generation marker; null follows it.
      else if (event.candidate.candidate !== '') this.onTrickle(candidateToWire(event.candidate));
    });
    this.peer.addEventListener('track', (event) => this.play(event));
  }

  /** Opens the microphone (the caller maps its failures) and a peer connection around it. */
  static async open(context: MediaContext): Promise<CallMedia> {
    const microphone = await context.platform.getUserMedia({ audio: true });
    try {
      return new CallMedia(context, microphone);
    } catch (error) {
      for (const track of microphone.getTracks()) track.stop();
      throw webrtcFailed('creating the peer connection', error);
    }
  }

  /** The local offer, with the candidates gathered within the timeout. */
  createOffer(): Promise<string> {
    return this.serially('creating the offer', async () => {
      await this.peer.setLocalDescription(await this.peer.createOffer());
      return this.localSdp();
    });
  }

  /** Applies the gateway's offer and returns the local answer. */
  acceptOffer(sdp: string): Promise<string> {
    return this.serially('answering the offer', async () => {
      await this.peer.setRemoteDescription({ type: 'offer', sdp });
      await this.remoteDescribed();
      await this.peer.setLocalDescription(await this.peer.createAnswer());
      return this.localSdp();
    });
  }

  /** A provisional answer (early media) may be followed by more, and by the final one. */
  applyAnswer(sdp: string, provisional: boolean): Promise<void> {
    return this.serially('applying the answer', async () => {
      await this.peer.setRemoteDescription({ type: provisional ? 'pranswer' : 'answer', sdp });
      await this.remoteDescribed();
    });
  }

  addRemoteCandidate(candidate: IceCandidate | null): Promise<void> {
    if (!this.hasRemote) {
      this.waitingCandidates.push(candidate);
      return Promise.resolve();
    }
    return this.serially('adding a remote candidate', () => this.peer.addIceCandidate(candidate ?? undefined));
  }

  setIceServers(servers: IceServer[]): void {
    if (this.closed) return;
    try {
      this.peer.setConfiguration({ ...this.peer.getConfiguration(), iceServers: rtcIceServers(servers) });
    } catch (error) {
      this.context.report(webrtcFailed('updating the ICE servers', error));
    }
  }

  mute(muted: boolean): void {
    this.muted = muted;
    this.applyTracks();
  }

  /** While the operator holds the call, neither side hears the other; resuming restores what mute allows. */
  hold(held: boolean): void {
    this.held = held;
    this.applyTracks();
  }

  private applyTracks(): void {
    for (const track of this.microphone.getAudioTracks()) track.enabled = !this.muted && !this.held;
    for (const receiver of this.peer.getReceivers()) receiver.track.enabled = !this.held;
  }

  /**
   * Queues digits as RFC 4733 telephone-events in the call's audio, after those still waiting (`insertDTMF`
   * replaces its buffer, so the rest of it goes first), once an answer on its way has been applied: before that the
   * sender has nothing negotiated to send with. Resolves once queued. `insertDTMF` gives one duration to its whole
   * buffer, so digits of another duration than those waiting, and more than `MAX_DTMF_DIGITS` waiting at a time,
   * are refused `rate-limited`, with how long until they would fit.
   */
  sendDtmf(digits: string, durationMs: number): Promise<void> {
    return this.serially('sending digits', async () => {
      const dtmf = this.peer.getSenders().find((sender) => sender.track?.kind === 'audio')?.dtmf;
      if (!dtmf?.canInsertDTMF) throw new ClientError('not-supported', 'the call’s audio cannot carry telephone-events: not negotiated, or not sending');
      const waiting = dtmf.toneBuffer;
      const pace = this.dtmfDurationMs + DTMF_GAP_MS;
      if (waiting !== '' && durationMs !== this.dtmfDurationMs) {
        throw new ClientError('rate-limited', `digits of ${this.dtmfDurationMs} ms are still waiting; ${durationMs} ms ones can follow once they are sent`, {
          details: { retryAfterMs: waiting.length * pace },
        });
      }
      if (waiting.length + digits.length > MAX_DTMF_DIGITS) {
        throw new ClientError('rate-limited', `${waiting.length} digits are still waiting to be sent`, {
          details: { retryAfterMs: (waiting.length + digits.length - MAX_DTMF_DIGITS) * pace },
        });
      }
      dtmf.insertDTMF(waiting + digits, durationMs, DTMF_GAP_MS);
      this.dtmfDurationMs = durationMs;
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const track of this.microphone.getTracks()) track.stop();
    try {
      this.peer.close();
    } catch {
      // Closing twice, or a browser that throws on an already failed connection: the call is over either way.
    }
    if (this.remoteStream) {
      const audio = this.context.audioElement();
      if (audio.srcObject === this.remoteStream) audio.srcObject = null;
    }
  }

  private async remoteDescribed(): Promise<void> {
    if (this.hasRemote) return;
    this.hasRemote = true;
    for (const candidate of this.waitingCandidates.splice(0)) {
      await this.peer.addIceCandidate(candidate ?? undefined).catch((error: unknown) => this.context.report(webrtcFailed('adding a remote candidate', error)));
    }
  }

  private serially<T>(what: string, operation: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.closed) throw new ClientError('invalid-state', `${what}: the call's media is closed`);
      return operation();
    });
    this.queue = run.catch(() => {});
    return run.catch((error: unknown) => {
      throw error instanceof ClientError ? error : webrtcFailed(what, error);
    });
  }

  /** Waits for ICE gathering to complete, or the timeout; the rest trickles. */
  private async localSdp(): Promise<string> {
    if (this.peer.iceGatheringState !== 'complete') {
      await new Promise<void>((resolve) => {
        const { timers } = this.context.platform;
        const done = () => {
          timers.clearTimeout(timer);
          this.peer.removeEventListener('icegatheringstatechange', changed);
          resolve();
        };
        const changed = () => {
          if (this.peer.iceGatheringState === 'complete') done();
        };
        const timer = timers.setTimeout(done, this.context.iceGatheringTimeoutMs);
        this.peer.addEventListener('icegatheringstatechange', changed);
      });
    }
    // Read and mark in one step: every candidate is either in this SDP or trickled, never both or neither.
    const sdp = this.peer.localDescription?.sdp;
    this.handedOut = true;
    if (!sdp) throw new ClientError('webrtc-failed', 'the peer connection produced no local description');
    return sdp;
  }

  private play(event: RTCTrackEvent): void {
    if (this.closed) return;
    event.track.enabled = !this.held;
    const stream = event.streams[0] ?? new MediaStream([event.track]);
    this.remoteStream = stream;
    let audio: HTMLAudioElement;
    try {
      audio = this.context.audioElement();
      audio.srcObject = stream;
    } catch (error) {
      this.context.report(new ClientError('audio-playback', 'no element to play remote audio through', { cause: error }));
      return;
    }
    // Autoplay policies refuse playback until the user has interacted with the page; the host may show a button.
    audio.play()?.catch((error: unknown) => {
      this.context.report(new ClientError('audio-playback', 'the browser would not start remote audio', { cause: error }));
    });
  }
}
