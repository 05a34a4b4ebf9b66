/**
 * URIs (RFC 3261 §19.1, §25.1; RFC 3966; RFC 4475 §3.1.1 and §3.3): parsing, rejection, formatUri round trips and
 * uriEquals against the RFC 3261 §19.1.4 examples.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SipParseError } from '../errors.js';
import { ParamList } from './param-list.js';
import { escapeUser, formatUri, parseUri, splitSimpleParams, unescapeUriPart, uriEquals, type SipUri, type TelUri, type Uri } from './uri.js';

/** Plain data for deepStrictEqual: Maps as entry lists, undefined fields dropped. */
function plain(uri: Uri): unknown {
  return JSON.parse(JSON.stringify(uri, (_key, value: unknown) => (value instanceof Map ? [...value] : value)));
}

function sip(text: string): SipUri {
  const uri = parseUri(text);
  assert.equal(uri.type, 'sip', `${text} should be a SIP URI`);
  return uri as SipUri;
}

function assertRejected(text: string): void {
  assert.throws(() => parseUri(text), (error: unknown) => {
    assert.ok(error instanceof SipParseError, `${JSON.stringify(text)} threw ${String(error)} instead of SipParseError`);
    assert.equal(error.status, 400);
    return true;
  }, `${JSON.stringify(text)} must be rejected`);
}

/** The scheme is case-insensitive, so spelling it in capitals must not change what a URI parses to (or whether it does). */
function withUpperScheme(text: string): string {
  return text.replace(/^[A-Za-z][A-Za-z0-9+.-]*:/, (scheme) => scheme.toUpperCase());
}

