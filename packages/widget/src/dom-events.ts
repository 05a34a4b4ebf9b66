/// <reference lib="dom" />
/**
 * The DOM events the host page gets for every call, dispatched on the `<switchboard-phone>` element. They bubble
 * and cross the shadow boundary, so `document.addEventListener('switchboard:incoming', ...)` works. Payloads are
 * plain copies: a listener cannot reach into the SDK's objects.
 */
import type { Call, Operator } from '@switchboard/client';

export interface CallDetail {
  callId: string;
  direction: 'inbound' | 'outbound';
  number: string;
  /** The caller's display name (incoming calls), when the gateway knows one. */
  name?: string;
  /** The CRM lookup's result for an incoming caller. */
  contact?: { id?: string; name?: string; company?: string; url?: string; fields?: Record<string, string> };
  state: Call['state'];
}

export interface EndedDetail extends CallDetail {
  cause: string;
  sipStatus?: number;
  /** From answer to end; 0 for a call never answered. */
  durationMs: number;
}

export interface SwitchboardEvents {
  'switchboard:ready': { operator: Operator };
  'switchboard:outgoing': CallDetail;
  'switchboard:incoming': CallDetail;
  'switchboard:answered': CallDetail;
  'switchboard:ended': EndedDetail;
}

export function callDetail(call: Call): CallDetail {
  const detail: CallDetail = { callId: call.id, direction: call.direction, number: call.remote.number, state: call.state };
  if (call.remote.name !== undefined) detail.name = call.remote.name;
  if (call.contact !== undefined) {
    const { fields, ...rest } = call.contact;
    detail.contact = { ...rest, ...(fields === undefined ? {} : { fields: { ...fields } }) };
  }
  return detail;
}

export function dispatch<K extends keyof SwitchboardEvents>(target: EventTarget, name: K, detail: SwitchboardEvents[K]): void {
  target.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
}
