/// <reference lib="dom" />
/**
 * The widget's phone, without its looks: one SDK phone, the token source, the current call, the widget state
 * machine, sounds, notifications, recent calls and the DOM events for the host page. The element renders what
 * this holds and forwards clicks and keys to it.
 *
 * One call at a time is shown: a call ringing in while this tab is busy (call waiting on the gateway) still gets
 * its DOM events, but the operator finishes the current call first.
 */
import { browserTimers, createPhone, MicrophoneError, type Call, type CallEnded, type Operator, type Phone, type PhoneEvents } from '@switchboard/client';
import { callDetail, type EndedDetail, type SwitchboardEvents } from './dom-events.js';
import type { MessageKey, Params, Translate } from './i18n/index.js';
import { errorText } from './error-text.js';
import { IncomingNotifier } from './notifications.js';
import { judgePendingDial, PENDING_DIAL_MS, type PendingDial } from './pending-dial.js';
import { safeLocalStorage } from './drag.js';
import { cleanNumber } from './phone-number.js';
import { RecentCalls, recordsCall, type RecentCall } from './recent-calls.js';
import { browserAudioContext, Sounds, unlockOnFirstGesture } from './sounds.js';
import { TokenSource, type TokenProblem } from './token-source.js';
import { transition, type WidgetEvent, type WidgetState } from './widget-state.js';

/** How long an ended call's outcome stays before the widget shows idle again. */
export const OUTCOME_MS = 5_000;

export interface SessionHost {
  changed(): void;
  dispatch<K extends keyof SwitchboardEvents>(name: K, detail: SwitchboardEvents[K]): void;
  openPanel(): void;
  translate: Translate;
}

export interface SessionOptions {
  tokenUrl: string;
  gatewayUrl: string;
  audioElement: HTMLAudioElement;
}

export interface Notice {
  key: MessageKey;
  params?: Params;
}

export class PhoneSession {
  state: WidgetState = 'disconnected';
  operator: Operator | undefined;
  connection: PhoneEvents['connection']['state'] = 'disconnected';
  /** The close reason when the gateway refused the session for good. */
  refusedReason: string | undefined;
  line: PhoneEvents['line'] | undefined;
  tokenProblem: TokenProblem | undefined;
  /** What the number field holds. */
  number = '';
  /** The call shown: dialled from here, ringing here, or answered here. */
  call: Call | undefined;
  /** The target of an outgoing call whose Call object the SDK has not handed over yet. */
  dialling: string | undefined;
  answeredAt: number | undefined;
  /** How the last call ended, while the state is `ended`. */
  outcome: CallEnded | undefined;
  /** Who the ended call was with, while the state is `ended`. */
  endedWho: string | undefined;
  notice: Notice | undefined;
  recent: RecentCall[] = [];
  /**
   * The call whose Answer was pressed and not yet settled (the microphone prompt may be open). Kept per call: a
   * prompt the operator dismissed may never settle, and must not block Answer for the next call.
   */
  private answeringCall: Call | undefined;
  /** The call whose hold or resume is on its way to the far end. */
  private holdingCall: Call | undefined;
  /** The call whose transfer was asked for and not yet answered. */
  private transferringCall: Call | undefined;
  /** A number asked for while connecting, dialled once connected unless the operator moved on meanwhile. */
  private pendingDial: PendingDial | undefined;
  private pendingTimer: ReturnType<typeof setTimeout> | undefined;

  private readonly phone: Phone;
  private readonly tokens: TokenSource;
  private readonly sounds = new Sounds(browserAudioContext);
  private readonly notifier = new IncomingNotifier({
    Notification: globalThis.Notification,
    document,
    focusWindow: () => window.focus(),
  });
  private recentStore: RecentCalls | undefined;
  private hangupWanted = false;
  /** After stop() the SDK still reports the calls it ends; nothing may be scheduled or rendered for them. */
  private stopped = false;
  private resetTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly cleanups: (() => void)[] = [];
  private readonly startedAt = new Map<string, number>();

