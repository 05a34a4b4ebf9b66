/// <reference lib="dom" />
/**
 * `<switchboard-phone>`: the floating button and the phone panel, in an open shadow root (so the host page's CSS
 * cannot break it, and tests' selectors can pierce it). It renders what its PhoneSession holds and forwards
 * clicks and keys to it. Test hooks: `data-state` on the root, `data-action` on controls, `data-part` on regions.
 */
import { html, LitElement, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { live } from 'lit/directives/live.js';
import { styleMap } from 'lit/directives/style-map.js';
import { installClickToCall } from './click-to-call.js';
import { control, type Action, type ControlState } from './controls.js';
import { dialpadView, inCallView, type InCallExtra } from './in-call-view.js';
import { dispatch } from './dom-events.js';
import { nextConnectionNews, QUIET, type ConnectionNews } from './announce.js';
import { draggable, fitPositions, loadPositions, safeLocalStorage, savePositions, viewportSize, type Point, type SavedPositions, type Size } from './drag.js';
import { pickLanguage, translator, type Language, type MessageKey, type Translate } from './i18n/index.js';
import { formatDuration } from './duration.js';
import { cleanNumber } from './phone-number.js';
import { PhoneSession, who } from './phone-session.js';
import { PHONE_ICON } from './icons.js';
import { recentCallsView } from './recent-calls-view.js';
import { styles } from './styles.js';
import { hasCall, type WidgetState } from './widget-state.js';

export const ELEMENT_NAME = 'switchboard-phone';

export interface ElementOptions {
  tokenUrl: string;
  gatewayUrl: string;
  lang?: string | undefined;
}

/** Characters a person may type into the number field; the rest are refused as they are typed. */
const TYPABLE = /^[0-9+*#\s().\-]*$/;

export class SwitchboardPhone extends LitElement {
  static override styles = styles;

  private options: ElementOptions | undefined;
  private language: Language = 'en';
  private t: Translate = translator('en');
  private session: PhoneSession | undefined;
  private open = false;
  /** Where the operator put the boxes: loaded, then changed only by dragging; what is saved. */
  private dragged: SavedPositions = {};
  /** Where the boxes show: the dragged positions, kept inside the viewport. */
  private positions: SavedPositions = {};
  /** What the polite live region says about the connection. */
  private news: ConnectionNews = QUIET;
  /** The last measured sizes: a hidden panel has none of its own, but must still fit when it opens. */
  private readonly sizes: { fab?: Size; panel?: Size } = {};
  /** The `open`/state pair the positions were last clamped for. */
  private clampedFor: string | undefined;
  private focusInside = false;
  /** The keypad or transfer form opened under the call's controls; closed when the call ends. */
  private extra: InCallExtra;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private readonly cleanups: (() => void)[] = [];
  // Remote audio plays inside the shadow root: nothing is added to the host's document.
  private readonly audio = Object.assign(document.createElement('audio'), { autoplay: true, hidden: true });
  private readonly fabDrag = draggable({
    box: () => this.find('.fab'),
    moved: (p) => this.move('fab', p),
    dropped: () => savePositions(safeLocalStorage(), this.dragged),
  });
  private readonly panelDrag = draggable({
    box: () => this.find('.panel'),
    moved: (p) => this.move('panel', p),
    dropped: () => savePositions(safeLocalStorage(), this.dragged),
  });

  /** Called once, before the element is added to the page. */
  configure(options: ElementOptions): void {
    this.options = options;
    this.language = pickLanguage(options.lang, navigator.languages?.length ? navigator.languages : [navigator.language]);
    this.t = translator(this.language);
  }

  override connectedCallback(): void {
    super.connectedCallback();
    const options = this.options;
    if (!options) return;
    if (!this.session) {
      this.dragged = loadPositions(safeLocalStorage());
      this.positions = { ...this.dragged };
      this.session = new PhoneSession(
        {
          changed: () => this.requestUpdate(),
          dispatch: (name, detail) => dispatch(this, name, detail),
          openPanel: () => this.openPanel(false),
          translate: (key, params) => this.t(key, params),
        },
        { tokenUrl: options.tokenUrl, gatewayUrl: options.gatewayUrl, audioElement: this.audio },
      );
      this.session.start();
    }
    const resize = (): void => this.clampPositions();
    window.addEventListener('resize', resize);
    this.cleanups.push(
      () => window.removeEventListener('resize', resize),
      installClickToCall(document, (number) => this.takeCall(number), (element) => this.contains(element)),
    );
    // Restarts the call timer after a move, and re-fits the boxes to a viewport that may have changed meanwhile.
    this.clampedFor = undefined;
    this.requestUpdate();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    clearInterval(this.ticker);
    this.ticker = undefined;
    // A page that moves the element (appends it elsewhere) disconnects and reconnects it in one go: only an
    // element still out of the document once that settles has been removed, and only then do its calls end.
    // "In one go" means before the microtask queue runs: re-inserted after an await, a timer or a frame, the
    // element starts a new session and the calls are gone.
    queueMicrotask(() => {
      if (this.isConnected) return;
      this.session?.stop();
      this.session = undefined;
    });
  }

  // ---- the public API's entry points -------------------------------------------------------------------------

  /** Click-to-call and `Switchboard.call`: false when the text is not a number (a tel: link then does its default). */
  takeCall(number: string): boolean {
    if (!this.session || !cleanNumber(number).ok) return false;
    this.openPanel(false);
    return this.session.dial(number);
  }

  /** `focus`: move the keyboard into the panel (a person opened it), not when a call pops it open. */
  openPanel(focus: boolean): void {
    if (!this.open) {
      this.open = true;
      this.requestUpdate();
    }
    if (focus) void this.updateComplete.then(() => this.focusPrimary());
  }

  closePanel(): void {
    if (!this.open) return;
    const hadFocus = this.focusInside;
    this.open = false;
    this.session?.cancelPendingDial();
    this.requestUpdate();
    if (hadFocus) void this.updateComplete.then(() => this.find('.fab')?.focus());
  }

  // ---- rendering --------------------------------------------------------------------------------------------

  protected override render(): TemplateResult {
    const session = this.session;
    const state: WidgetState = session?.state ?? 'disconnected';
    const t = this.t;
    const c = (action: Action) =>
      control(action, state, {
        hasNumber: (session?.number.trim() ?? '') !== '',
        answering: session?.answering ?? false,
        holding: session?.holding ?? false,
        transferring: session?.transferring ?? false,
        takesDigits: session?.callFeatures?.dtmf !== undefined && session.callFeatures.dtmf !== 'none',
        transferable: session?.callFeatures?.transfer ?? false,
      });
    const connection = this.connectionLine(state);
    const fabLabel = this.fabLabel(state);
    return html`<div
      class="root"
      data-state=${state}
      data-sound=${session?.sound ?? nothing}
      lang=${this.language}
      @keydown=${this.onKeydown}
      @focusin=${this.onFocusIn}
      @focusout=${this.onFocusOut}
    >
      <button
        class="fab"
        type="button"
        data-action="toggle"
        aria-expanded=${String(this.open)}
        aria-controls="switchboard-panel"
        aria-label=${fabLabel}
        title=${this.open ? t('fab.close') : t('fab.open')}
        style=${styleMap(place(this.positions.fab))}
        @pointerdown=${this.fabDrag.pointerdown}
        @click=${this.onFabClick}
      >
        <svg viewBox="0 0 24 24" aria-hidden="true">${PHONE_ICON}</svg><span class="dot"></span>
      </button>
      <section
        id="switchboard-panel"
        class="panel"
        role="dialog"
        aria-modal="false"
        aria-labelledby="switchboard-title"
        data-part="panel"
        ?hidden=${!this.open}
        style=${styleMap(place(this.positions.panel))}
      >
        <header class="head" title=${t('panel.drag')} @pointerdown=${this.panelDrag.pointerdown}>
          <h2 id="switchboard-title">${t('panel.title')}</h2>
          <button class="icon-button" type="button" data-action="close" aria-label=${t('panel.close')} @click=${() => this.closePanel()}>×</button>
        </header>
        ${this.renderStatus(state, connection)} ${this.renderContact(state)} ${this.renderTimer(state)}
        ${c('number').shown ? this.renderDialRow(c) : nothing} ${this.renderRinging(c)} ${this.renderInCall(c)}
        ${c('dialpad').shown ? this.renderDialpad(c('dialpad').enabled) : nothing} ${this.renderRecent(c('callback').enabled)}
      </section>
      ${this.renderAnnouncer(state, connection)} ${this.audio}
    </div>`;
  }

  /**
   * What a screen reader hears, from outside the panel so that it speaks while the panel is closed too: an
   * incoming call at once (assertive), everything else politely. The panel's own status is not live, or each
   * change would be said twice while it is open.
   */
  private renderAnnouncer(state: WidgetState, connection: ConnectionLine): TemplateResult {
    const s = this.session;
    const t = this.t;
    const busy = hasCall(state) || state === 'ended';
    this.news = nextConnectionNews(this.news, connection.kind, connection.plain, busy);
    const incoming = state === 'ringing-in' && s?.call ? t('call.incoming-from', { who: who(s.call) }) : '';
    let call = state === 'ringing-in' ? undefined : this.callStatus(state);
    if (state === 'ended' && s?.outcome) call = t('call.ended-with', { who: s.endedWho ?? '', cause: t(`cause.${s.outcome.cause}` as MessageKey) });
    const notice = s?.notice ? t(s.notice.key, s.notice.params) : undefined;
    // Idle or offline, news about the connection; during and after a call, the call.
    const main = state === 'ringing-in' ? undefined : busy ? call : this.news.say;
    const polite = [main, notice].filter((part) => part).join('. ');
    return html`<div class="visually-hidden" role="status" aria-live="polite" data-part="announce">${polite}</div>
      <div class="visually-hidden" role="alert" aria-live="assertive" data-part="announce-urgent">${incoming}</div>`;
  }

  /** The floating button's name says the state, so the dot's colour is not the only sign of it. */
  private fabLabel(state: WidgetState): string {
    const s = this.session;
    const t = this.t;
    const whoNow = s?.call ? who(s.call) : (s?.dialling ?? s?.number ?? '');
    const key: MessageKey = state === 'connecting' && s?.tokenProblem ? 'fab.state.disconnected' : `fab.state.${state}`;
    const cause = s?.outcome ? t(`cause.${s.outcome.cause}` as MessageKey) : '';
    return t('fab.label', { state: t(key, { who: whoNow, cause }) });
  }

  private renderStatus(state: WidgetState, { text: connection, problem }: ConnectionLine): TemplateResult {
    const s = this.session;
    const t = this.t;
    const callLine = this.callStatus(state);
    return html`<div class="status" data-part="status" data-cause=${s?.outcome?.cause ?? nothing}>
      <p class=${problem ? 'problem' : ''} data-part="connection">${connection}</p>
      ${callLine ? html`<p class="call-status">${callLine}</p>` : nothing}
      ${s?.notice ? html`<p class="problem" data-part="notice">${t(s.notice.key, s.notice.params)}</p>` : nothing}
    </div>`;
  }

  private connectionLine(state: WidgetState): ConnectionLine {
    const s = this.session;
    const t = this.t;
    if (s?.tokenProblem && s.connection !== 'connected') {
      const { failure, retryInMs } = s.tokenProblem;
      const plain = t(`token.${failure.kind}`, { status: 'status' in failure ? failure.status : '' });
      const text = t('token.retry', { problem: plain, seconds: Math.max(1, Math.round(retryInMs / 1000)) });
      return { text, plain, problem: true, kind: `token.${failure.kind}` };
    }
    if (state === 'disconnected' && s?.refusedReason) {
      const text = t('connection.refused', { reason: s.refusedReason });
      return { text, plain: text, problem: true, kind: 'refused' };
    }
    if (s?.connection === 'connected' && s.operator) {
      let text = t('connection.connected', { name: s.operator.name, extension: s.operator.extension });
      // An operator without a PBX line has nothing to register: saying "not registered" would read as a fault.
      if (s.line && s.line.state !== 'none') text += ` · ${t(`line.${s.line.state}`, { reason: s.line.reason ?? String(s.line.sipStatus ?? '') })}`;
      return { text, plain: text, problem: false, kind: s.line?.state === 'failed' ? 'line.failed' : undefined };
    }
    const connection = s?.connection ?? 'disconnected';
    const text = t(`connection.${connection}`);
    // Connecting and offline before the first connection are how every page load starts, not news.
    const kind = connection === 'reconnecting' ? 'reconnecting' : connection === 'disconnected' && s?.operator ? 'offline' : undefined;
    return { text, plain: text, problem: false, kind };
  }

  private callStatus(state: WidgetState): string | undefined {
    const s = this.session;
    const t = this.t;
    if (!s) return undefined;
    const call = s.call;
    switch (state) {
      case 'dialling':
        return t('call.dialling', { who: call ? who(call) : (s.dialling ?? s.number) });
      case 'ringing-in':
        return t('call.incoming');
      case 'in-call':
        return [
          t('call.in-call', { who: call ? who(call) : '' }),
          ...(call?.holdState.local ? [t('call.on-hold')] : []),
          ...(call?.holdState.remote ? [t('call.held-remote', { who: who(call) })] : []),
          ...(call?.muted ? [t('call.muted')] : []),
          ...(call && s.transferring ? [t('call.transferring', { who: who(call) })] : []),
        ].join(' · ');
      case 'ended':
        return s.outcome ? t(`cause.${s.outcome.cause}` as MessageKey) : undefined;
      default:
        return undefined;
    }
  }

  private renderContact(state: WidgetState): TemplateResult | typeof nothing {
    const s = this.session;
    const call = s?.call;
    if (!s || !hasCall(state)) return nothing;
    const number = call?.remote.number ?? s.dialling ?? s.number;
    const contact = call?.contact;
    const name = contact?.name ?? call?.remote.name;
    const fields = Object.entries(contact?.fields ?? {});
    return html`<div class="contact" data-part="contact">
      ${name ? html`<span class="name">${name}</span>` : html`<span class="name">${number}</span>`}
      ${contact?.company ? html`<span class="company">${contact.company}</span>` : nothing}
      ${name ? html`<span class="number">${number}</span>` : nothing}
      ${fields.length > 0 ? html`<dl>${fields.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>` : nothing}
      ${contact?.url && /^https?:\/\//i.test(contact.url)
        ? html`<a href=${contact.url} target="_blank" rel="noopener noreferrer" data-action="open-card">${this.t('action.open-card')}</a>`
        : nothing}
    </div>`;
  }

  private renderTimer(state: WidgetState): TemplateResult | typeof nothing {
    const answeredAt = this.session?.answeredAt;
    if (state !== 'in-call' || answeredAt === undefined) return nothing;
    return html`<div class="timer" data-part="timer" role="timer" aria-label=${this.t('call.timer')}>${formatDuration(Date.now() - answeredAt)}</div>`;
  }

  private renderDialRow(c: (a: Action) => { shown: boolean; enabled: boolean }): TemplateResult {
    const t = this.t;
    const number = c('number');
    const call = c('call');
    return html`<div class="dial-row">
      <input
        data-part="number"
        type="tel"
        inputmode="tel"
        autocomplete="off"
        spellcheck="false"
        aria-label=${t('number.label')}
        placeholder=${t('number.placeholder')}
        maxlength="80"
        .value=${live(this.session?.number ?? '')}
        ?disabled=${!number.enabled}
        @beforeinput=${this.onBeforeInput}
        @input=${this.onInput}
        @paste=${this.onPaste}
        @keydown=${this.onNumberKeydown}
      />
      ${call.shown
        ? html`<button class="action call" type="button" data-action="call" ?disabled=${!call.enabled} @click=${this.onCall}>${t('action.call')}</button>`
        : nothing}
    </div>`;
  }

  private renderRinging(c: (a: Action) => { shown: boolean; enabled: boolean }): TemplateResult | typeof nothing {
    const answer = c('answer');
    const reject = c('reject');
    if (!answer.shown && !reject.shown) return nothing;
    // While an answer settles, Answer only looks and reads disabled: a disabled button drops the keyboard focus.
    const answering = answer.shown && (this.session?.answering ?? false);
    return html`<div class="ring-row">
      <button
        class="action answer"
        type="button"
        data-action="answer"
        ?disabled=${!answer.enabled && !answering}
        aria-disabled=${answering ? 'true' : nothing}
        @click=${this.onAnswer}
      >
        ${this.t('action.answer')}
      </button>
      <button class="action reject" type="button" data-action="reject" ?disabled=${!reject.enabled} @click=${() => this.session?.reject()}>
        ${this.t('action.reject')}
      </button>
    </div>`;
  }

  private renderInCall(c: (a: Action) => ControlState): TemplateResult | typeof nothing {
    const session = this.session;
    return inCallView({
      t: this.t,
      control: c,
      muted: session?.call?.muted ?? false,
      held: session?.call?.holdState.local ?? false,
      extra: this.extra,
      toggleMute: () => session?.toggleMute(),
      toggleHold: () => void session?.toggleHold(),
      hangup: () => session?.hangup(),
      toggleExtra: (extra) => {
        this.extra = this.extra === extra ? undefined : extra;
        this.requestUpdate();
        // The number to transfer to is what the operator types next.
        if (this.extra === 'transfer') void this.updateComplete.then(() => this.find('[data-part="transfer"] input')?.focus());
      },
      sendDigit: (digit) => session?.sendDigit(digit),
      transfer: (target) => void session?.transfer(target),
    });
  }

  private renderDialpad(enabled: boolean): TemplateResult {
    return dialpadView(this.t('dialpad.label'), enabled, (digit) => this.press(digit), 'dialpad');
  }

  private renderRecent(enabled: boolean): TemplateResult {
    return recentCallsView(this.session?.recent ?? [], { t: this.t, language: this.language, enabled, callBack: (number) => this.takeCall(number) });
  }

  protected override updated(changed: PropertyValues): void {
    super.updated(changed);
    const state = this.session?.state;
    // Saved positions from a larger screen (the first update), a panel just opened, or one that grew with the
    // state (a contact card, the call controls) must still be inside the viewport.
    const fitFor = `${this.open}/${state}`;
    if (fitFor !== this.clampedFor) {
      this.clampedFor = fitFor;
      this.clampPositions();
    }
    if (state !== 'in-call') this.extra = undefined;
    if (state === 'in-call' && this.ticker === undefined) this.ticker = setInterval(() => this.requestUpdate(), 1000);
    if (state !== 'in-call' && this.ticker !== undefined) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
    // The focused control went away with the state (Answer once answered, Hang up once ended): keep the keyboard
    // in the panel, on the control that matters now.
    if (this.focusInside && this.open) {
      const active = this.shadowRoot?.activeElement as HTMLElement | null | undefined;
      if (!active || active.matches(':disabled')) this.focusPrimary();
    }
  }

  // ---- events -----------------------------------------------------------------------------------------------

  private readonly onFabClick = (): void => {
    if (this.fabDrag.wasDrag()) return;
    this.session?.userGesture();
    if (this.open) this.closePanel();
    else this.openPanel(true);
  };

  private readonly onKeydown = (event: KeyboardEvent): void => {
    if (event.key === 'Escape' && this.open) {
      event.stopPropagation();
      this.focusInside = true;
      this.closePanel();
    }
  };

  private readonly onFocusIn = (): void => {
    this.focusInside = true;
  };

  private readonly onFocusOut = (event: FocusEvent): void => {
    const to = event.relatedTarget;
    if (to instanceof Node && this.shadowRoot?.contains(to)) return;
    const from = event.target as HTMLElement;
    // A control removed or disabled by a re-render also loses focus; only a real move elsewhere counts.
    queueMicrotask(() => {
      if (from.isConnected && !from.matches(':disabled') && !from.closest('[hidden]')) this.focusInside = false;
    });
  };

  private readonly onBeforeInput = (event: InputEvent): void => {
    if (event.inputType === 'insertText' && event.data && !TYPABLE.test(event.data)) {
      event.preventDefault();
      const cleaned = cleanNumber(event.data);
      if (!cleaned.ok && cleaned.problem === 'character') this.sayNumberProblem(cleaned.character);
    }
  };

  private readonly onInput = (event: Event): void => {
    this.session?.setNumber((event.target as HTMLInputElement).value);
  };

  private readonly onPaste = (event: ClipboardEvent): void => {
    const text = event.clipboardData?.getData('text') ?? '';
    const input = event.target as HTMLInputElement;
    event.preventDefault();
    const cleaned = cleanNumber(text);
    if (!cleaned.ok) {
      if (cleaned.problem === 'character') this.sayNumberProblem(cleaned.character);
      return;
    }
    const start = input.selectionStart ?? input.value.length;
    const end = input.selectionEnd ?? input.value.length;
    const value = input.value.slice(0, start) + cleaned.number + input.value.slice(end);
    input.value = value;
    input.setSelectionRange(start + cleaned.number.length, start + cleaned.number.length);
    this.session?.setNumber(value);
  };

  private readonly onNumberKeydown = (event: KeyboardEvent): void => {
    if (event.key === 'Enter' && !event.isComposing) {
      event.preventDefault();
      this.onCall();
    }
  };

  /** Call and Enter: dial() places the call, or says why not (and while connecting, calls once connected). */
  private readonly onCall = (): void => {
    const session = this.session;
    if (!session) return;
    session.userGesture();
    session.dial(session.number);
  };

  private readonly onAnswer = (): void => {
    if (this.session?.answering) return;
    this.session?.userGesture();
    void this.session?.answer();
  };

  private sayNumberProblem(character: string): void {
    this.session?.say({ key: 'number.character', params: { character } });
  }

  private press(digit: string): void {
    const session = this.session;
    if (!session) return;
    session.userGesture();
    session.setNumber(session.number + digit);
  }

  // ---- focus and position -----------------------------------------------------------------------------------

  /** The control a keyboard user wants in this state. */
  private focusPrimary(): void {
    const state = this.session?.state;
    const candidates =
      state === 'ringing-in'
        ? ['[data-action="answer"]']
        : state === 'dialling' || state === 'in-call'
          ? ['[data-action="hangup"]']
          : ['[data-part="number"]:not(:disabled)', '[data-action="close"]'];
    for (const selector of candidates) {
      const element = this.find(selector);
      if (element) return element.focus();
    }
  }

  private find(selector: string): HTMLElement | null {
    return this.shadowRoot?.querySelector<HTMLElement>(selector) ?? null;
  }

  private move(which: keyof SavedPositions, position: Point): void {
    this.dragged = { ...this.dragged, [which]: position };
    this.positions = { ...this.positions, [which]: position };
    this.requestUpdate();
  }

  /** A hidden panel is clamped with its last known size, and again once it opens and has one. */
  private clampPositions(): void {
    const viewport = viewportSize();
    for (const [which, selector] of [['fab', '.fab'], ['panel', '.panel']] as const) {
      const box = this.find(selector)?.getBoundingClientRect();
      if (box && box.width > 0) this.sizes[which] = { width: box.width, height: box.height };
    }
    const fitted = fitPositions(this.dragged, this.sizes, viewport);
    const moved = (['fab', 'panel'] as const).some((which) => fitted[which]?.x !== this.positions[which]?.x || fitted[which]?.y !== this.positions[which]?.y);
    if (!moved) return;
    this.positions = fitted;
    this.requestUpdate();
  }
}

interface ConnectionLine {
  /** As the panel shows it, with the retry countdown. */
  text: string;
  /** As it is announced: the same without the countdown, which would make it news at every attempt. */
  plain: string;
  /** Shown as a problem. */
  problem: boolean;
  /** What is wrong, for announcing changes only; undefined when all is well (or just starting). */
  kind: string | undefined;
}

function place(position: Point | undefined): Record<string, string> {
  return position ? { left: `${position.x}px`, top: `${position.y}px`, right: 'auto', bottom: 'auto' } : {};
}