describe('parseUri: SIP and SIPS', () => {
  test('the RFC 3261 §19.1.3 examples', () => {
    type Expected = Partial<Omit<SipUri, 'params' | 'headers'>> & { params?: [string, string | null][]; headers?: [string, string][] };
    const cases: [string, Expected][] = [
      ['sip:alice@atlanta.com', { scheme: 'sip', user: 'alice', host: 'atlanta.com' }],
      ['sip:alice:secretword@atlanta.com;transport=tcp', { user: 'alice', password: 'secretword', host: 'atlanta.com', params: [['transport', 'tcp']] }],
      ['sips:alice@atlanta.com?subject=project%20x&priority=urgent', { scheme: 'sips', user: 'alice', headers: [['subject', 'project%20x'], ['priority', 'urgent']] }],
      ['sip:+1-212-555-1212:1234@gateway.com;user=phone', { user: '+1-212-555-1212', password: '1234', host: 'gateway.com', params: [['user', 'phone']] }],
      ['sips:1212@gateway.com', { scheme: 'sips', user: '1212', host: 'gateway.com' }],
      ['sip:alice@192.0.2.4', { user: 'alice', host: '192.0.2.4' }],
      ['sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com', { user: undefined, host: 'atlanta.com', params: [['method', 'REGISTER']], headers: [['to', 'alice%40atlanta.com']] }],
      ['sip:alice;day=tuesday@atlanta.com', { user: 'alice;day=tuesday', host: 'atlanta.com', params: [] }],
    ];
    for (const [text, expected] of cases) {
      const uri = sip(text);
      for (const [key, value] of Object.entries(expected)) {
        const actual = (uri as unknown as Record<string, unknown>)[key];
        assert.deepStrictEqual(actual instanceof Map || actual instanceof ParamList ? [...actual] : actual, value, `${key} of ${text}`);
      }
    }
  });

  test('the scheme is case-insensitive and read as lower case', () => {
    assert.equal(sip('SIP:alice@atlanta.com').scheme, 'sip');
    assert.equal(sip('SiPs:alice@atlanta.com').scheme, 'sips');
    assert.deepStrictEqual(plain(parseUri('SIP:alice@atlanta.com:5060;lr')), plain(parseUri('sip:alice@atlanta.com:5060;lr')));
  });

  test("user parts holding ';', '?', '/' and other unreserved marks (RFC 4475 §3.1.1.2, §3.1.1.9)", () => {
    const crazy = sip("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com");
    assert.equal(crazy.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    assert.equal(crazy.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    assert.equal(crazy.host, 'example.com');
    assert.equal(crazy.params.size, 0);
    assert.equal(crazy.headers.size, 0);

    const semi = sip('sip:user;par=u%40example.net@example.com');
    assert.equal(semi.user, 'user;par=u%40example.net');
    assert.equal(semi.host, 'example.com');
    assert.equal(semi.params.size, 0);

    const slashAndQuestion = sip('sip:a/b?c@example.com;lr');
    assert.equal(slashAndQuestion.user, 'a/b?c');
    assert.deepStrictEqual([...slashAndQuestion.params], [['lr', null]]);
    assert.equal(slashAndQuestion.headers.size, 0);
  });

  test('escapes are kept as written and compare unescaped (RFC 4475 §3.1.1.3-5)', () => {
    const esc = sip('sip:sips%3Auser%40example.com@example.net');
    assert.equal(esc.user, 'sips%3Auser%40example.com');
    assert.equal(esc.host, 'example.net');
    assert.equal(unescapeUriPart(esc.user!), 'sips:user@example.com');

    const nul = sip('sip:null-%00-null@example.com');
    assert.equal(nul.user, 'null-%00-null');
    assert.equal(unescapeUriPart(nul.user!), 'null-\0-null');

    assert.ok(uriEquals(parseUri('sip:%75se%72@example.com'), parseUri('sip:user@example.com')));
    assert.equal(unescapeUriPart('100%'), '100%', 'a % that starts no escape stays');
    assert.equal(unescapeUriPart('%zz%4'), '%zz%4');
  });

  test('passwords', () => {
    assert.deepStrictEqual([sip('sip:alice:secret@host').user, sip('sip:alice:secret@host').password], ['alice', 'secret']);
    assert.equal(sip('sip:alice:@host').password, '', 'password = *( ... ) may be empty');
    assert.equal(sip('sip:alice:pa%3Ass&=+$,@host').password, 'pa%3Ass&=+$,');
    assert.equal(sip('sip:alice:a:b@host').password, 'a:b', 'the first colon of the userinfo ends the user');
    assert.equal(sip('sip:alice@host').password, undefined);
  });

  test('IPv6 references, with and without ports', () => {
    const cases: [string, string, number | undefined][] = [
      ['sip:[2001:db8::10]', '[2001:db8::10]', undefined],
      ['sip:[2001:db8::10]:5070', '[2001:db8::10]', 5070],
      ['sip:alice@[2001:db8::10]:5061;transport=tls', '[2001:db8::10]', 5061],
      ['sips:[::ffff:192.0.2.1]', '[::ffff:192.0.2.1]', undefined],
      ['sip:bob@[::1]:0', '[::1]', 0],
      ['sip:[2001:DB8:0:0:0:0:0:10]:65535', '[2001:DB8:0:0:0:0:0:10]', 65535],
    ];
    for (const [text, host, port] of cases) {
      const uri = sip(text);
      assert.equal(uri.host, host, text);
      assert.equal(uri.port, port, text);
      assert.deepStrictEqual(plain(parseUri(withUpperScheme(text))), plain(uri), `scheme case changed ${text}`);
    }
    for (const text of ['sip:[2001:db8::10', 'sip:[2001:db8::10]x', 'sip:[2001:db8::10]:', 'sip:[gggg::1]', 'sip:[192.0.2.1]', 'sip:[]', 'sip:[::1]:70000', 'sip:2001:db8::10']) {
      assertRejected(text);
      assertRejected(withUpperScheme(text));
    }
  });

  test('ports: 0-65535 with up to five digits, anything else rejected', () => {
    for (const [text, port] of [['sip:host:0', 0], ['sip:host:5060', 5060], ['sip:host:65535', 65535], ['sip:host:05060', 5060], ['sip:u@host:1;lr', 1]] as const) {
      assert.equal(sip(text).port, port, text);
      assert.equal(sip(withUpperScheme(text)).port, port, withUpperScheme(text));
    }
    for (const text of ['sip:host:65536', 'sip:host:99999', 'sip:host:123456', 'sip:host:-1', 'sip:host:', 'sip:host:80a', 'sip:host:+80', 'sip:host:5060:5061', 'sip:u@host:70000;lr']) {
      assertRejected(text);
      assertRejected(withUpperScheme(text));
    }
  });

  test('parameters with and without values; names are case-insensitive (read as lower case), values kept as written', () => {
    const uri = sip('sip:host;LR;Transport=TCP;maddr=239.255.255.1;ttl=15;user=phone;method=INVITE;x-[a]/b:c=%41&$+');
    assert.deepStrictEqual([...uri.params], [
      ['lr', null], ['transport', 'TCP'], ['maddr', '239.255.255.1'], ['ttl', '15'], ['user', 'phone'], ['method', 'INVITE'], ['x-[a]/b:c', '%41&$+'],
    ]);
    assert.deepStrictEqual([...sip('sip:alice@atlanta.com;lr').params], [['lr', null]]);
    for (const text of ['sip:host;', 'sip:host;;lr', 'sip:host;=x', 'sip:host;lr;', 'sip:host;a b', 'sip:host;a="b"']) assertRejected(text);
  });

  test('headers', () => {
    const uri = sip('sip:host?subject=project%20x&priority=urgent&Call-Info=%3Chttp://a%3E&empty=');
    assert.deepStrictEqual([...uri.headers], [['subject', 'project%20x'], ['priority', 'urgent'], ['Call-Info', '%3Chttp://a%3E'], ['empty', '']]);
    assert.deepStrictEqual([...sip('sip:alice@atlanta.com;lr?x=1').params], [['lr', null]]);
    for (const text of ['sip:host?', 'sip:host?=x', 'sip:host?a', 'sip:host?a=1&', 'sip:host?a=1&&b=2']) assertRejected(text);
  });

  test('malformed SIP URIs', () => {
    for (const text of ['sip:', 'sip:@host', 'sip:user@', 'sip::pw@host', 'sip:us er@host', 'sip:user@ho st', 'sip:<user>@host', 'sip:user"@host',
      'sip:user@host>', 'sip:user@exa_mple.com', 'sip:user@host\0', 'sip:user@host\r\n', 'sip:a@b@c', 'sip:user@hööst.example', ' sip:user@host', 'sip:user@host ']) {
      assertRejected(text);
    }
  });
});

describe('parseUri: tel and other schemes', () => {
  test('tel URIs (RFC 3966)', () => {
    const global = parseUri('tel:+1-201-555-0123') as TelUri;
    assert.deepStrictEqual(plain(global), { type: 'tel', scheme: 'tel', number: '+1-201-555-0123', params: [] });
    const local = parseUri('TEL:7042;phone-context=example.com;ext=22') as TelUri;
    assert.deepStrictEqual(plain(local), { type: 'tel', scheme: 'tel', number: '7042', params: [['phone-context', 'example.com'], ['ext', '22']] });
    assert.equal((parseUri('tel:*67#') as TelUri).number, '*67#');
    for (const text of ['tel:', 'tel:++1', 'tel:1 2', 'tel:+', 'tel:-.()', 'tel:+1;', 'tel:+1;;x']) assertRejected(text);
  });

  test('absolute URIs of schemes SIP does not interpret stay opaque (RFC 4475 §3.3.2-4)', () => {
    assert.deepStrictEqual(plain(parseUri('nobodyKnowsThisScheme:totallyopaquecontent')), { type: 'absolute', scheme: 'nobodyknowsthisscheme', opaque: 'totallyopaquecontent' });
    assert.deepStrictEqual(plain(parseUri('soap.beep://192.0.2.103:3002')), { type: 'absolute', scheme: 'soap.beep', opaque: '//192.0.2.103:3002' });
    assert.deepStrictEqual(plain(parseUri('isbn:2983792873')), { type: 'absolute', scheme: 'isbn', opaque: '2983792873' });
    assert.deepStrictEqual(plain(parseUri('urn:service:sos')), { type: 'absolute', scheme: 'urn', opaque: 'service:sos' });
    for (const text of ['1abc:x', ':x', 'x:', 'a b:c', 'mailto:<a@b>', 'noscheme', 'http://a b']) assertRejected(text);
  });
});

describe('formatUri', () => {
  const texts = [
    'sip:alice@atlanta.com',
    'sips:alice:secret@atlanta.com:5061;transport=tls;lr?subject=project%20x&priority=urgent',
    'sip:+1-212-555-1212:1234@gateway.com;user=phone',
    'sip:alice;day=tuesday@atlanta.com',
    'sip:sips%3Auser%40example.com@example.net',
    "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
    'sip:[2001:db8::10]:5070;maddr=[2001:db8::1]',
    'sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com',
    'tel:+1-201-555-0123;ext=22',
    'urn:service:sos',
    'nobodyknowsthisscheme:totallyopaquecontent',
  ];

  test('writes back canonical text unchanged', () => {
    for (const text of texts) assert.equal(formatUri(parseUri(text)), text);
  });

  test('round trip: what it writes parses to the same URI, and formatting again changes nothing', () => {
    for (const text of [...texts, 'SIP:Alice@AtLanTa.CoM;Transport=TCP;LR', 'TEL:+1;EXT=2', 'URN:X:Y', 'sip:h;a=1;b;A=2']) {
      const uri = parseUri(text);
      const written = formatUri(uri);
      const again = parseUri(written);
      assert.deepStrictEqual(plain(again), plain(uri), text);
      assert.ok(uriEquals(again, uri), text);
      assert.equal(formatUri(again), written, text);
    }
  });

  test('round trip of generated URIs', () => {
    const seed = Number(process.env.FUZZ_SEED ?? 20060501);
    fc.assert(fc.property(uriText, (text) => {
      const uri = parseUri(text);
      assert.deepStrictEqual(plain(parseUri(withUpperScheme(text))), plain(uri), 'scheme case changed the result');
      const written = formatUri(uri);
      assert.deepStrictEqual(plain(parseUri(written)), plain(uri));
      assert.equal(formatUri(parseUri(written)), written);
      assert.ok(uriEquals(parseUri(written), uri));
    }), { seed, numRuns: 3000 });
  });
});

// Generated SIP URIs for the round trip above: every part the grammar allows, written in its own character set.
const UNRESERVED = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~*'()";
const chars = (set: string, min: number, max: number): fc.Arbitrary<string> =>
  fc.array(fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...set.split('')) }, { weight: 1, arbitrary: fc.constantFrom('%41', '%3a', '%00', '%E2%82%AC') }), { minLength: min, maxLength: max })
    .map((a) => a.join(''));
