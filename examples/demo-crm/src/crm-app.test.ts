import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { jwtVerify } from 'jose';
import { createDemoCrm, SESSION_COOKIE, type DemoCrmOptions } from './crm-app.js';
import { SEED_CONTACTS, type Contact } from './contacts.js';

const SECRET = 'a-test-secret-that-is-at-least-32-bytes-long';
const LOOKUP_TOKEN = 'lookup-token-for-tests-0123456789';
const GATEWAY = 'http://127.0.0.1:8999';
const OPERATORS = [
  { id: '101', name: 'Demo Operator 101', extension: '101' },
  { id: '102', name: 'Demo Operator 102', extension: '102' },
];

function crm(extra: Partial<DemoCrmOptions> = {}): FastifyInstance {
  return createDemoCrm({ secret: SECRET, gatewayHttpUrl: GATEWAY, lookupToken: LOOKUP_TOKEN, operators: OPERATORS, ...extra });
}

/** The sign-in form posted for `operator`, with any extra request headers (Origin, Fetch Metadata). */
function postLogin(app: FastifyInstance, operator: string, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: '/login',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: `operator=${operator}`,
  });
}

async function signIn(app: FastifyInstance, operator = '101'): Promise<string> {
  const response = await postLogin(app, operator);
  assert.equal(response.statusCode, 303);
  const cookie = response.cookies.find((c) => c.name === SESSION_COOKIE);
  assert.ok(cookie, 'a session cookie is set');
  return `${SESSION_COOKIE}=${cookie.value}`;
}

