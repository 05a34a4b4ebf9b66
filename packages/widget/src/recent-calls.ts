/**
 * The operator's recent calls, kept in localStorage per operator (several operators may share a browser), newest
 * first, at most 20, one entry per call id. Every tab of the operator writes here, so a call is recorded by the tab
 * that carried it; a tab that only saw another tab answer leaves it to that one.
 */

export const MAX_RECENT = 20;

export interface RecentCall {
  callId: string;
  direction: 'inbound' | 'outbound';
  number: string;
  /** The CRM contact's name, else the caller's display name. */
  name?: string;
  /** The protocol's end cause (`normal`, `busy`, ...) or `connection-lost`. */
  cause: string;
  answered: boolean;
  /** Epoch ms the call started here. */
  at: number;
  durationMs?: number;
}

/** The part of Storage used here; tests pass a Map-backed one. */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export function storageKey(operatorId: string): string {
  return `switchboard.recent.${operatorId}`;
}

/** Whether this tab should record a call that ended with `cause`: not when another tab of the operator took it. */
export function recordsCall(cause: string): boolean {
  return cause !== 'answered-elsewhere';
}

function isRecentCall(value: unknown): value is RecentCall {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.callId === 'string' &&
    (v.direction === 'inbound' || v.direction === 'outbound') &&
    typeof v.number === 'string' &&
    (v.name === undefined || typeof v.name === 'string') &&
    typeof v.cause === 'string' &&
    typeof v.answered === 'boolean' &&
    typeof v.at === 'number' &&
    (v.durationMs === undefined || typeof v.durationMs === 'number')
  );
}

/** One entry per call id (those of `added` win), newest first, at most MAX_RECENT. */
export function mergeRecent(stored: readonly RecentCall[], added: readonly RecentCall[]): RecentCall[] {
  const byId = new Map<string, RecentCall>();
  for (const entry of stored) if (!byId.has(entry.callId)) byId.set(entry.callId, entry);
  for (const entry of added) byId.set(entry.callId, entry);
  return [...byId.values()].sort((a, b) => b.at - a.at).slice(0, MAX_RECENT);
}

export class RecentCalls {
  constructor(
    private readonly storage: StorageLike | undefined,
    private readonly operatorId: string,
  ) {}

  get key(): string {
    return storageKey(this.operatorId);
  }

  /** Newest first. Whatever is unreadable (another version, a hand edit, storage disabled) is skipped. */
  list(): RecentCall[] {
    let text: string | null = null;
    try {
      text = this.storage?.getItem(this.key) ?? null;
    } catch {
      return [];
    }
    if (text === null) return [];
    try {
      const parsed: unknown = JSON.parse(text);
      return Array.isArray(parsed) ? parsed.filter(isRecentCall).slice(0, MAX_RECENT) : [];
    } catch {
      return [];
    }
  }

  /**
   * Records a call (replacing an older entry with its id) and returns the new list. Other tabs of the operator
   * write the same key, so what is stored is read again right here, never taken from a list read earlier, and
   * merged by call id. That narrows the window but is no lock: localStorage gives no atomic read-modify-write
   * across tabs, so two tabs recording at the same moment can still lose one of the two entries.
   */
  add(call: RecentCall): RecentCall[] {
    const list = mergeRecent(this.list(), [call]);
    try {
      this.storage?.setItem(this.key, JSON.stringify(list));
    } catch {
      // Quota or privacy settings: the list still shows for this page.
    }
    return list;
  }
}