const hostText = fc.oneof(
  fc.array(chars('abcdefghijklmnopqrstuvwxyz0123456789', 1, 8), { minLength: 1, maxLength: 3 }).map((labels) => labels.join('.').replace(/%[0-9A-Fa-f]{2}/g, 'x')),
  fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.')),
  fc.array(fc.nat(0xffff).map((n) => n.toString(16)), { minLength: 8, maxLength: 8 }).map((g) => `[${g.join(':')}]`),
  fc.constantFrom('[::1]', '[2001:db8::10]', '[::ffff:192.0.2.1]'),
);
const uriText = fc.record({
  scheme: fc.constantFrom('sip', 'sips'),
  user: fc.option(chars(UNRESERVED + '&=+$,;?/', 1, 12), { nil: undefined }),
  password: fc.option(chars(UNRESERVED + '&=+$,', 0, 8), { nil: undefined }),
  host: hostText,
  port: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }),
  params: fc.uniqueArray(fc.record({ name: chars(UNRESERVED + '[]/:&+$', 1, 8), value: fc.option(chars(UNRESERVED + '[]/:&+$', 1, 8), { nil: null }) }), { selector: (p) => p.name.toLowerCase(), maxLength: 3 }),
  headers: fc.uniqueArray(fc.record({ name: chars(UNRESERVED + '[]/?:+$', 1, 6), value: chars(UNRESERVED + '[]/?:+$', 0, 8) }), { selector: (h) => h.name, maxLength: 2 }),
}).map((u) => `${u.scheme}:` +
  (u.user === undefined ? '' : u.user + (u.password === undefined ? '' : ':' + u.password) + '@') +
  u.host + (u.port === undefined ? '' : ':' + u.port) +
  u.params.map((p) => (p.value === null ? `;${p.name}` : `;${p.name}=${p.value}`)).join('') +
  (u.headers.length === 0 ? '' : '?' + u.headers.map((h) => `${h.name}=${h.value}`).join('&')));

