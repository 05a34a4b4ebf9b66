/**
 * Which controls exist and which of them work, per state: one table, so that no button can be pressed when its
 * action cannot happen (no hang-up before a call exists, no call while in one or while offline). Transfer and
 * DTMF join this table when the widget offers them; until then they have no button at all.
 */
import type { WidgetState } from './widget-state.js';

export type Action = 'call' | 'hangup' | 'answer' | 'reject' | 'mute' | 'hold' | 'dialpad' | 'number' | 'callback';

export interface ControlContext {
  /** The number field holds something. */
  hasNumber: boolean;
  /** Answer was pressed and has not settled (the microphone prompt may be open): a second press would fail. */
  answering?: boolean;
  /** Hold or resume was pressed and the far end has not answered yet. */
  holding?: boolean;
}

export interface ControlState {
  /** Rendered at all: Call and Hang up share one place, Answer and Reject replace them while it rings. */
  shown: boolean;
  enabled: boolean;
}

const SHOWN: Record<Action, readonly WidgetState[]> = {
  call: ['disconnected', 'connecting', 'idle', 'ended'],
  hangup: ['dialling', 'in-call'],
  answer: ['ringing-in'],
  reject: ['ringing-in'],
  mute: ['in-call'],
  hold: ['in-call'],
  dialpad: ['disconnected', 'connecting', 'idle', 'ended'],
  number: ['disconnected', 'connecting', 'idle', 'ended'],
  callback: ['disconnected', 'connecting', 'idle', 'ended', 'dialling', 'ringing-in', 'in-call'],
};

const ENABLED: Record<Action, readonly WidgetState[]> = {
  // While connecting, Call does what Enter does: the number waits for the connection and is called then.
  call: ['connecting', 'idle', 'ended'],
  hangup: ['dialling', 'in-call'],
  answer: ['ringing-in'],
  reject: ['ringing-in'],
  mute: ['in-call'],
  hold: ['in-call'],
  dialpad: ['disconnected', 'connecting', 'idle', 'ended'],
  // Typing a number while connecting is fine: Enter (or click-to-call) remembers it and calls once connected.
  number: ['disconnected', 'connecting', 'idle', 'ended'],
  callback: ['idle', 'ended'],
};

export function control(action: Action, state: WidgetState, context: ControlContext): ControlState {
  const shown = SHOWN[action].includes(state);
  let enabled = shown && ENABLED[action].includes(state);
  if (action === 'call') enabled &&= context.hasNumber;
  if (action === 'answer') enabled &&= !context.answering;
  if (action === 'hold') enabled &&= !context.holding;
  return { shown, enabled };
}

export const ACTIONS: readonly Action[] = Object.keys(SHOWN) as Action[];
