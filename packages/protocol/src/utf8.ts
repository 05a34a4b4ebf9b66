/**
 * UTF-8 byte lengths without `TextEncoder`, which is not in every runtime's type library. This module imports
 * nothing, so the browser SDK takes it (`@switchboard/protocol/utf8`) without the schema library.
 */

/** UTF-8 length, counted only as far as needed. Lone surrogates count 3, as the encoder would replace them. */
export function utf8Length(text: string, stopAbove = Infinity): number {
  let bytes = 0;
  for (let i = 0; i < text.length && bytes <= stopAbove; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Whether `text` is more than `limit` bytes of UTF-8. Every UTF-16 unit is one to three bytes, so most texts are judged without counting. */
export function utf8Exceeds(text: string, limit: number): boolean {
  return text.length > limit || (text.length * 3 > limit && utf8Length(text, limit) > limit);
}