describe('escapeUser (RFC 3261 §25.1)', () => {
  test('keeps what a user part may hold and escapes the rest, as UTF-8', () => {
    assert.equal(escapeUser("+4930-12.3_4!~*'()&=+$,;?/"), "+4930-12.3_4!~*'()&=+$,;?/");
    assert.equal(escapeUser('204#1'), '204%231');
    assert.equal(escapeUser('a b@c:d%'), 'a%20b%40c%3Ad%25');
    assert.equal(escapeUser('Ж😀'), '%D0%96%F0%9F%98%80');
  });
  test('an escaped user parses, and decodes back to the text', () => {
    fc.assert(
      // Lone surrogates are not text UTF-8 can carry.
      fc.property(fc.string({ minLength: 1, maxLength: 20, unit: 'binary' }).filter((t) => !/[\uD800-\uDFFF]/.test(t)), (text) => {
        const uri = parseUri(`sip:${escapeUser(text)}@example.com`) as SipUri;
        assert.equal(decodeURIComponent(uri.user ?? ''), text);
      }),
      { numRuns: 300 },
    );
  });
});

describe('uriEquals (RFC 3261 §19.1.4)', () => {
  const equivalentSets = [
    ['sip:%61lice@atlanta.com;transport=TCP', 'sip:alice@AtLanTa.CoM;Transport=tcp'],
    ['sip:carol@chicago.com', 'sip:carol@chicago.com;newparam=5', 'sip:carol@chicago.com;security=on'],
    ['sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com', 'sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com'],
    ['sip:alice@atlanta.com?subject=project%20x&priority=urgent', 'sip:alice@atlanta.com?priority=urgent&subject=project%20x'],
  ];
  const nonEquivalentPairs: [string, string, string][] = [
    ['SIP:ALICE@AtLanTa.CoM;Transport=udp', 'sip:alice@AtLanTa.CoM;Transport=UDP', 'different usernames'],
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com:5060', 'can resolve to different ports'],
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com;transport=udp', 'can resolve to different transports'],
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com:6000;transport=tcp', 'can resolve to different port and transports'],
    ['sip:carol@chicago.com', 'sip:carol@chicago.com?Subject=next%20meeting', 'different header component'],
    ['sip:bob@phone21.boxesbybob.com', 'sip:bob@192.0.2.4', 'even though that is what phone21.boxesbybob.com resolves to'],
  ];

  test('the equivalent sets are equivalent, both ways', () => {
    for (const set of equivalentSets) {
      for (const a of set) for (const b of set) assert.ok(uriEquals(parseUri(a), parseUri(b)), `${a} == ${b}`);
    }
  });

  test('the non-equivalent pairs are not, both ways', () => {
    for (const [a, b, why] of nonEquivalentPairs) {
      assert.equal(uriEquals(parseUri(a), parseUri(b)), false, `${a} != ${b} (${why})`);
      assert.equal(uriEquals(parseUri(b), parseUri(a)), false, `${b} != ${a} (${why})`);
    }
  });

  test('equality is not transitive: security=on and security=off differ though both equal the bare URI', () => {
    const bare = parseUri('sip:carol@chicago.com');
    const on = parseUri('sip:carol@chicago.com;security=on');
    const off = parseUri('sip:carol@chicago.com;security=off');
    assert.ok(uriEquals(bare, on));
    assert.ok(uriEquals(bare, off));
    assert.equal(uriEquals(on, off), false);
  });

  test('the comparison rules behind the examples', () => {
    const same = (a: string, b: string): void => assert.ok(uriEquals(parseUri(a), parseUri(b)) && uriEquals(parseUri(b), parseUri(a)), `${a} == ${b}`);
    const differ = (a: string, b: string): void => {
      assert.equal(uriEquals(parseUri(a), parseUri(b)), false, `${a} != ${b}`);
      assert.equal(uriEquals(parseUri(b), parseUri(a)), false, `${b} != ${a}`);
    };
    differ('sip:alice@atlanta.com', 'sips:alice@atlanta.com'); // a SIP and a SIPS URI are never equivalent
    differ('sip:alice@atlanta.com', 'sip:Alice@atlanta.com'); // userinfo is case-sensitive
    differ('sip:alice:secret@atlanta.com', 'sip:alice:Secret@atlanta.com');
    differ('sip:alice:secret@atlanta.com', 'sip:alice@atlanta.com');
    differ('sip:atlanta.com', 'sip:alice@atlanta.com');
    same('sip:alice@atlanta.com;Transport=TCP', 'sip:alice@atlanta.com;transport=tcp');
    differ('sip:alice@atlanta.com;user=phone', 'sip:alice@atlanta.com'); // user, ttl and method never match when in one URI only
    differ('sip:alice@atlanta.com;ttl=1', 'sip:alice@atlanta.com');
    differ('sip:alice@atlanta.com;method=INVITE', 'sip:alice@atlanta.com');
    differ('sip:alice@atlanta.com;maddr=239.255.255.1', 'sip:alice@atlanta.com'); // nor does maddr
    differ('sip:alice@atlanta.com;lr', 'sip:alice@atlanta.com;lr=on');
    same('sip:alice@atlanta.com;lr', 'sip:alice@atlanta.com;x=1');
    differ('sip:alice@atlanta.com?a=1', 'sip:alice@atlanta.com?a=2');
    differ('sip:alice@atlanta.com?a=1', 'sip:alice@atlanta.com?a=1&b=2'); // header components are never ignored
    same('sip:alice@[2001:DB8::1]:5060', 'sip:alice@[2001:db8::1]:5060');
    same('tel:+1-201-555-0123', 'tel:+1.201.555.0123');
    differ('tel:+1-201-555-0123', 'tel:+1-201-555-0124');
    same('urn:x:y', 'URN:x:y');
    differ('sip:alice@atlanta.com', 'tel:+1-201-555-0123');
  });

  test("characters outside the reserved set equal their escapes; reserved ones do not (RFC 3261 §19.1.4 'reserved' rule)", () => {
    assert.ok(uriEquals(parseUri('sip:%61lice@atlanta.com'), parseUri('sip:alice@atlanta.com')));
    assert.ok(uriEquals(parseUri('sip:alice@atlanta.com;x=%61'), parseUri('sip:alice@atlanta.com;x=a')));
    // ';', '/', '?', ':', '@', '&', '=', '+', '$' and ',' mean something unescaped, so escaping them changes the URI.
    assert.equal(uriEquals(parseUri('sip:a%3Bb@atlanta.com'), parseUri('sip:a;b@atlanta.com')), false, '%3B is not ;');
    assert.equal(uriEquals(parseUri('sip:a%2Bb@atlanta.com'), parseUri('sip:a+b@atlanta.com')), false, '%2B is not +');
    assert.equal(uriEquals(parseUri('sip:a%2Fb@atlanta.com'), parseUri('sip:a/b@atlanta.com')), false, '%2F is not /');
  });

  test('reflexive for every URI above', () => {
    for (const text of [...equivalentSets.flat(), ...nonEquivalentPairs.flatMap(([a, b]) => [a, b]), ...texts()]) {
      assert.ok(uriEquals(parseUri(text), parseUri(text)), text);
    }
  });
});

