/**
 * Calls that ended a moment ago, remembered by id and cause only, so that a request arriving late ("hang up" from a
 * tab that had not heard yet) gets "the call has ended (cancelled)" rather than "no such call", without keeping
 * the call itself alive: at hundreds of calls a second, whole calls kept for a minute would be a heap of their own.
 * Bounded in age and in count.
 */
import type { CallEndCause } from '@switchboard/protocol';
import type { Clock } from '@switchboard/sip';

export const ENDED_CALL_MEMORY_MS = 60_000;
export const MAX_ENDED_CALLS = 20_000;

interface Tombstone {
  readonly cause: CallEndCause;
  /** Operators who were party to the call: only they learn that it existed. */
  readonly parties: readonly string[];
  readonly at: number;
}

export class EndedCalls {
  private readonly entries = new Map<string, Tombstone>();

  constructor(
    private readonly clock: Clock,
    private readonly maxAgeMs = ENDED_CALL_MEMORY_MS,
    private readonly maxEntries = MAX_ENDED_CALLS,
  ) {}

  add(callId: string, cause: CallEndCause, parties: readonly string[]): void {
    this.entries.delete(callId);
    this.entries.set(callId, { cause, parties, at: this.clock.now() });
    // Insertion order is age order: the oldest go first.
    for (const [id, entry] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.clock.now() - entry.at <= this.maxAgeMs) break;
      this.entries.delete(id);
    }
  }

  /** How the call ended, if it ended recently and the operator was a party to it. */
  causeFor(callId: string, operatorId: string): CallEndCause | undefined {
    const entry = this.entries.get(callId);
    if (entry === undefined) return undefined;
    if (this.clock.now() - entry.at > this.maxAgeMs) {
      this.entries.delete(callId);
      return undefined;
    }
    return entry.parties.includes(operatorId) ? entry.cause : undefined;
  }

  get size(): number {
    return this.entries.size;
  }
}
