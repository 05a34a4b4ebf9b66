/// <reference lib="dom" />
/**
 * The controls of a call being dialled or under way: mute, hold, the keypad (digits to the far end as DTMF), transfer
 * (a form for the number to hand the call to) and hang up; and the dial pad, which the idle panel shares.
 */
import { html, nothing, type TemplateResult } from 'lit';
import type { Action, ControlState } from './controls.js';
import type { MessageKey, Translate } from './i18n/index.js';

/** What opens under the call's controls: the keypad or the transfer form. */
export type InCallExtra = 'keypad' | 'transfer' | undefined;

const KEYS: readonly [string, string][] = [
  ['1', ''], ['2', 'ABC'], ['3', 'DEF'], ['4', 'GHI'], ['5', 'JKL'], ['6', 'MNO'],
  ['7', 'PQRS'], ['8', 'TUV'], ['9', 'WXYZ'], ['*', ''], ['0', '+'], ['#', ''],
];

export interface InCallViewOptions {
  t: Translate;
  control(action: Action): ControlState;
  muted: boolean;
  held: boolean;
  extra: InCallExtra;
  toggleMute(): void;
  toggleHold(): void;
  hangup(): void;
  /** Opens or closes the keypad or the transfer form. */
  toggleExtra(extra: Exclude<InCallExtra, undefined>): void;
  sendDigit(digit: string): void;
  transfer(target: string): void;
}

export function inCallView(o: InCallViewOptions): TemplateResult | typeof nothing {
  const hangup = o.control('hangup');
  const mute = o.control('mute');
  if (!hangup.shown && !mute.shown) return nothing;
  const keypad = o.control('keypad');
  const transfer = o.control('transfer');
  return html`<div class="call-row">
      ${toggleButton(o.t, 'mute', mute, o.muted, o.toggleMute, o.muted ? 'action.unmute' : 'action.mute')}
      ${toggleButton(o.t, 'hold', o.control('hold'), o.held, o.toggleHold, o.held ? 'action.resume' : 'action.hold')}
      ${opener(o.t, 'keypad', keypad, o.extra === 'keypad', () => o.toggleExtra('keypad'), 'action.keypad')}
      ${opener(o.t, 'transfer', transfer, o.extra === 'transfer', () => o.toggleExtra('transfer'), 'action.transfer')}
      ${hangup.shown
        ? html`<button class="action hangup" type="button" data-action="hangup" ?disabled=${!hangup.enabled} @click=${o.hangup}>${o.t('action.hangup')}</button>`
        : nothing}
    </div>
    ${o.extra === 'keypad' && keypad.shown ? dialpadView(o.t('keypad.label'), keypad.enabled, o.sendDigit, 'keypad') : nothing}
    ${o.extra === 'transfer' && transfer.shown ? transferForm(o, transfer.enabled) : nothing}`;
}

/** A control that opens a part below the call's controls (the keypad, the transfer form). */
function opener(t: Translate, part: 'keypad' | 'transfer', control: ControlState, open: boolean, onClick: () => void, label: MessageKey): TemplateResult | typeof nothing {
  if (!control.shown) return nothing;
  return html`<button class="action secondary" type="button" data-action=${part} aria-expanded=${String(open)} aria-controls=${`switchboard-${part}`} ?disabled=${!control.enabled} @click=${onClick}>
    ${t(label)}
  </button>`;
}

/** A control that stays pressed while what it does is in force (mute, hold). */
function toggleButton(t: Translate, action: Action, control: ControlState, pressed: boolean, onClick: () => void, label: MessageKey): TemplateResult | typeof nothing {
  if (!control.shown) return nothing;
  return html`<button class="action secondary" type="button" data-action=${action} aria-pressed=${String(pressed)} ?disabled=${!control.enabled} @click=${onClick}>
    ${t(label)}
  </button>`;
}

/** Twelve keys; `part` names the region for tests (`dialpad` for numbers to call, `keypad` for digits in a call). */
export function dialpadView(label: string, enabled: boolean, press: (digit: string) => void, part: 'dialpad' | 'keypad'): TemplateResult {
  return html`<div class="dialpad" role="group" aria-label=${label} data-part=${part} id=${`switchboard-${part}`}>
    ${KEYS.map(
      ([digit, letters]) => html`<button type="button" data-action=${`dial-${digit}`} aria-label=${digit} ?disabled=${!enabled} @click=${() => press(digit)}>
        <span class="digit" aria-hidden="true">${digit}</span><span class="letters" aria-hidden="true">${letters}</span>
      </button>`,
    )}
  </div>`;
}

function transferForm(o: InCallViewOptions, enabled: boolean): TemplateResult {
  const submit = (event: Event): void => {
    event.preventDefault();
    const input = (event.currentTarget as HTMLFormElement).querySelector('input');
    if (input && input.value.trim() !== '') o.transfer(input.value);
  };
  return html`<form class="dial-row" data-part="transfer" id="switchboard-transfer" @submit=${submit}>
    <input
      type="tel"
      inputmode="tel"
      autocomplete="off"
      spellcheck="false"
      maxlength="80"
      aria-label=${o.t('transfer.label')}
      placeholder=${o.t('transfer.placeholder')}
      ?disabled=${!enabled}
    />
    <button class="action call" type="submit" data-action="transfer-go" ?disabled=${!enabled}>${o.t('action.transfer-go')}</button>
  </form>`;
}
