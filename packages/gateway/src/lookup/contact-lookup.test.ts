import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { Secret } from '../config/secret.js';
import type { LookupConfig } from '../config/types.js';
import { HttpContactLookup, MAX_LOOKUP_RESPONSE_BYTES, sanitizeContact } from './contact-lookup.js';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** A CRM stand-in on loopback: each test sets how it answers and reads what it was asked. */
const crm = {
  server: undefined as Server | undefined,
  base: '',
  handler: ((_request, response) => void response.end()) as Handler,
  asked: [] as { url: string; authorization: string | undefined }[],
};

before(async () => {
  crm.server = createServer((request, response) => {
    crm.asked.push({ url: request.url ?? '', authorization: request.headers.authorization });
    crm.handler(request, response);
  });
  await new Promise<void>((resolve) => crm.server!.listen(0, '127.0.0.1', resolve));
  crm.base = `http://127.0.0.1:${(crm.server.address() as AddressInfo).port}`;
});
after(() => {
  crm.server?.closeAllConnections();
  crm.server?.close();
});
beforeEach(() => {
  crm.asked = [];
});

function answer(status: number, body?: unknown): Handler {
  return (_request, response) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
  };
}

function lookupWith(handler: Handler, config: Partial<LookupConfig> = {}, now?: () => number) {
  crm.handler = handler;
  const full: LookupConfig = {
    url: `${crm.base}/crm/lookup?number={number}`,
    token: new Secret('lookup-token-0123456789', 'test'),
    timeoutMs: 1000,
    cacheSeconds: 60,
    cacheSize: 100,
    ...config,
  };
  return new HttpContactLookup(full, { logger: pino({ level: 'silent' }), ...(now === undefined ? {} : { now }) });
}

const ANNA = { id: 'c-7', name: 'Anna Petrova', company: 'Acme', url: 'https://crm.example.com/contacts/7' };

