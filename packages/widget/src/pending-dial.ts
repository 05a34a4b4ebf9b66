/**
 * A number asked for while the phone is connecting, dialled once it is connected. It must not outlive the
 * operator's intent: a call placed minutes later, or by an operator who signed in meanwhile as someone else, is a
 * call nobody asked for.
 */

/** How long a number waits for the connection. */
export const PENDING_DIAL_MS = 30_000;

export interface PendingDial {
  number: string;
  /** Epoch ms it was asked for. */
  at: number;
  /** The operator signed in when it was asked for, if the phone had been connected before (a reconnect). */
  operatorId: string | undefined;
}

export type PendingVerdict = 'dial' | 'expired' | 'other-operator';

/** Whether the pending number may be dialled `now`, by the operator `operatorId` that just connected. */
export function judgePendingDial(pending: PendingDial, now: number, operatorId: string | undefined): PendingVerdict {
  if (now - pending.at >= PENDING_DIAL_MS) return 'expired';
  if (pending.operatorId !== undefined && pending.operatorId !== operatorId) return 'other-operator';
  return 'dial';
}