function texts(): string[] {
  return ['tel:7042;phone-context=example.com', 'urn:service:sos', 'sip:[2001:db8::10]:5070', "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com"];
}

describe('splitSimpleParams', () => {
  const name = fc.constantFrom('tag', 'lr', 'Transport', 'transport', 'BRANCH', 'branch', 'x-a');
  const value = fc.option(fc.constantFrom('', 'udp', 'z9hG4bK.1', 'A=b', 'x'), { nil: null });
  const pairs = fc.array(fc.tuple(name, value), { minLength: 1, maxLength: 5 });

  test('gives the parameters a Map of the same pairs gives: order of first appearance, last value, names in lower case', () => {
    fc.assert(fc.property(pairs, fc.constantFrom('', 'sip:h', '<x>'), (list, prefix) => {
      const text = prefix + list.map(([n, v]) => (v === null ? `;${n}` : `;${n}=${v}`)).join('') + (prefix === '' ? '' : '>');
      const params = splitSimpleParams(text, prefix.length, text.length - (prefix === '' ? 0 : 1));
      assert.ok(params instanceof ParamList);
      assert.deepStrictEqual([...params], [...new Map(list.map(([n, v]) => [n.toLowerCase(), v]))]);
    }), { numRuns: 2000 });
  });

  test('an empty range has no parameters', () => {
    assert.equal(splitSimpleParams('sip:h', 5).size, 0);
  });
});
