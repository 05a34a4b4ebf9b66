/**
 * RFC 4475 torture messages, judged by the RFC's own verdicts (the shared corpus README maps each file to its
 * section). Valid messages must parse and survive a serialize/parse round trip; invalid ones must be refused with
 * the status the RFC asks for, by the parser or by validateRequest; nothing may throw anything but SipParseError.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { SipParseError } from '../errors.js';
import { rfc4475Dir } from '../test-support/paths.js';
import { parseMessage } from './parse-message.js';
import { SipRequest, SipResponse, type SipMessage } from './sip-message.js';
import { unescapeUriPart, type SipUri } from './uri.js';
import { validateRequest } from './validate-request.js';

type Verdict =
  | { kind: 'valid'; validate?: number } // parses; validateRequest gives null, or this status
  | { kind: 'parse-error'; status: number } // parser refuses with this status
  | { kind: 'discard' }; // an invalid response: the parser refuses it, no answer goes out

const ORACLE: Record<string, Verdict> = {
  'TC_WSINV.dat': { kind: 'valid' }, // 3.1.1.1
  'TC_INTMETH.dat': { kind: 'valid', validate: 501 }, // 3.1.1.2: unknown method
  'TC_ESC01_V.dat': { kind: 'valid' }, // 3.1.1.3
  'TC_ESCNULL_V.dat': { kind: 'valid' }, // 3.1.1.4
  'TC_ESC02_V.dat': { kind: 'valid', validate: 501 }, // 3.1.1.5: RE%47IST%45R is not REGISTER
  'TC_LWSDISP_V.dat': { kind: 'valid' }, // 3.1.1.6
  'TC_LONGREQ_V.dat': { kind: 'valid' }, // 3.1.1.7
  'TC_DBLREQ.dat': { kind: 'valid' }, // 3.1.1.8
  'TC_SEMIURI_V.dat': { kind: 'valid' }, // 3.1.1.9
  'TC_TRANSPORTS_V.dat': { kind: 'valid' }, // 3.1.1.10
  'TC_MPART01.dat': { kind: 'valid', validate: 415 }, // 3.1.1.11: parses; a UAS that only speaks SDP answers 415
  'TC_UNREASON_V.dat': { kind: 'valid' }, // 3.1.1.12
  'TC_NOREASON_V.dat': { kind: 'valid' }, // 3.1.1.13
  'TC_BADINV01_I.dat': { kind: 'parse-error', status: 400 }, // 3.1.2.1
  'TC_CLERR_I.dat': { kind: 'parse-error', status: 400 }, // 3.1.2.2
  'TC_NCL_I.dat': { kind: 'parse-error', status: 400 }, // 3.1.2.3
  'TC_SCALAR02_V.dat': { kind: 'parse-error', status: 400 }, // 3.1.2.4
  'TC_SCALARLG_V.dat': { kind: 'discard' }, // 3.1.2.5
  'TC_QUOTBAL_I.dat': { kind: 'parse-error', status: 400 }, // 3.1.2.6
  'TC_LTGTRURI_I.dat': { kind: 'parse-error', status: 400 }, // 3.1.2.7
  'TC_LWSRURI_I.dat': { kind: 'parse-error', status: 400 }, // 3.1.2.8
  'TC_LWSSTART_V.dat': { kind: 'parse-error', status: 400 }, // 3.1.2.9
  'TC_TRWS_I.dat': { kind: 'parse-error', status: 400 }, // 3.1.2.10
  'TC_ESCRURI_V.dat': { kind: 'parse-error', status: 400 }, // 3.1.2.11
  'TC_BADDATE_V.dat': { kind: 'parse-error', status: 400 }, // 3.1.2.12
  'TC_REGBADCT_I.dat': { kind: 'parse-error', status: 400 }, // 3.1.2.13
  'TC_BADASPEC_I.dat': { kind: 'parse-error', status: 400 }, // 3.1.2.14
  'TC_BADDN_I.dat': { kind: 'parse-error', status: 400 }, // 3.1.2.15
  'TC_BADVERS_V.dat': { kind: 'parse-error', status: 505 }, // 3.1.2.16
  'TC_MISMATCH01_V.dat': { kind: 'valid', validate: 400 }, // 3.1.2.17
  'TC_MISMATCH02_V.dat': { kind: 'valid', validate: 400 }, // 3.1.2.18
  'TC_BIGCODE_V.dat': { kind: 'discard' }, // 3.1.2.19
  'TC_BADBRANCH_V.dat': { kind: 'valid' }, // 3.2.1
  'TC_INSUF_I.dat': { kind: 'valid', validate: 400 }, // 3.3.1
  'TC_UNKSCM_V.dat': { kind: 'valid', validate: 416 }, // 3.3.2
  'TC_NOVELSC_V.dat': { kind: 'valid', validate: 416 }, // 3.3.3
  'TC_UNKSM2_V.dat': { kind: 'valid' }, // 3.3.4
  'TC_BEXT01_V.dat': { kind: 'valid', validate: 420 }, // 3.3.5
  'TC_INVUT_V.dat': { kind: 'valid', validate: 415 }, // 3.3.6
  'TC_REGAUT01_V.dat': { kind: 'valid' }, // 3.3.7: the registrar challenges (auth tests cover the 401)
  'TC_MULTI01_I.dat': { kind: 'valid', validate: 400 }, // 3.3.8
  'TC_MCL01_I.dat': { kind: 'parse-error', status: 400 }, // 3.3.9: framing is ambiguous, refuse before anything reads the body
  'TC_BCAST_V.dat': { kind: 'valid' }, // 3.3.10
  'TC_ZEROMF_V.dat': { kind: 'valid' }, // 3.3.11 (as a UAS)
  'TC_CPARAM01_V.dat': { kind: 'valid' }, // 3.3.12
  'TC_CPARAM02_V.dat': { kind: 'valid' }, // 3.3.13
  'TC_REGESCRT_V.dat': { kind: 'valid' }, // 3.3.14
  'TC_SDP01_V.dat': { kind: 'valid', validate: 406 }, // 3.3.15
  'TC_INV2543_I.dat': { kind: 'valid' }, // 3.4.1
  'TC_TEST_I.dat': { kind: 'parse-error', status: 400 }, // not RFC 4475
};

function load(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(rfc4475Dir, name)));
}

function parseOutcome(data: Uint8Array): { message?: SipRequest | SipResponse; error?: SipParseError } {
  try {
    return { message: parseMessage(data) };
  } catch (error) {
    if (error instanceof SipParseError) return { error };
    throw error;
  }
}

/** What makes two messages equivalent: start line, every header's name and text in order, the body bytes. */
function shape(message: SipMessage): unknown {
  return {
    start: message.startLine(),
    headers: message.headers.filter((field) => field.key !== 'content-length').map((field) => [field.name, field.value]),
    body: Array.from(message.body),
  };
}

