/**
 * A small CRM that does what any CRM embedding Switchboard has to do, and nothing more:
 *
 * - signs its users in (here: pick a demo operator) and keeps a session cookie;
 * - puts the widget's script tag on its pages, with a CSP that lets the widget reach the gateway;
 * - mints a short-lived login token for the signed-in user at its token URL (`GET /crm/phone-token`), signed with
 *   the secret it shares with the gateway (HS256, `sub` = operator id, `aud` = "switchboard");
 * - answers the gateway's caller lookups (`GET /crm/lookup?number=`) so incoming calls show who is calling.
 *
 * `createDemoCrm` returns the Fastify instance without listening, so tests inject requests and `main.ts` picks
 * the address.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { SignJWT } from 'jose';
import { ContactBook, SEED_CONTACTS, type Contact, type LookupMatch, type Operator } from './contacts.js';
import { contentSecurityPolicy } from './html.js';
import { contactPage, contactsPage, notFoundPage, signInPage, TOKEN_PATH, type PageContext } from './pages.js';
import { MAX_NUMBER_INPUT, numberKey } from './phone-numbers.js';
import { SessionStore, type SessionOptions } from './sessions.js';

export const SESSION_COOKIE = 'crm_session';
export const LOOKUP_PATH = '/crm/lookup';
/** The audience the gateway expects unless configured otherwise. */
export const DEFAULT_AUDIENCE = 'switchboard';
/** Short on purpose: the widget asks for a fresh token when the gateway says this one is about to expire. */
export const DEFAULT_TOKEN_TTL_SECONDS = 10 * 60;
/** The gateway refuses HS256 secrets shorter than this; refusing them here too fails at start, not at login. */
const MIN_SECRET_BYTES = 32;
const MIN_LOOKUP_TOKEN_LENGTH = 16;

export interface DemoCrmOptions {
  /** The HS256 secret shared with the gateway (its `auth.hs256` secret). */
  readonly secret: string | Uint8Array;
  /** Where browsers reach the gateway, e.g. http://127.0.0.1:8080: the widget's script and socket come from there. */
  readonly gatewayHttpUrl: string;
  /** The bearer token the gateway sends with lookups (its `lookup.token`). */
  readonly lookupToken: string;
  /** Who may sign in; the ids are the gateway's operator ids, the extensions what colleagues dial. */
  readonly operators: readonly Operator[];
  readonly contacts?: readonly Contact[] | undefined;
  readonly audience?: string | undefined;
  readonly tokenTtlSeconds?: number | undefined;
  /** This CRM's own base URL, for the card links in lookup answers; by default taken from the request's Host. */
  readonly publicUrl?: string | undefined;
  /** Adds `Secure` to the session cookie; on whenever the CRM is served over HTTPS. */
  readonly secureCookies?: boolean | undefined;
  readonly sessions?: SessionOptions | undefined;
  /** Fastify's logger option; off by default (tests). */
  readonly logger?: boolean | { level: string } | undefined;
}