  constructor(
    private readonly host: SessionHost,
    options: SessionOptions,
  ) {
    this.tokens = new TokenSource({
      url: options.tokenUrl,
      fetch: (url, init) => globalThis.fetch(url, init),
      clock: browserTimers,
      random: Math.random,
      onProblem: (problem) => {
        if (this.stopped) return;
        this.tokenProblem = problem;
        // Signed out: whoever signs in next did not ask for that number.
        if (problem?.failure.kind === 'unauthorized') this.dropPendingDial('call.not-placed.dropped');
        this.host.changed();
      },
    });
    this.phone = createPhone({ url: options.gatewayUrl, getToken: () => this.tokens.get(), audioElement: options.audioElement });
  }

  /** What the call shown offers (DTMF, transfer), once answered. */
  get callFeatures(): Call['features'] {
    return this.call?.features;
  }

  /** A transfer of the call shown was asked for and not yet answered. */
  get transferring(): boolean {
    return this.isShown(this.transferringCall);
  }

  /** Hold or resume was pressed for the call shown and the new state has not come yet. */
  get holding(): boolean {
    return this.isShown(this.holdingCall);
  }

  /** Answer was pressed for the call shown and has not settled yet. */
  get answering(): boolean {
    return this.isShown(this.answeringCall);
  }

  /** Whether `call` is the call shown: a request under way for another call does not change this one's controls. */
  private isShown(call: Call | undefined): boolean {
    return call !== undefined && call === this.call;
  }

  /** The ringback or ringtone wanted now. */
  get sound(): 'ringback' | 'ringtone' | undefined {
    return this.sounds.current;
  }

  start(): void {
    const phone = this.phone;
    this.cleanups.push(
      phone.on('connection', (change) => this.connectionChanged(change)),
      phone.on('line', (line) => {
        if (this.stopped) return;
        this.line = line;
        this.host.changed();
      }),
      phone.on('incoming', (call) => this.incoming(call)),
      phone.on('media-error', (error) => this.say({ key: `microphone.${error.kind}` })),
      unlockOnFirstGesture(document, this.sounds),
    );
    const storage = (event: StorageEvent): void => {
      // A null key: another tab cleared the storage.
      if (this.recentStore && (event.key === this.recentStore.key || event.key === null)) {
        this.recent = this.recentStore.list();
        this.host.changed();
      }
    };
    window.addEventListener('storage', storage);
    this.cleanups.push(() => window.removeEventListener('storage', storage));
    // Failures show through connection events and token problems; the promise has nothing to add.
    phone.connect().catch(() => {});
  }

  stop(): void {
    this.stopped = true;
    this.dropPendingDial(undefined);
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    clearTimeout(this.resetTimer);
    this.tokens.stop();
    this.phone.disconnect();
    this.sounds.close();
    this.notifier.close();
  }

  /** A gesture inside the widget: the moment to ask for notifications, and a sure way to unlock sound. */
  userGesture(): void {
    this.sounds.unlock();
    this.notifier.askOnce();
  }

  setNumber(text: string): void {
    this.number = text;
    this.notice = undefined;
    this.dropPendingDial(undefined);
    this.host.changed();
  }

  /** The operator closed the panel: a number waiting for the connection is no longer wanted. */
  cancelPendingDial(): void {
    this.dropPendingDial(undefined);
  }

  /**
   * Forgets the waiting number. The "will call when online" notice must not outlive it: it goes, or says the
   * number was not called (`why`).
   */
  private dropPendingDial(why: 'call.not-placed.dropped' | 'call.not-placed.other-operator' | undefined): void {
    const pending = this.pendingDial;
    if (pending === undefined) return;
    this.pendingDial = undefined;
    clearTimeout(this.pendingTimer);
    this.pendingTimer = undefined;
    if (this.notice?.key === 'call.not-placed.offline') this.notice = why ? { key: why, params: { number: pending.number } } : undefined;
    if (!this.stopped) this.host.changed();
  }

