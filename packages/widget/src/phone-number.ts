/**
 * What a person types, pastes or clicks becomes a dialable target here. Visual separators (RFC 3966's `-`, `.`,
 * `(`, `)`, and spaces of any kind) and a `tel:` prefix go; a leading `+` stays. Anything else is refused rather
 * than dropped, because silently dropping a letter from "0800-FLOWERS" would dial someone else.
 */

/** The protocol's `MAX_TARGET_LENGTH`. */
export const MAX_NUMBER_LENGTH = 64;

export type CleanNumber =
  | { ok: true; number: string }
  | { ok: false; problem: 'empty' }
  | { ok: false; problem: 'too-long' }
  /** `character` is the first one that cannot be dialled, for the message. */
  | { ok: false; problem: 'character'; character: string };

const SEPARATORS = /[\s\u00a0\u2000-\u200b\u2010-\u2015\u2212\u3000.\-()[\]/]/gu;
const DIALABLE = /^\+?[0-9*#]+$/;

export function cleanNumber(input: string): CleanNumber {
  let text = input.trim();
  if (/^tel:/i.test(text)) text = text.slice(4);
  // A tel: URI may carry parameters (`;ext=12`, `;phone-context=...`); only the number is dialled.
  const parameters = text.indexOf(';');
  if (parameters >= 0) text = text.slice(0, parameters);
  text = text.replace(SEPARATORS, '');
  if (text === '') return { ok: false, problem: 'empty' };
  if (!DIALABLE.test(text)) {
    const character = Array.from(text).find((c, i) => !(/[0-9*#]/.test(c) || (c === '+' && i === 0))) ?? text;
    return { ok: false, problem: 'character', character };
  }
  if (text.length > MAX_NUMBER_LENGTH) return { ok: false, problem: 'too-long' };
  return { ok: true, number: text };
}

/** The number in a `tel:` link's href, percent-decoded (`tel:+1%20201...`); undefined when it is not a tel: URI. */
export function numberFromTelHref(href: string): string | undefined {
  if (!/^tel:/i.test(href)) return undefined;
  try {
    return decodeURIComponent(href.slice(4));
  } catch {
    return href.slice(4);
  }
}