const STATIC_DIR = new URL('../static/', import.meta.url);
const STATIC_FILES: Readonly<Record<string, string>> = {
  'crm.js': 'text/javascript; charset=utf-8',
  'crm.css': 'text/css; charset=utf-8',
};
const CONTACT_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function createDemoCrm(options: DemoCrmOptions): FastifyInstance {
  const key = typeof options.secret === 'string' ? new TextEncoder().encode(options.secret) : options.secret;
  if (key.byteLength < MIN_SECRET_BYTES) throw new RangeError(`the token secret must be at least ${MIN_SECRET_BYTES} bytes`);
  if (options.lookupToken.length < MIN_LOOKUP_TOKEN_LENGTH) {
    throw new RangeError(`the lookup token must be at least ${MIN_LOOKUP_TOKEN_LENGTH} characters`);
  }
  const audience = options.audience ?? DEFAULT_AUDIENCE;
  const tokenTtlSeconds = options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  const csp = contentSecurityPolicy(options.gatewayHttpUrl);
  const widgetSrc = `${options.gatewayHttpUrl.replace(/\/+$/, '')}/switchboard.js`;
  const book = new ContactBook(options.contacts ?? SEED_CONTACTS, options.operators);
  const sessions = new SessionStore(options.sessions);
  const lookupDigest = sha256(options.lookupToken);
  const publicUrl = options.publicUrl?.replace(/\/+$/, '');

  // Request logging off: lookup URLs carry callers' numbers, which have no business in a log.
  const app = Fastify({ logger: options.logger ?? false, logController: new LogController({ disableRequestLogging: true }) });

  // Forms post url-encoded; a parser of a few lines spares a dependency. Bounded: a sign-in form is tiny.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.addHook('onSend', async (_request, reply) => {
    reply.header('Content-Security-Policy', csp);
    reply.header('X-Content-Type-Options', 'nosniff');
    // same-origin, not no-referrer: under no-referrer browsers send `Origin: null` with this site's own forms.
    reply.header('Referrer-Policy', 'same-origin');
  });

  const operatorOf = (request: FastifyRequest): Operator | undefined => {
    const id = sessions.operatorOf(readCookie(request, SESSION_COOKIE));
    return id === undefined ? undefined : book.operator(id);
  };
  const page = (reply: FastifyReply, body: string, status = 200): FastifyReply =>
    reply.code(status).header('Cache-Control', 'no-store').type('text/html; charset=utf-8').send(body);
  const context = (operator?: Operator): PageContext => ({ widgetSrc, operator });

  app.get('/', async (request, reply) => {
    if (operatorOf(request) !== undefined) return reply.redirect('/contacts', 303);
    return page(reply, signInPage(context(), book.operators()));
  });

  app.post<{ Body: { operator?: unknown } | undefined }>('/login', async (request, reply) => {
    if (!sameOrigin(request)) return reply.code(403).type('text/plain; charset=utf-8').send('cross-origin form refused\n');
    const id = request.body?.operator;
    const operator = typeof id === 'string' ? book.operator(id) : undefined;
    if (operator === undefined) return page(reply, signInPage(context(), book.operators(), 'Pick one of the demo operators.'), 400);
    // A new id on every sign-in, so an id planted before sign-in (session fixation) is worth nothing after it.
    sessions.delete(readCookie(request, SESSION_COOKIE));
    const session = sessions.create(operator.id);
    reply.header('Set-Cookie', sessionCookie(session, sessions.ttlSeconds, options.secureCookies === true));
    return reply.redirect('/contacts', 303);
  });

  app.post('/logout', async (request, reply) => {
    if (!sameOrigin(request)) return reply.code(403).type('text/plain; charset=utf-8').send('cross-origin form refused\n');
    sessions.delete(readCookie(request, SESSION_COOKIE));
    reply.header('Set-Cookie', sessionCookie('', 0, options.secureCookies === true));
    return reply.redirect('/', 303);
  });

  app.get('/contacts', async (request, reply) => {
    const operator = operatorOf(request);
    if (operator === undefined) return reply.redirect('/', 303);
    return page(reply, contactsPage(context(operator), book.list(), book.operators()));
  });

  app.get<{ Params: { id: string } }>('/contacts/:id', async (request, reply) => {
    const operator = operatorOf(request);
    if (operator === undefined) return reply.redirect('/', 303);
    const contact = CONTACT_ID.test(request.params.id) ? book.get(request.params.id) : undefined;
    if (contact === undefined) return page(reply, notFoundPage(context(operator)), 404);
    return page(reply, contactPage(context(operator), contact));
  });

  // The widget's token URL: fetched same-origin with the session cookie, so only the signed-in user gets a token,
  // and only for themselves. Tokens are bearer credentials: never cached, never logged.
  app.get(TOKEN_PATH, async (request, reply) => {
    reply.header('Cache-Control', 'no-store');
    const operator = operatorOf(request);
    if (operator === undefined) return reply.code(401).send({ error: 'not signed in' });
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(operator.id)
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(now + tokenTtlSeconds)
      .sign(key);
    return reply.send({ token });
  });

  // The gateway's caller lookup. Authentication comes before any look at the input, so a client without the
  // token learns nothing, not even which numbers are well-formed.
  app.get<{ Querystring: { number?: unknown } }>(LOOKUP_PATH, async (request, reply) => {
    reply.header('Cache-Control', 'no-store');
    if (!bearerMatches(request.headers.authorization, lookupDigest)) {
      return reply.code(401).header('WWW-Authenticate', 'Bearer').send({ error: 'a valid bearer token is required' });
    }
    const number = request.query.number;
    const numberKeyed = typeof number === 'string' ? numberKey(number) : undefined;
    if (numberKeyed === undefined) {
      return reply.code(400).send({ error: `number: 1-${MAX_NUMBER_INPUT} characters, digits and a leading + once spaces, dashes and brackets are removed` });
    }
    const match = book.find(numberKeyed);
    if (match === undefined) return reply.code(404).send({ error: 'no contact with that number' });
    return reply.send(lookupAnswer(match, publicUrl ?? requestOrigin(request)));
  });

  app.get<{ Params: { file: string } }>('/static/:file', async (request, reply) => {
    const type = Object.hasOwn(STATIC_FILES, request.params.file) ? STATIC_FILES[request.params.file] : undefined;
    if (type === undefined) return reply.code(404).type('text/plain; charset=utf-8').send('not found\n');
    const body = await readFile(new URL(request.params.file, STATIC_DIR));
    return reply.header('Cache-Control', 'no-cache').type(type).send(body);
  });

  return app;
}

/** The contact as the gateway's lookup contract has it: id, name, company, an absolute card URL, extra fields. */
function lookupAnswer(match: LookupMatch, base: string): Record<string, unknown> {
  if (match.kind === 'colleague') {
    const { operator } = match;
    return {
      name: operator.name,
      company: 'Colleague',
      url: `${base}/contacts#colleague-${encodeURIComponent(operator.extension)}`,
      fields: { Extension: operator.extension },
    };
  }
  const { contact } = match;
  const fields: Record<string, string> = {};
  if (contact.title !== undefined) fields['Title'] = contact.title;
  if (contact.city !== undefined) fields['City'] = contact.city;
  if (contact.email !== undefined) fields['Email'] = contact.email;
  return {
    id: contact.id,
    name: contact.name,
    company: contact.company,
    url: `${base}/contacts/${encodeURIComponent(contact.id)}`,
    fields,
  };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Compared as digests, so the comparison takes the same time whatever the length or content of the guess. */
function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer +(\S+)\s*$/i.exec(header ?? '');
  return match?.[1] !== undefined && timingSafeEqual(sha256(match[1]), expected);
}

function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  // HttpOnly: page scripts (and anything injected into them) never see it. SameSite=Lax: other sites' forms and
  // fetches do not carry it, which covers CSRF on the POST routes and the token endpoint.
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

function requestOrigin(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

/**
 * Belt and braces with SameSite (which does nothing against a forged sign-in): a browser says where a form post
 * comes from. Fetch Metadata (`Sec-Fetch-Site`) first, then Origin for browsers without it. `Origin: null` is
 * refused: it is what a sandboxed frame on another site sends. Requests with neither (curl) pass.
 */
function sameOrigin(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string') return site === 'same-origin' || site === 'none';
  const origin = request.headers.origin;
  return origin === undefined || origin === requestOrigin(request);
}