  private queueDial(number: string): void {
    this.dropPendingDial(undefined);
    this.pendingDial = { number, at: Date.now(), operatorId: this.operator?.id };
    this.pendingTimer = setTimeout(() => this.dropPendingDial('call.not-placed.dropped'), PENDING_DIAL_MS);
  }

  /**
   * Fills the number and places the call when the phone can; while connecting it remembers the number and calls
   * once connected; says why not otherwise. Returns false only when the text is not a number (click-to-call then
   * leaves the link to the browser).
   */
  dial(text: string): boolean {
    const cleaned = cleanNumber(text);
    if (!cleaned.ok) {
      this.say(cleaned.problem === 'character' ? { key: 'number.character', params: { character: cleaned.character } } : { key: `number.${cleaned.problem}` });
      return false;
    }
    this.number = cleaned.number;
    this.dropPendingDial(undefined);
    const next = transition(this.state, 'dial');
    if (next === undefined) {
      // Disconnected is for good (refused, or not started): only a phone that is connecting will get there.
      if (this.state === 'connecting') this.queueDial(cleaned.number);
      this.say({
        key: this.state === 'connecting' ? 'call.not-placed.offline' : this.state === 'disconnected' ? 'call.not-placed.disconnected' : 'call.not-placed.busy',
      });
      return true;
    }
    this.notice = undefined;
    this.outcome = undefined;
    this.hangupWanted = false;
    this.dialling = cleaned.number;
    this.go('dial');
    this.sounds.play('ringback');
    void this.place(cleaned.number);
    return true;
  }

  async answer(): Promise<void> {
    const call = this.call;
    if (this.state !== 'ringing-in' || !call || this.answering) return;
    this.answeringCall = call;
    this.sounds.stop();
    this.notifier.close();
    this.host.changed();
    try {
      await call.answer();
    } catch (error) {
      // The caller gave up, or another tab took it, while the microphone prompt was open: the end says it all.
      if (this.stopped || this.call !== call || call.state !== 'ringing') return;
      this.sounds.play('ringtone');
      if (!(error instanceof MicrophoneError)) this.say({ key: 'call.answer-failed', params: { message: errorText(error, this.host.translate) } });
    } finally {
      // A later call may be under way by now; its own answer is not settled by this one.
      if (this.answeringCall === call) this.answeringCall = undefined;
      if (!this.stopped) this.host.changed();
    }
  }

  reject(): void {
    const call = this.call;
    if (this.state !== 'ringing-in' || !call) return;
    this.sounds.stop();
    call.reject('decline').catch((error: unknown) => this.callFailed(call, 'call.reject-failed', error));
  }

  hangup(): void {
    if (this.state !== 'dialling' && this.state !== 'in-call') return;
    const call = this.call;
    if (!call) {
      this.hangupWanted = true;
      return;
    }
    call.hangup().catch((error: unknown) => this.callFailed(call, 'call.hangup-failed', error));
  }

  /** Holds the call, or resumes it when the operator holds it; the far end's own hold is the far end's to end. */
  async toggleHold(): Promise<void> {
    const call = this.call;
    if (this.state !== 'in-call' || !call || this.holding) return;
    this.holdingCall = call;
    this.host.changed();
    const wanted = !call.holdState.local;
    try {
      await (wanted ? call.hold() : call.resume());
      // The new state follows the reply as an event; until it comes, the button would offer the same action again.
      if (call.holdState.local !== wanted && call.state !== 'ended') await nextHoldEvent(call, 2000);
    } catch (error) {
      this.callFailed(call, 'call.hold-failed', error);
    } finally {
      if (this.holdingCall === call) this.holdingCall = undefined;
      if (!this.stopped) this.host.changed();
    }
  }

