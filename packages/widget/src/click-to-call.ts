/// <reference lib="dom" />
/**
 * Click-to-call: `tel:` links and elements with `data-switchboard-call="NUMBER"` anywhere on the host page dial
 * through the widget, including elements added after it loaded. One delegated listener on the document, in the
 * bubble phase: the page's own handlers on the element and its ancestors run first, so a page that handles a
 * click itself (`preventDefault()`) keeps it. Clicks with a modifier key (open in a new tab, ...) and other
 * buttons are left to the browser, and the link's default action is prevented only when the widget takes the
 * call. A page opts elements out with `data-switchboard-call="off"` (on the element or an ancestor) or
 * `data-switchboard-ignore` on an ancestor.
 */
import { numberFromTelHref } from './phone-number.js';

export const CALL_ATTRIBUTE = 'data-switchboard-call';
export const IGNORE_ATTRIBUTE = 'data-switchboard-ignore';
const SELECTOR = `[${CALL_ATTRIBUTE}], a[href^="tel:" i]`;

/** The number a click on `element` (the innermost click-to-call element) should dial, or undefined when none. */
export function numberOf(element: Pick<Element, 'getAttribute' | 'closest'>): string | undefined {
  if (element.closest(`[${IGNORE_ATTRIBUTE}]`)) return undefined;
  const number = element.getAttribute(CALL_ATTRIBUTE);
  if (number !== null) return number.trim().toLowerCase() === 'off' ? undefined : number;
  // A tel: link inside an element that opted out.
  if (element.closest(`[${CALL_ATTRIBUTE}="off" i]`)) return undefined;
  return numberFromTelHref(element.getAttribute('href') ?? '');
}

/** `take` returns whether the widget took the call. Returns a function that removes the listener. */
export function installClickToCall(document: Document, take: (number: string) => boolean, ignore: (element: Element) => boolean): () => void {
  const listener = (event: MouseEvent): void => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const target = event.target;
    if (!(target instanceof Element)) return;
    const element = target.closest(SELECTOR);
    if (!element || ignore(element)) return;
    const number = numberOf(element);
    if (number !== undefined && take(number)) event.preventDefault();
  };
  document.addEventListener('click', listener);
  return () => document.removeEventListener('click', listener);
}