describe('contact lookup over HTTP', () => {
  it('asks with the number URL-encoded and the bearer token, and returns the contact', async () => {
    const lookup = lookupWith(answer(200, ANNA));
    assert.deepEqual(await lookup.find('+74951234567'), ANNA);
    assert.deepEqual(crm.asked, [{ url: '/crm/lookup?number=%2B74951234567', authorization: 'Bearer lookup-token-0123456789' }]);
  });

  it('sends no Authorization header when no token is configured', async () => {
    const lookup = lookupWith(answer(200, ANNA), { token: undefined });
    await lookup.find('101');
    assert.equal(crm.asked[0]?.authorization, undefined);
  });

  it('reads 404 as nobody, and remembers both answers for cacheSeconds', async () => {
    let now = 1_000_000;
    const lookup = lookupWith((request, response) => (request.url?.endsWith('=101') ? answer(200, ANNA) : answer(404))(request, response), {}, () => now);
    assert.deepEqual(await lookup.find('101'), ANNA);
    assert.equal(await lookup.find('999'), undefined);
    assert.deepEqual(await lookup.find('101'), ANNA);
    assert.equal(await lookup.find('999'), undefined);
    assert.equal(crm.asked.length, 2);
    now += 60_001;
    await lookup.find('101');
    assert.equal(crm.asked.length, 3);
  });

  it('asks once for callers that arrive together', async () => {
    const lookup = lookupWith((request, response) => setTimeout(() => answer(200, ANNA)(request, response), 50));
    const answers = await Promise.all([lookup.find('101'), lookup.find('101'), lookup.find('101')]);
    assert.deepEqual(answers, [ANNA, ANNA, ANNA]);
    assert.equal(crm.asked.length, 1);
  });

  it('keeps at most cacheSize numbers, forgetting the least recently used', async () => {
    const lookup = lookupWith(answer(200, ANNA), { cacheSize: 2 });
    await lookup.find('1');
    await lookup.find('2');
    await lookup.find('1');
    await lookup.find('3');
    assert.equal(crm.asked.length, 3);
    await lookup.find('1');
    assert.equal(crm.asked.length, 3, '1 was used recently and stays');
    await lookup.find('2');
    assert.equal(crm.asked.length, 4, '2 was the least recently used and went');
  });

  it('asks every time with cacheSeconds 0', async () => {
    const lookup = lookupWith(answer(200, ANNA), { cacheSeconds: 0 });
    await lookup.find('101');
    await lookup.find('101');
    assert.equal(crm.asked.length, 2);
  });

  it('gives up after timeoutMs and does not remember the failure', async () => {
    const lookup = lookupWith(() => {}, { timeoutMs: 100 });
    assert.equal(await lookup.find('101'), undefined);
    crm.handler = answer(200, ANNA);
    assert.deepEqual(await lookup.find('101'), ANNA);
  });

  it('treats server errors, junk, oversized answers and redirects as no contact, without caching them', async () => {
    const cases: Handler[] = [
      answer(500, { error: 'boom' }),
      answer(200, 'not json'),
      answer(200, 'x'.repeat(MAX_LOOKUP_RESPONSE_BYTES + 1)),
      (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        // No Content-Length: the limit must hold while reading, too.
        response.write('{"name":"');
        response.write('a'.repeat(MAX_LOOKUP_RESPONSE_BYTES));
        response.end('"}');
      },
      (request, response) => {
        // Followed, this would find Anna (and hand the token to wherever the redirect pointed).
        if (request.url?.startsWith('/elsewhere')) return answer(200, ANNA)(request, response);
        response.writeHead(302, { location: `${crm.base}/elsewhere` });
        response.end();
      },
    ];
    for (const handler of cases) {
      crm.asked = [];
      const lookup = lookupWith(handler);
      assert.equal(await lookup.find('101'), undefined);
      assert.equal(await lookup.find('101'), undefined);
      assert.equal(crm.asked.length, 2);
    }
  });

  it('does not ask about anonymous callers or text that is not a number', async () => {
    const lookup = lookupWith(answer(200, ANNA));
    for (const number of ['anonymous', '', '1 2', 'a/b', '1'.repeat(65), '<script>']) assert.equal(await lookup.find(number), undefined, number);
    assert.equal(crm.asked.length, 0);
  });
});

describe('sanitizeContact', () => {
  it('keeps the known fields that pass and drops the rest, one by one', () => {
    const dropped: string[] = [];
    const contact = sanitizeContact(
      { id: 42, name: 'Anna', company: 'x'.repeat(500), url: 'javascript:alert(1)', fields: { Deal: 'Open' }, secret: 'no' },
      (field) => dropped.push(field),
    );
    assert.deepEqual(contact, { id: '42', name: 'Anna', fields: { Deal: 'Open' } });
    assert.deepEqual(dropped, ['company', 'url']);
  });

  it('keeps the good label → value pairs and drops the bad ones, at most 32', () => {
    const fields: Record<string, unknown> = { Deal: 'Open', ['x'.repeat(129)]: 'long label', 'a\u202eb': 'bidi label', Owner: 7, Stage: 'Won' };
    for (let i = 0; i < 40; i++) fields[`f${i}`] = String(i);
    const contact = sanitizeContact({ name: 'Anna', fields });
    assert.deepEqual(Object.keys(contact?.fields ?? {}).slice(0, 2), ['Deal', 'Stage']);
    assert.equal(Object.keys(contact?.fields ?? {}).length, 32);
    assert.equal(sanitizeContact({ name: 'Anna', fields: ['a'] })?.fields, undefined);
  });

  it('reads null, arrays, empty objects and nothing valid as no contact', () => {
    for (const value of [null, [], {}, 'Anna', 7, { url: 'ftp://x' }, { name: null }]) assert.equal(sanitizeContact(value), undefined, JSON.stringify(value));
  });
});
