/// <reference lib="dom" />
/**
 * Click-to-call: `tel:` links and elements with `data-switchboard-call="NUMBER"` anywhere on the host page dial
 * through the widget, including elements added after it loaded. One delegated capture-phase listener on the
 * document sees every click before the page's own handlers. Clicks with a modifier key (open in a new tab, ...)
 * and other buttons are left to the browser, and the link's default action is prevented only when the widget
 * takes the call.
 */
import { numberFromTelHref } from './phone-number.js';

export const CALL_ATTRIBUTE = 'data-switchboard-call';
const SELECTOR = `[${CALL_ATTRIBUTE}], a[href^="tel:" i]`;

/** `take` returns whether the widget took the call. Returns a function that removes the listener. */
export function installClickToCall(document: Document, take: (number: string) => boolean, ignore: (element: Element) => boolean): () => void {
  const listener = (event: MouseEvent): void => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const target = event.target;
    if (!(target instanceof Element)) return;
    const element = target.closest(SELECTOR);
    if (!element || ignore(element)) return;
    const number = element.getAttribute(CALL_ATTRIBUTE) ?? numberFromTelHref(element.getAttribute('href') ?? '');
    if (number !== undefined && take(number)) event.preventDefault();
  };
  document.addEventListener('click', listener, true);
  return () => document.removeEventListener('click', listener, true);
}