/** `null` sends no Authorization header at all. */
function lookup(app: FastifyInstance, number: string, token: string | null = LOOKUP_TOKEN) {
  return app.inject({
    method: 'GET',
    url: `/crm/lookup?number=${encodeURIComponent(number)}`,
    headers: { accept: 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
  });
}

describe('sign-in', () => {
  it('shows the sign-in page when signed out and redirects protected pages to it', async () => {
    const app = crm();
    const home = await app.inject('/');
    assert.equal(home.statusCode, 200);
    assert.match(home.body, /<form method="post" action="\/login"/);
    assert.match(home.body, /Demo Operator 102 \(ext\. 102\)/);
    for (const url of ['/contacts', '/contacts/1001']) {
      const response = await app.inject(url);
      assert.equal(response.statusCode, 303, url);
      assert.equal(response.headers.location, '/');
    }
  });

  it('sets an HttpOnly SameSite=Lax session cookie and shows the contacts', async () => {
    const app = crm();
    const response = await postLogin(app, '102');
    assert.equal(response.statusCode, 303);
    assert.equal(response.headers.location, '/contacts');
    const setCookie = String(response.headers['set-cookie']);
    assert.match(setCookie, new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43}; `));
    assert.match(setCookie, /; HttpOnly/);
    assert.match(setCookie, /; SameSite=Lax/);
    assert.match(setCookie, /; Path=\//);
    assert.doesNotMatch(setCookie, /Secure/);

    const cookie = setCookie.split(';')[0]!;
    const home = await app.inject({ url: '/', headers: { cookie } });
    assert.equal(home.statusCode, 303);
    assert.equal(home.headers.location, '/contacts');
    const contacts = await app.inject({ url: '/contacts', headers: { cookie } });
    assert.equal(contacts.statusCode, 200);
    assert.match(contacts.body, /Demo Operator 102 <span class="muted">ext\. 102<\/span>/);
    assert.match(contacts.body, /Irina Sokolova/);
  });

  it('adds Secure when asked to', async () => {
    const app = crm({ secureCookies: true });
    const response = await postLogin(app, '101');
    assert.match(String(response.headers['set-cookie']), /; Secure$/);
  });

  it('refuses unknown operators and cross-origin forms', async () => {
    const app = crm();
    const unknown = await postLogin(app, '999');
    assert.equal(unknown.statusCode, 400);
    assert.equal(unknown.headers['set-cookie'], undefined);
    const foreign = await postLogin(app, '101', { origin: 'https://evil.example' });
    assert.equal(foreign.statusCode, 403);
    assert.equal(foreign.headers['set-cookie'], undefined);
    const crossSite = await postLogin(app, '101', { origin: 'null', 'sec-fetch-site': 'cross-site' });
    assert.equal(crossSite.statusCode, 403);
    // A sandboxed frame elsewhere, in a browser without Fetch Metadata.
    const sandboxed = await postLogin(app, '101', { origin: 'null' });
    assert.equal(sandboxed.statusCode, 403);
  });

  it('accepts its own forms, by Fetch Metadata or by Origin', async () => {
    for (const headers of [{ 'sec-fetch-site': 'same-origin' }, { origin: 'http://localhost:80' }] as Record<string, string>[]) {
      const response = await postLogin(crm(), '101', headers);
      assert.equal(response.statusCode, 303, JSON.stringify(headers));
    }
  });

  it('signs out: the session stops working and the cookie is cleared', async () => {
    const app = crm();
    const cookie = await signIn(app);
    const out = await app.inject({ method: 'POST', url: '/logout', headers: { cookie } });
    assert.equal(out.statusCode, 303);
    assert.equal(out.headers.location, '/');
    assert.match(String(out.headers['set-cookie']), new RegExp(`^${SESSION_COOKIE}=; .*Max-Age=0`));
    const after = await app.inject({ url: '/contacts', headers: { cookie } });
    assert.equal(after.statusCode, 303);
    const token = await app.inject({ url: '/crm/phone-token', headers: { cookie } });
    assert.equal(token.statusCode, 401);
  });

  it('ignores a made-up session id', async () => {
    const app = crm();
    const response = await app.inject({ url: '/contacts', headers: { cookie: `${SESSION_COOKIE}=made-up` } });
    assert.equal(response.statusCode, 303);
  });

  it('keeps at most the configured number of sessions, dropping the oldest', async () => {
    const app = crm({ sessions: { maxSessions: 2 } });
    const first = await signIn(app);
    const second = await signIn(app, '102');
    const third = await signIn(app);
    assert.equal((await app.inject({ url: '/contacts', headers: { cookie: first } })).statusCode, 303);
    assert.equal((await app.inject({ url: '/contacts', headers: { cookie: second } })).statusCode, 200);
    assert.equal((await app.inject({ url: '/contacts', headers: { cookie: third } })).statusCode, 200);
  });

  it('expires sessions', async () => {
    let now = 1_000_000;
    const app = crm({ sessions: { ttlMs: 60_000, now: () => now } });
    const cookie = await signIn(app);
    now += 59_000;
    assert.equal((await app.inject({ url: '/contacts', headers: { cookie } })).statusCode, 200);
    now += 2_000;
    assert.equal((await app.inject({ url: '/contacts', headers: { cookie } })).statusCode, 303);
  });
});

describe('the token endpoint', () => {
  it('mints a 10-minute HS256 token for the signed-in operator', async () => {
    const app = crm();
    const cookie = await signIn(app, '102');
    const response = await app.inject({ url: '/crm/phone-token', headers: { cookie } });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['cache-control'], 'no-store');
    const { token } = response.json<{ token: string }>();
    const { payload, protectedHeader } = await jwtVerify(token, new TextEncoder().encode(SECRET), { audience: 'switchboard', algorithms: ['HS256'] });
    assert.equal(protectedHeader.alg, 'HS256');
    assert.equal(payload.sub, '102');
    assert.equal(payload.aud, 'switchboard');
    const lifetime = payload.exp! - payload.iat!;
    assert.equal(lifetime, 600);
    assert.ok(Math.abs(payload.iat! - Date.now() / 1000) < 5);
  });

  it('answers 401 JSON when signed out', async () => {
    const response = await crm().inject('/crm/phone-token');
    assert.equal(response.statusCode, 401);
    assert.equal(response.headers['cache-control'], 'no-store');
    assert.match(String(response.headers['content-type']), /^application\/json/);
    assert.deepEqual(Object.keys(response.json()), ['error']);
  });

  it('refuses a secret the gateway would refuse', () => {
    assert.throws(() => crm({ secret: 'short' }), RangeError);
    assert.throws(() => crm({ lookupToken: 'short' }), RangeError);
  });
});

describe('the lookup endpoint', () => {
  it('finds a contact by the number in any usual format', async () => {
    const app = crm({ publicUrl: 'http://crm.test:3000' });
    for (const number of ['+74951234567', '+7 (495) 123-45-67', '84951234567', '8 495 123 45 67', '74951234567', '4951234567', '0074951234567']) {
      const response = await lookup(app, number);
      assert.equal(response.statusCode, 200, number);
      assert.equal(response.headers['cache-control'], 'no-store');
      const contact = response.json<Record<string, unknown>>();
      assert.equal(contact['id'], '1001', number);
      assert.equal(contact['name'], 'Irina Sokolova');
      assert.equal(contact['company'], 'Volga Logistics');
      assert.equal(contact['url'], 'http://crm.test:3000/contacts/1001');
      assert.deepEqual(contact['fields'], { Title: 'Head of Procurement', City: 'Moscow', Email: 'i.sokolova@volga-logistics.example' });
    }
    // A mobile stored in the domestic 8... form, asked for in E.164.
    assert.equal((await lookup(app, '+79123456789')).json<{ id: string }>().id, '1001');
    assert.equal((await lookup(app, '+442079460958')).json<{ id: string }>().id, '1003');
    assert.equal((await lookup(app, '+1 415 555 0142')).json<{ id: string }>().id, '1005');
  });

  it('builds card URLs from the request when no public URL is configured', async () => {
    const response = await crm().inject({
      url: '/crm/lookup?number=%2B4930123456',
      headers: { authorization: `Bearer ${LOOKUP_TOKEN}`, host: '127.0.0.1:3999' },
    });
    assert.equal(response.statusCode, 404);
    const found = await crm().inject({
      url: '/crm/lookup?number=%2B493012345678',
      headers: { authorization: `Bearer ${LOOKUP_TOKEN}`, host: '127.0.0.1:3999' },
    });
    assert.equal(found.json<{ url: string }>().url, 'http://127.0.0.1:3999/contacts/1004');
  });

  it('finds colleagues by extension', async () => {
    const response = await lookup(crm({ publicUrl: 'http://crm.test' }), '102');
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), {
      name: 'Demo Operator 102',
      company: 'Colleague',
      url: 'http://crm.test/contacts#colleague-102',
      fields: { Extension: '102' },
    });
  });

  it('answers 404 for unknown numbers, without matching short numbers by suffix', async () => {
    const app = crm();
    for (const number of ['+79990000000', '4567', '104', '+1 495 123 4567']) {
      const response = await lookup(app, number);
      assert.equal(response.statusCode, 404, number);
    }
  });

  it('answers 401 without the right bearer token, before looking at the input', async () => {
    const app = crm();
    for (const token of [null, 'wrong-token', `${LOOKUP_TOKEN}x`, '']) {
      const response = await lookup(app, 'junk<>', token);
      assert.equal(response.statusCode, 401, String(token));
      assert.equal(response.headers['www-authenticate'], 'Bearer');
    }
    const basic = await app.inject({ url: '/crm/lookup?number=101', headers: { authorization: `Basic ${LOOKUP_TOKEN}` } });
    assert.equal(basic.statusCode, 401);
  });

  it('answers 400 for input that is not a phone number', async () => {
    const app = crm();
    for (const number of ['', 'abc', '12a34', '+7 495 <script>', '++74951234567', '1'.repeat(65), '+', '1;2']) {
      const response = await lookup(app, number);
      assert.equal(response.statusCode, 400, JSON.stringify(number));
    }
    const missing = await app.inject({ url: '/crm/lookup', headers: { authorization: `Bearer ${LOOKUP_TOKEN}` } });
    assert.equal(missing.statusCode, 400);
    const twice = await app.inject({ url: '/crm/lookup?number=101&number=102', headers: { authorization: `Bearer ${LOOKUP_TOKEN}` } });
    assert.equal(twice.statusCode, 400);
  });
});

describe('pages', () => {
  const hostile: Contact = {
    id: '666',
    name: '<script>alert(1)</script>',
    company: 'Evil & "Co"',
    phones: [{ label: '<b>work</b>', number: '+7 495 000-00-01' }],
    notes: ['<img src=x onerror=alert(2)>'],
  };

  it('escapes contact data on the card and in the list', async () => {
    const app = crm({ contacts: [...SEED_CONTACTS, hostile] });
    const cookie = await signIn(app);
    for (const url of ['/contacts/666', '/contacts']) {
      const response = await app.inject({ url, headers: { cookie } });
      assert.equal(response.statusCode, 200, url);
      assert.ok(!response.body.includes('<script>alert(1)</script>'), url);
      assert.ok(response.body.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), url);
      assert.ok(response.body.includes('Evil &amp; &quot;Co&quot;'), url);
      assert.ok(!response.body.includes('<b>work</b>'), url);
    }
    const card = await app.inject({ url: '/contacts/666', headers: { cookie } });
    assert.ok(card.body.includes('&lt;img src=x onerror=alert(2)&gt;'));
  });

  it('shows a contact card with click-to-call numbers and notes', async () => {
    const app = crm();
    const cookie = await signIn(app);
    const response = await app.inject({ url: '/contacts/1001', headers: { cookie } });
    assert.equal(response.statusCode, 200);
    assert.match(response.body, /<h1>Irina Sokolova<\/h1>/);
    assert.match(response.body, /<a href="tel:\+74951234567">\+7 \(495\) 123-45-67<\/a>/);
    assert.match(response.body, /data-switchboard-call="89123456789"/);
    assert.match(response.body, /Renews the warehouse contract/);
  });

  it('lists colleagues with tel: links to their extensions, not to oneself', async () => {
    const app = crm();
    const cookie = await signIn(app, '101');
    const response = await app.inject({ url: '/contacts', headers: { cookie } });
    assert.match(response.body, /<a href="tel:102">102<\/a>/);
    assert.match(response.body, /data-switchboard-call="102"/);
    assert.doesNotMatch(response.body, /href="tel:101"/);
    assert.match(response.body, /not found/);
  });

  it('answers 404 for unknown or malformed contact ids', async () => {
    const app = crm();
    const cookie = await signIn(app);
    for (const url of ['/contacts/9999', '/contacts/..%2F..%2Fetc', `/contacts/${'x'.repeat(65)}`]) {
      assert.equal((await app.inject({ url, headers: { cookie } })).statusCode, 404, url);
    }
  });

  it('embeds the widget from the gateway origin with a CSP that allows exactly that', async () => {
    const app = crm();
    const cookie = await signIn(app);
    for (const url of ['/contacts', '/contacts/1002', '/contacts/nobody']) {
      const response = await app.inject({ url, headers: { cookie } });
      assert.ok(response.body.includes(`<script src="${GATEWAY}/switchboard.js" data-token-url="/crm/phone-token" async></script>`), url);
      assert.doesNotMatch(response.body, /<script>|<script(?![^>]*\ssrc=)[^>]*>/, `${url}: no inline script`);
      const csp = String(response.headers['content-security-policy']);
      assert.match(csp, new RegExp(`script-src 'self' ${GATEWAY}(;|$)`));
      assert.match(csp, new RegExp(`connect-src 'self' ${GATEWAY} ws://127\\.0\\.0\\.1:8999(;|$)`));
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /media-src [^;]*blob:/);
      assert.doesNotMatch(csp, /script-src[^;]*unsafe/);
      assert.equal(response.headers['x-content-type-options'], 'nosniff');
      assert.equal(response.headers['referrer-policy'], 'same-origin');
    }
  });

  it('leaves the widget off the sign-in page, which still gets the CSP', async () => {
    const response = await crm().inject('/');
    assert.doesNotMatch(response.body, /switchboard\.js/);
    assert.match(String(response.headers['content-security-policy']), /default-src 'none'/);
    assert.equal(response.headers['x-content-type-options'], 'nosniff');
  });

  it('uses wss: for an https gateway', async () => {
    const app = crm({ gatewayHttpUrl: 'https://phone.example.com' });
    const response = await app.inject({ url: '/contacts', headers: { cookie: await signIn(app) } });
    assert.match(String(response.headers['content-security-policy']), /connect-src 'self' https:\/\/phone\.example\.com wss:\/\/phone\.example\.com/);
    assert.ok(response.body.includes('<script src="https://phone.example.com/switchboard.js"'));
  });

  it('serves the page script and stylesheet, and nothing else from /static', async () => {
    const app = crm();
    const js = await app.inject('/static/crm.js');
    assert.equal(js.statusCode, 200);
    assert.match(String(js.headers['content-type']), /^text\/javascript/);
    assert.match(js.body, /switchboard:answered/);
    const css = await app.inject('/static/crm.css');
    assert.equal(css.statusCode, 200);
    assert.match(String(css.headers['content-type']), /^text\/css/);
    for (const url of ['/static/..%2Fpackage.json', '/static/crm.ts', '/static/constructor']) {
      assert.equal((await app.inject(url)).statusCode, 404, url);
    }
  });
});
