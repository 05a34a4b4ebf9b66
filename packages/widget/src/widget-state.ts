/**
 * What the widget as a whole is doing, shown as `data-state` on its root. The SDK has its own connection and
 * call state machines; this one folds them into the few states a person sees, and decides which controls work.
 *
 *                 ┌──────────────────── lost (connection gone; calls end with connection-lost) ◄───────────┐
 *                 ▼                                                                                       │
 *   disconnected ──connecting──► connecting ──connected──► idle ──dial──► dialling ──answered──► in-call  │
 *        ▲                          ▲  │                    ▲  │              │                    │      │
 *        │                          │  │                    │  └──incoming──► ringing-in ─answered─┘      │
 *        └──────── stopped ─────────┴──┘ (refused)          │                 │                    │      │
 *                                                           │        ended ◄──┴─── ended ──────────┘      │
 *                                                           └─ reset ─┘  (dial / incoming also leave ended)
 *
 * `lost` and `stopped` are allowed from every state but disconnected; `connecting` also covers the SDK's
 * reconnecting.
 */

export type WidgetState = 'disconnected' | 'connecting' | 'idle' | 'dialling' | 'ringing-in' | 'in-call' | 'ended';

export type WidgetEvent =
  | 'connecting'
  | 'connected'
  /** The connection dropped; the SDK tries again. */
  | 'lost'
  /** The connection ended for good (refused, unmounted). */
  | 'stopped'
  | 'dial'
  | 'incoming'
  | 'answered'
  | 'ended'
  /** The ended call's outcome has been seen long enough. */
  | 'reset';

const CONNECTED: readonly WidgetState[] = ['idle', 'dialling', 'ringing-in', 'in-call', 'ended'];

const TABLE: Record<WidgetEvent, Partial<Record<WidgetState, WidgetState>>> = {
  connecting: { disconnected: 'connecting' },
  connected: { connecting: 'idle' },
  lost: Object.fromEntries([...CONNECTED, 'connecting'].map((s) => [s, 'connecting'])),
  stopped: Object.fromEntries([...CONNECTED, 'connecting'].map((s) => [s, 'disconnected'])),
  dial: { idle: 'dialling', ended: 'dialling' },
  incoming: { idle: 'ringing-in', ended: 'ringing-in' },
  answered: { dialling: 'in-call', 'ringing-in': 'in-call' },
  ended: { dialling: 'ended', 'ringing-in': 'ended', 'in-call': 'ended' },
  reset: { ended: 'idle' },
};

/** The next state, or undefined when the event means nothing in this state (the caller keeps its state). */
export function transition(state: WidgetState, event: WidgetEvent): WidgetState | undefined {
  return TABLE[event][state];
}

/** States in which a call of this tab is under way (ringing here, dialled from here, or answered here). */
export function hasCall(state: WidgetState): boolean {
  return state === 'dialling' || state === 'ringing-in' || state === 'in-call';
}
