/**
 * The response to a request that did not parse (RFC 3261 §8.2, RFC 4475 §3.1.2: "400 Bad Request", 505, ...).
 * There is no SipRequest to call `createResponse` on, so the headers a response must echo (Via, From, To,
 * Call-ID, CSeq) are lifted from the raw bytes line by line and copied as they came (the peer matches the
 * response against its own bytes). One that is itself malformed is left out rather than copied: a response our
 * own parser would reject is no more use to the peer than no response.
 * Platform-free.
 */
import type { SipError } from '../errors.js';
import { SipParseError } from '../errors.js';
import { headerKey } from '../message/header-names.js';
import { hasControlCharacter } from '../message/header-values.js';
import { findHeaderEnd } from '../message/parse-message.js';
import { makeFields } from '../message/sip-message.js';
import { reasonFor } from '../message/status-reasons.js';

export interface ErrorResponseOptions {
  /** Added to a To without a tag (RFC 3261 §8.2.6.2); without it the To is copied unchanged. */
  toTag?: string;
}

// More head than this is not worth searching for a Via: the framer and the parser cap heads far lower.
const MAX_SCAN = 65536;
const ECHOED = new Set(['via', 'from', 'to', 'call-id', 'cseq']);

/**
 * The bytes of the best-effort error response to `raw`, or null when none should or can be sent: `raw` is a
 * response or an ACK (neither is ever answered), or it has no Via to route the answer by.
 */
export function buildErrorResponse(raw: Uint8Array, error: SipError, options: ErrorResponseOptions = {}): Uint8Array | null {
  let headEnd = findHeaderEnd(raw, 0);
  if (headEnd === -1) headEnd = raw.length;
  const text = latin1(raw.subarray(0, Math.min(headEnd, MAX_SCAN)));
  let pos = text.indexOf('\r\n');
  const startLine = pos === -1 ? text : text.slice(0, pos);
  if (/^\s*SIP\//i.test(startLine)) return null;
  if (/^\s*ACK\s/.test(startLine)) return null;

  const vias: string[] = [];
  const single = new Map<string, string>();
  const n = text.length;
  pos = pos === -1 ? n : pos + 2;
  while (pos < n) {
    let end = text.indexOf('\r\n', pos);
    if (end === -1) end = n;
    let line = text.slice(pos, end);
    while (end < n) {
      const next = text.charCodeAt(end + 2);
      if (next !== 32 && next !== 9) break;
      let contEnd = text.indexOf('\r\n', end + 2);
      if (contEnd === -1) contEnd = n;
      line += ' ' + text.slice(end + 2, contEnd).trim();
      end = contEnd;
    }
    pos = end + 2;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = headerKey(line.slice(0, colon).trim());
    if (!ECHOED.has(key)) continue;
    let value = line.slice(colon + 1).trim();
    // A control character copied into our response would make it as unparseable as the request.
    if (value.length === 0 || hasControlCharacter(value) || hasControlCharacter(line.slice(0, colon))) continue;
    if (!parses(key, value)) {
      if (key !== 'via') continue;
      value = salvageVia(value);
      if (value.length === 0 || !parses(key, value)) continue;
    }
    if (key === 'via') vias.push(value);
    else if (!single.has(key)) single.set(key, value);
  }
  if (vias.length === 0) return null;
  const cseq = single.get('cseq');
  if (cseq !== undefined && /\sACK$/i.test(cseq)) return null;

  const status = statusOf(error);
  const reason = (error instanceof SipParseError ? error.reason : reasonFor(status)).replace(/[\x00-\x1f\x7f]/g, ' ');
  let out = `SIP/2.0 ${status} ${reason}\r\n`;
  for (const via of vias) out += `Via: ${via}\r\n`;
  const from = single.get('from');
  if (from !== undefined) out += `From: ${from}\r\n`;
  let to = single.get('to');
  if (to !== undefined) {
    if (options.toTag !== undefined && !/;\s*tag\s*=/i.test(to)) to += `;tag=${options.toTag}`;
    out += `To: ${to}\r\n`;
  }
  const callId = single.get('call-id');
  if (callId !== undefined) out += `Call-ID: ${callId}\r\n`;
  if (cseq !== undefined) out += `CSeq: ${cseq}\r\n`;
  out += 'Content-Length: 0\r\n\r\n';
  return fromLatin1(out);
}

/** A Via with empty list elements and empty parameters left out (RFC 4475 §3.1.2.1: `;;,;,,`), or ''. */
function salvageVia(value: string): string {
  return value
    .split(',')
    .map((element) => element.split(';').map((part) => part.trim()).filter((part) => part.length > 0).join(';'))
    .filter((element) => element.length > 0 && parses('via', element))
    .join(', ');
}

function parses(key: string, value: string): boolean {
  try {
    makeFields(key, value);
    return true;
  } catch {
    return false;
  }
}

function statusOf(error: SipError): number {
  const status = error.status;
  return status !== undefined && Number.isInteger(status) && status >= 400 && status <= 699 ? status : 400;
}

// Bytes to one char each and back, so copied header values keep their exact bytes whatever their encoding.
function latin1(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 8192) out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return out;
}

function fromLatin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}
