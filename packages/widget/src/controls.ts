/**
 * Which controls exist and which of them work, per state: one table, so that no button can be pressed when its
 * action cannot happen (no hang-up before a call exists, no call while in one or while offline).
 */
import type { WidgetState } from './widget-state.js';

export type Action = 'call' | 'hangup' | 'answer' | 'reject' | 'mute' | 'hold' | 'keypad' | 'transfer' | 'dialpad' | 'number' | 'callback';

export interface ControlContext {
  /** The number field holds something. */
  hasNumber: boolean;
  /** Answer was pressed and has not settled (the microphone prompt may be open): a second press would fail. */
  answering?: boolean;
  /** Hold or resume was pressed and the far end has not answered yet. */
  holding?: boolean;
  /** A transfer was asked for and the far end has not answered yet. */
  transferring?: boolean;
  /** The call shown takes DTMF (its `features.dtmf` is not `none`): without it there is no Keypad. */
  takesDigits?: boolean;
  /** The call shown can be transferred: without it there is no Transfer. */
  transferable?: boolean;
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
  keypad: ['in-call'],
  transfer: ['in-call'],
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
  keypad: ['in-call'],
  transfer: ['in-call'],
  dialpad: ['disconnected', 'connecting', 'idle', 'ended'],
  // Typing a number while connecting is fine: Enter (or click-to-call) remembers it and calls once connected.
  number: ['disconnected', 'connecting', 'idle', 'ended'],
  callback: ['idle', 'ended'],
};

export function control(action: Action, state: WidgetState, context: ControlContext): ControlState {
  let shown = SHOWN[action].includes(state);
  // Buttons for what the call cannot do are not there at all, rather than there to fail.
  if (action === 'keypad') shown &&= context.takesDigits === true;
  if (action === 'transfer') shown &&= context.transferable === true;
  let enabled = shown && ENABLED[action].includes(state);
  if (action === 'call') enabled &&= context.hasNumber;
  if (action === 'answer') enabled &&= !context.answering;
  if (action === 'hold') enabled &&= !context.holding;
  if (action === 'transfer') enabled &&= !context.transferring;
  return { shown, enabled };
}

export const ACTIONS: readonly Action[] = Object.keys(SHOWN) as Action[];