describe('RFC 4475 torture messages', () => {
  const files = readdirSync(rfc4475Dir).filter((name) => name.endsWith('.dat')).sort();

  test('the corpus has the 50 messages the oracle covers', () => {
    assert.equal(files.length, 50);
    assert.deepEqual(files, Object.keys(ORACLE).sort());
  });

  for (const file of files) {
    const verdict = ORACLE[file]!;
    test(`${file}: ${verdict.kind}${'status' in verdict ? ' ' + verdict.status : ''}${'validate' in verdict && verdict.validate ? ' → ' + verdict.validate : ''}`, () => {
      const data = load(file);
      const { message, error } = parseOutcome(data);
      if (verdict.kind === 'parse-error') {
        assert.ok(error, `expected the parser to refuse ${file}`);
        assert.equal(error.status, verdict.status, error.message);
        return;
      }
      if (verdict.kind === 'discard') {
        assert.ok(error, `expected the parser to refuse the response in ${file}`);
        assert.ok(data[0] === 0x53 /* S of SIP/2.0 */, 'the discarded ones are responses');
        return;
      }
      assert.ok(message, `expected ${file} to parse, got: ${error?.message}`);
      const expected = verdict.validate ?? null;
      const actual = message instanceof SipRequest ? validateRequest(message)?.status ?? null : null;
      assert.equal(actual, expected);
      const again = parseMessage(message.serialize());
      assert.deepEqual(shape(again), shape(message), 'serialize → parse must give an equivalent message');
      assert.deepEqual(again.serialize(), message.serialize(), 'serialization is a fixed point');
    });
  }

  test('3.1.1.1: folded, oddly spaced headers are read correctly', () => {
    const message = parseMessage(load('TC_WSINV.dat')) as SipRequest;
    assert.equal(message.maxForwards, 68);
    assert.deepEqual(message.cseq, { seq: 9, method: 'INVITE' });
    assert.equal(message.from?.displayName, 'J Rosenberg \\"');
    assert.equal(message.from?.params.get('tag'), '98asjd8');
    assert.equal(message.to?.params.get('tag'), '1918181833n');
    assert.deepEqual(message.vias.map((via) => [via.transport, via.host, via.params.get('branch')]), [
      ['UDP', '192.0.2.2', '390skdjuw'],
      ['TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
      ['UDP', '192.168.255.111', 'z9hG4bK30239'],
    ]);
    assert.equal(message.get('NewFangledHeader'), 'newfangled value continued newfangled value');
    assert.equal(message.get('Subject'), '');
    assert.equal(message.contacts.length, 1);
    assert.equal(message.body.length, 150);
  });

  test('3.1.1.3: escaped user parts compare equal to unescaped ones', () => {
    const message = parseMessage(load('TC_ESC01_V.dat')) as SipRequest;
    assert.equal(unescapeUriPart((message.uri as SipUri).user!), 'sips:user@example.com');
  });

  test('3.1.1.8: the second request in a datagram is discarded', () => {
    const message = parseMessage(load('TC_DBLREQ.dat')) as SipRequest;
    assert.equal(message.method, 'REGISTER');
    assert.equal(message.body.length, 0);
  });

  test('3.1.1.9: semicolons belong to the user part', () => {
    const message = parseMessage(load('TC_SEMIURI_V.dat')) as SipRequest;
    const uri = message.uri as SipUri;
    assert.equal(uri.user, 'user;par=u%40example.net');
    assert.equal(uri.host, 'example.com');
  });

  test('3.1.1.11: a binary multipart body is kept byte for byte', () => {
    const data = load('TC_MPART01.dat');
    const message = parseMessage(data);
    const length = message.parsed('content-length')!;
    assert.equal(message.body.length, length);
    assert.deepEqual(Array.from(message.body), Array.from(data.subarray(data.length - length)));
    assert.ok(message.body.includes(0), 'the body holds NUL bytes');
  });

  test('3.1.1.13 and 3.1.1.12: reason phrases, empty or unusual, are kept', () => {
    assert.equal((parseMessage(load('TC_NOREASON_V.dat')) as SipResponse).reason, '');
    const unusual = parseMessage(load('TC_UNREASON_V.dat')) as SipResponse;
    assert.equal(unusual.status, 200);
    assert.match(unusual.reason, /простое/);
  });

  test('3.3.5: the 420 lists the unsupported option tags', () => {
    const verdict = validateRequest(parseMessage(load('TC_BEXT01_V.dat')) as SipRequest);
    assert.equal(verdict?.status, 420);
    assert.deepEqual(verdict?.headers, [['Unsupported', 'nothingSupportsThis, nothingSupportsThisEither']]);
  });

  test('3.3.6: the 415 says what is accepted', () => {
    const verdict = validateRequest(parseMessage(load('TC_INVUT_V.dat')) as SipRequest);
    assert.deepEqual(verdict?.headers, [['Accept', 'application/sdp']]);
  });

  test('body types may be set per method: a NOTIFY takes a sipfrag, an INVITE with one still gets 415', () => {
    const options = { acceptedContentTypesOf: { NOTIFY: ['message/sipfrag'] } };
    const withBody = (method: string, type: string) =>
      parseMessage(`${method} sip:a@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK-1\r\nMax-Forwards: 70\r\nFrom: <sip:b@192.0.2.2>;tag=1\r\nTo: <sip:a@192.0.2.1>;tag=2\r\nCall-ID: c1\r\nCSeq: 2 ${method}\r\nContent-Type: ${type}\r\nContent-Length: 18\r\n\r\nSIP/2.0 200 OK\r\n\r\n`) as SipRequest;
    assert.equal(validateRequest(withBody('NOTIFY', 'message/sipfrag'), options), null);
    assert.deepEqual(validateRequest(withBody('NOTIFY', 'application/sdp'), options)?.headers, [['Accept', 'message/sipfrag']]);
    assert.equal(validateRequest(withBody('INVITE', 'message/sipfrag'), options)?.status, 415);
    assert.equal(validateRequest(withBody('NOTIFY', 'message/sipfrag'))?.status, 415, 'not without the option');
  });

  test('3.3.11: Max-Forwards 0 is answered by a UAS, refused with 483 by a proxy', () => {
    const request = parseMessage(load('TC_ZEROMF_V.dat')) as SipRequest;
    assert.equal(validateRequest(request, { role: 'uas' }), null);
    assert.equal(validateRequest(request, { role: 'proxy' })?.status, 483);
  });

  test('3.4.1: RFC 2543 syntax is accepted, body read to the end of the datagram', () => {
    const message = parseMessage(load('TC_INV2543_I.dat')) as SipRequest;
    assert.equal(message.to?.params.get('user'), 'phone', 'in addr-spec form, ;user=phone belongs to the header');
    assert.ok(message.bodyText.startsWith('v=0'));
  });
});
