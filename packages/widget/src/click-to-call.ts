/// <reference lib="dom" />
/**
 * Click-to-call: `tel:` links and elements with `data-switchboard-call="NUMBER"` anywhere on the host page dial
 * through the widget, including elements added after it loaded. One delegated listener on the document, in the
 * bubble phase: the page's own handlers on the element and its ancestors run first, so a page that handles a
 * `tel:` link's click itself (`preventDefault()`) keeps it; an ancestor that stops propagation hides the click
 * from the widget altogether. Clicks with a modifier key (open in a new tab, ...) and other
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

export type Click = Pick<MouseEvent, 'defaultPrevented' | 'button' | 'metaKey' | 'ctrlKey' | 'shiftKey' | 'altKey'>;

/**
 * The number a click on `element` should dial, or undefined when the click is the page's or the browser's. A
 * prevented default means "the page handled this link" only for a bare `tel:` link: an element with
 * `data-switchboard-call` was put there for the widget, whatever else the page's handlers did with the click.
 */
export function numberForClick(click: Click, element: Pick<Element, 'getAttribute' | 'closest' | 'hasAttribute'>): string | undefined {
  if (click.button !== 0 || click.metaKey || click.ctrlKey || click.shiftKey || click.altKey) return undefined;
  if (click.defaultPrevented && !element.hasAttribute(CALL_ATTRIBUTE)) return undefined;
  return numberOf(element);
}

/** `take` returns whether the widget took the call. Returns a function that removes the listener. */
export function installClickToCall(document: Document, take: (number: string) => boolean, ignore: (element: Element) => boolean): () => void {
  const listener = (event: MouseEvent): void => {
    const target = event.target;
    if (!(target instanceof Element)) return;
    const element = target.closest(SELECTOR);
    if (!element || ignore(element)) return;
    const number = numberForClick(event, element);
    if (number !== undefined && take(number)) event.preventDefault();
  };
  document.addEventListener('click', listener);
  return () => document.removeEventListener('click', listener);
}
