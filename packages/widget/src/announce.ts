/**
 * What the polite live region says about the connection. A screen reader speaks the region whenever its text
 * changes, so the connection is said only when it turns into a problem, changes from one problem to another, or
 * recovers: never the routine "Online" of every page load or of the idle state after each call, and not again
 * while the same problem is retried.
 */

export interface ConnectionNews {
  /** What is wrong now (`token.server`, `refused`, ...), undefined when nothing is. */
  problem: string | undefined;
  /** The text to announce; '' once it has been said and something else took the region. */
  say: string;
}

export const QUIET: ConnectionNews = { problem: undefined, say: '' };

/**
 * The news after a render. `text` is how the current connection reads (without a changing countdown); `busy`: a
 * call holds the region, so news already in it is spent and must not come back when the call is over.
 */
export function nextConnectionNews(previous: ConnectionNews, problem: string | undefined, text: string, busy: boolean): ConnectionNews {
  if (problem !== previous.problem) return { problem, say: text };
  if (busy && previous.say !== '') return { problem, say: '' };
  return previous;
}
