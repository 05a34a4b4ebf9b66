/**
 * Phone numbers as a CRM stores them ("+7 (495) 123-45-67", "8 912 345 67 89", "+44 20 7946 0958") and as the
 * gateway asks about them (whatever the SIP From carried: "+74951234567", "84951234567", "101") only match once
 * both are reduced to digits. The reduction lives in one place so the lookup and the seed data cannot disagree.
 */

/** What the lookup accepts before clean-up; longer input is not a phone number and is refused outright. */
export const MAX_NUMBER_INPUT = 64;

/** Separators people type and CRMs store; none of them changes which line rings. */
const SEPARATORS = /[ \t\u00a0\-().\/]/g;

/**
 * The digits that identify a line, or undefined for input that is not a phone number. A leading `+` is dropped,
 * as are the `00` international prefix and the Russian trunk prefix `8` in front of ten digits (domestic
 * "8 495 ..." is international "+7 495 ..."), so every way of writing one number gives one key.
 */
export function numberKey(input: string): string | undefined {
  if (input.length === 0 || input.length > MAX_NUMBER_INPUT) return undefined;
  const cleaned = input.replace(SEPARATORS, '');
  if (!/^\+?[0-9]{1,32}$/.test(cleaned)) return undefined;
  let digits = cleaned.startsWith('+') ? cleaned.slice(1) : cleaned;
  if (digits.startsWith('00') && digits.length > 4) digits = digits.slice(2);
  if (digits.length === 11 && digits.startsWith('8')) digits = `7${digits.slice(1)}`;
  return digits;
}

/**
 * Whether two keys are the same line. Beyond equality, a ten-digit number (a national number written without its
 * country code, as "495 123-45-67") matches a longer one ending in those ten digits. Two numbers that both carry a
 * country code must agree in full, and short numbers (extensions, service numbers) only ever match exactly: "101"
 * must not find every number ending in 101.
 */
export function sameLine(a: string, b: string): boolean {
  if (a === b) return true;
  const [shorter, longer] = a.length <= b.length ? [a, b] : [b, a];
  return shorter.length === 10 && longer.length > 10 && longer.endsWith(shorter);
}

/**
 * What to dial for a stored number: the number without its formatting, as written otherwise (a domestic "8 912 ..."
 * stays domestic: that is what the PBX behind the gateway expects to route). Usable in `tel:` links (RFC 3966
 * global numbers start with `+`, local ones are digits) and accepted as a call target by the gateway.
 */
export function dialString(number: string): string {
  return number.replace(SEPARATORS, '');
}