  /** A digit pressed on the in-call keypad, sent to the far end as DTMF. */
  sendDigit(digit: string): void {
    const call = this.call;
    if (this.state !== 'in-call' || !call || !/^[0-9*#]$/.test(digit)) return;
    call.sendDtmf(digit).catch((error: unknown) => this.callFailed(call, 'call.dtmf-failed', error));
  }

  /**
   * Blind transfer: the far end is asked to call `text` itself, and the call ends as transferred once it agrees.
   * False when the text is not a number (said in the status) or a transfer is already under way.
   */
  async transfer(text: string): Promise<boolean> {
    const call = this.call;
    if (this.state !== 'in-call' || !call || this.transferring) return false;
    const cleaned = cleanNumber(text);
    if (!cleaned.ok) {
      this.say(cleaned.problem === 'character' ? { key: 'number.character', params: { character: cleaned.character } } : { key: `number.${cleaned.problem}` });
      return false;
    }
    this.transferringCall = call;
    this.host.changed();
    try {
      await call.transfer(cleaned.number);
      return true;
    } catch (error) {
      this.callFailed(call, 'call.transfer-failed', error);
      return false;
    } finally {
      if (this.transferringCall === call) this.transferringCall = undefined;
      if (!this.stopped) this.host.changed();
    }
  }

  /** A hang-up, reject, hold, DTMF or transfer that failed, unless the call ended anyway (the far end was quicker). */
  private callFailed(call: Call, key: 'call.reject-failed' | 'call.hangup-failed' | 'call.hold-failed' | 'call.dtmf-failed' | 'call.transfer-failed', error: unknown): void {
    if (this.stopped || this.call !== call || call.state === 'ended') return;
    this.say({ key, params: { message: errorText(error, this.host.translate) } });
  }

  toggleMute(): void {
    if (this.state !== 'in-call' || !this.call) return;
    this.call.mute(!this.call.muted);
    this.host.changed();
  }

  private async place(number: string): Promise<void> {
    let call: Call;
    try {
      call = await this.phone.call(number);
    } catch (error) {
      if (this.stopped) return;
      this.sounds.stop();
      this.dialling = undefined;
      this.outcome = { cause: 'failed' };
      this.endedWho = number;
      // A microphone failure has already been said, through media-error.
      if (!(error instanceof MicrophoneError)) this.say({ key: 'call.failed', params: { message: errorText(error, this.host.translate) } });
      this.go('ended');
      this.scheduleReset();
      return;
    }
    this.dialling = undefined;
    this.call = call;
    this.startedAt.set(call.id, Date.now());
    this.follow(call, true);
    this.host.dispatch('switchboard:outgoing', callDetail(call));
    if (this.hangupWanted) this.hangup();
    this.host.changed();
  }

  private incoming(call: Call): void {
    this.startedAt.set(call.id, Date.now());
    const shown = transition(this.state, 'incoming') !== undefined;
    this.follow(call, shown);
    this.host.dispatch('switchboard:incoming', callDetail(call));
    if (!shown) return;
    this.dropPendingDial(undefined);
    this.call = call;
    this.outcome = undefined;
    this.notice = undefined;
    this.go('incoming');
    this.sounds.play('ringtone');
    const t = this.host.translate;
    this.notifier.show(t('notification.title'), who(call), `switchboard-${call.id}`, () => this.host.openPanel());
    this.host.openPanel();
  }

  /** Listens to a call: DOM events for every call, the widget's state only for the one it shows. */
  private follow(call: Call, shown: boolean): void {
    const offState = call.on('state', ({ state }) => {
      if (shown && state === 'early') this.sounds.stop();
      if (state !== 'active') return;
      this.host.dispatch('switchboard:answered', callDetail(call));
      if (!shown || this.call !== call) return;
      this.answeredAt = Date.now();
      this.sounds.stop();
      this.notifier.close();
      this.go('answered');
    });
    // The CRM's answer about a dialled number arrives after the call started (the card fills in while it rings),
    // and either side may hold the call at any time.
    const refresh = (): void => {
      if (shown && this.call === call && !this.stopped) this.host.changed();
    };
    const offContact = call.on('contact', refresh);
    const offHold = call.on('hold', refresh);
    const offEnded = call.on('ended', (ended) => {
      offState();
      offContact();
      offHold();
      offEnded();
      this.ended(call, ended, shown && this.call === call);
    });
  }

  private ended(call: Call, ended: CallEnded, shown: boolean): void {
    const answeredAt = shown ? this.answeredAt : undefined;
    const durationMs = answeredAt === undefined ? 0 : Math.max(0, Date.now() - answeredAt);
    const detail: EndedDetail = { ...callDetail(call), cause: ended.cause, durationMs };
    if (ended.sipStatus !== undefined) detail.sipStatus = ended.sipStatus;
    this.host.dispatch('switchboard:ended', detail);
    const at = this.startedAt.get(call.id) ?? Date.now();
    this.startedAt.delete(call.id);
    if (recordsCall(ended.cause)) this.record(call, ended, at, answeredAt, durationMs);
    if (!shown || this.stopped) return;
    this.sounds.stop();
    this.notifier.close();
    this.call = undefined;
    this.answeredAt = undefined;
    this.outcome = ended;
    this.endedWho = who(call);
    this.go('ended');
    this.scheduleReset();
  }

  private record(call: Call, ended: CallEnded, at: number, answeredAt: number | undefined, durationMs: number): void {
    if (!this.recentStore) return;
    const entry: RecentCall = {
      callId: call.id,
      direction: call.direction,
      number: call.remote.number,
      cause: ended.cause,
      answered: answeredAt !== undefined,
      at,
    };
    const name = call.contact?.name ?? call.remote.name;
    if (name !== undefined) entry.name = name;
    if (answeredAt !== undefined) entry.durationMs = durationMs;
    this.recent = this.recentStore.add(entry);
  }

  private connectionChanged({ state, reason }: PhoneEvents['connection']): void {
    if (this.stopped) return;
    this.connection = state;
    switch (state) {
      case 'connecting':
        this.refusedReason = undefined;
        this.go('connecting');
        break;
      case 'connected': {
        const operator = this.phone.operator;
        this.operator = operator;
        this.tokenProblem = undefined;
        if (operator) {
          this.recentStore = new RecentCalls(safeLocalStorage(), operator.id);
          this.recent = this.recentStore.list();
        }
        this.go('connected');
        if (operator) this.host.dispatch('switchboard:ready', { operator: { ...operator } });
        this.dialPending();
        break;
      }
      case 'reconnecting':
        this.go('lost');
        break;
      case 'disconnected':
        this.refusedReason = reason;
        this.dropPendingDial('call.not-placed.dropped');
        this.go('stopped');
        break;
    }
    this.host.changed();
  }

  /** The number asked for while connecting, if it is still what the panel holds and nothing else came first. */
  private dialPending(): void {
    const pending = this.pendingDial;
    if (pending === undefined) return;
    const verdict = judgePendingDial(pending, Date.now(), this.operator?.id);
    if (verdict !== 'dial') {
      this.dropPendingDial(verdict === 'expired' ? 'call.not-placed.dropped' : 'call.not-placed.other-operator');
      return;
    }
    this.dropPendingDial(undefined);
    if (this.state !== 'idle' || this.number !== pending.number) return;
    this.dial(pending.number);
  }

  private scheduleReset(): void {
    if (this.stopped) return;
    clearTimeout(this.resetTimer);
    this.resetTimer = setTimeout(() => {
      if (this.state !== 'ended') return;
      this.outcome = undefined;
      this.go('reset');
    }, OUTCOME_MS);
  }

  /** A message for the operator until the next action. */
  say(notice: Notice): void {
    if (this.stopped) return;
    this.notice = notice;
    this.host.changed();
  }

  private go(event: WidgetEvent): void {
    const next = transition(this.state, event);
    if (next === undefined || this.stopped) return;
    this.state = next;
    this.host.changed();
  }
}

/** Who is on the line, for people: the CRM contact, else the caller's name, else the number. */
export function who(call: Pick<Call, 'contact' | 'remote'>): string {
  return call.contact?.name ?? call.remote.name ?? call.remote.number;
}

/** Resolves at the call's next hold event, or after `timeoutMs` (a hold that changed nothing sends none). */
function nextHoldEvent(call: Call, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      off();
      clearTimeout(timer);
      resolve();
    };
    const off = call.on('hold', done);
    const timer = setTimeout(done, timeoutMs);
  });
}
