/**
 * The screen pop: before an operator's tabs ring, the gateway asks the CRM who is calling. One HTTP GET per caller
 * number, answered from a bounded cache when asked again soon; a CRM that is slow, down or answers nonsense costs
 * at most `timeoutMs` of ringing and never a call. Whatever the CRM answers is checked field by field against the
 * protocol's contact schema, so one bad field (a `javascript:` link, an overlong name) is dropped, not the rest.
 */
import { Value } from '@sinclair/typebox/value';
import { ContactSchema, MAX_CONTACT_FIELDS, type Contact } from '@switchboard/protocol';
import type { Logger } from 'pino';
import type { LookupConfig } from '../config/types.js';

/** Where the CRM's answer goes in the URL template. */
export const NUMBER_PLACEHOLDER = '{number}';
/** A contact is a few hundred bytes; anything this large is not one. */
export const MAX_LOOKUP_RESPONSE_BYTES = 16 * 1024;
/** Numbers worth asking about: what a SIP user part or an extension holds, not arbitrary text. */
const LOOKUP_NUMBER = /^[+0-9A-Za-z*#._-]{1,64}$/;
const CONTACT_KEYS = ['id', 'name', 'company', 'url', 'fields'] as const;

export interface ContactLookup {
  /** The CRM's contact for a number, or undefined when it has none or could not be asked in time. */
  find(number: string): Promise<Contact | undefined>;
}

export interface HttpContactLookupOptions {
  logger: Logger;
  fetch?: typeof globalThis.fetch;
  now?: () => number;
}

interface CacheEntry {
  contact: Contact | undefined;
  until: number;
}

export class HttpContactLookup implements ContactLookup {
  /** Insertion order is recency order: a hit is moved to the end, the oldest entry is evicted first. */
  private readonly cache = new Map<string, CacheEntry>();
  private readonly pending = new Map<string, Promise<Contact | undefined>>();
  private readonly log: Logger;
  private readonly fetch: typeof globalThis.fetch;
  private readonly now: () => number;

  constructor(
    private readonly config: LookupConfig,
    options: HttpContactLookupOptions,
  ) {
    this.log = options.logger.child({ component: 'lookup' });
    this.fetch = options.fetch ?? globalThis.fetch;
    this.now = options.now ?? Date.now;
  }

  find(number: string): Promise<Contact | undefined> {
    if (!LOOKUP_NUMBER.test(number) || number === 'anonymous') return Promise.resolve(undefined);
    const cached = this.cache.get(number);
    if (cached !== undefined) {
      this.cache.delete(number);
      if (cached.until > this.now()) {
        this.cache.set(number, cached);
        return Promise.resolve(cached.contact);
      }
    }
    // Two tabs, or a burst of calls from one number, ask the CRM once.
    let request = this.pending.get(number);
    if (request === undefined) {
      request = this.ask(number).finally(() => this.pending.delete(number));
      this.pending.set(number, request);
    }
    return request;
  }

  private async ask(number: string): Promise<Contact | undefined> {
    const url = this.config.url.split(NUMBER_PLACEHOLDER).join(encodeURIComponent(number));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.config.token !== undefined) headers['authorization'] = `Bearer ${this.config.token.reveal()}`;
    const started = this.now();
    let response: Response;
    try {
      // No redirects: following one could hand the bearer token to whatever host the answer names.
      response = await this.fetch(url, { headers, redirect: 'error', signal: AbortSignal.timeout(this.config.timeoutMs) });
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      this.log.warn({ reason: timedOut ? `no answer within ${this.config.timeoutMs} ms` : describe(error) }, 'contact lookup failed');
      return undefined;
    }
    if (response.status === 404) {
      await discard(response);
      this.remember(number, undefined);
      return undefined;
    }
    if (response.status !== 200) {
      await discard(response);
      this.log.warn({ status: response.status }, `contact lookup failed: the CRM answered ${response.status}`);
      return undefined;
    }
    let body: unknown;
    try {
      body = JSON.parse(await readBounded(response, MAX_LOOKUP_RESPONSE_BYTES));
    } catch (error) {
      this.log.warn({ reason: describe(error) }, 'contact lookup failed: the answer is not a JSON contact');
      return undefined;
    }
    const contact = sanitizeContact(body, (field) => this.log.warn({ field }, 'contact lookup: a field of the answer was dropped'));
    this.remember(number, contact);
    this.log.debug({ ms: this.now() - started, found: contact !== undefined }, 'contact lookup answered');
    return contact;
  }

  private remember(number: string, contact: Contact | undefined): void {
    if (this.config.cacheSeconds === 0 || this.config.cacheSize === 0) return;
    this.cache.delete(number);
    this.cache.set(number, { contact, until: this.now() + this.config.cacheSeconds * 1000 });
    while (this.cache.size > this.config.cacheSize) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
    }
  }
}

/**
 * Keeps each known field that passes the protocol's checks on its own; an answer with none left is no contact.
 * `null` and an empty object mean "nobody", the same as a 404.
 */
export function sanitizeContact(value: unknown, dropped: (field: string) => void = () => {}): Contact | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const source = value as Record<string, unknown>;
  const contact: Record<string, unknown> = {};
  for (const key of CONTACT_KEYS) {
    if (!Object.hasOwn(source, key) || source[key] === undefined || source[key] === null) continue;
    // CRMs often use numeric ids.
    const field = key === 'id' && typeof source[key] === 'number' ? String(source[key]) : source[key];
    if (key === 'fields') {
      const fields = sanitizeFields(field, dropped);
      if (fields !== undefined) contact[key] = fields;
    } else if (Value.Check(ContactSchema, { [key]: field })) {
      contact[key] = field;
    } else {
      dropped(key);
    }
  }
  return Object.keys(contact).length === 0 ? undefined : (contact as Contact);
}

/** Label → value pairs one by one, so that one bad label costs that pair, not the others. */
function sanitizeFields(value: unknown, dropped: (field: string) => void): Record<string, string> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    dropped('fields');
    return undefined;
  }
  const kept: Record<string, string> = {};
  let count = 0;
  for (const [label, text] of Object.entries(value)) {
    if (count < MAX_CONTACT_FIELDS && Value.Check(ContactSchema, { fields: { [label]: text } })) {
      kept[label] = text as string;
      count++;
    } else {
      dropped('fields');
    }
  }
  return count === 0 ? undefined : kept;
}

/** The body of an answer not read; a stream that has already failed has nothing left to release. */
async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => {});
}

async function readBounded(response: Response, limit: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > limit) {
    await discard(response);
    throw new Error(`the answer is ${declared} bytes, more than ${limit}`);
  }
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new Error(`the answer is more than ${limit} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}
