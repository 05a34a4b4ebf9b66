// The gateway's SIP listener under the RFC 4475 torture messages, over the wire: the real gateway (demo config, SQLite,
// HTTP and SIP on free loopback ports) gets each of the 50 messages of ../shared/conformance/rfc4475 byte for byte in
// a UDP datagram of its own, and must answer as the RFC section for that message asks: 400/505 from the transport for
// what does not parse, 400/416/420/415/406/501 from the user agent's RFC 3261 §8.2 checks, the ordinary answer for a
// valid request, nothing at all for a response. OPTIONS over UDP and TCP is answered before and after.
//
// Where answers go: the stack sends every response back to the address the request came from (RFC 3581's symmetric
// response, applied whether or not the Via asks for rport). The torture Vias name hosts that do not exist here
// (example.com, 192.0.2.x); strict RFC 3261 §18.2.2 routing would send most answers to 127.0.0.1:5060, a port this
// suite must not bind in a namespace other suites share. Each message therefore goes out from a socket of its own,
// and whatever comes back to that socket is its answer.
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startGateway, type StartedGateway } from './support/gateway.js';
import { assertPrivateNetns } from './support/netns.js';
import { LOOPBACK, sipOptionsPing } from './support/ports.js';
import { REPO_ROOT } from './support/processes.js';

const suite = 'gateway-sip';
const CORPUS = join(process.env.SWITCHBOARD_SHARED ?? join(REPO_ROOT, '../shared'), 'conformance/rfc4475');

/** An answer arrives within milliseconds on loopback; this only bounds a broken run. */
const ANSWER_TIMEOUT_MS = 3000;
/** After the first final response, how long a second, different one (a second request in one datagram) may take. */
const SETTLE_MS = 300;
/** How long a message that must get no answer is watched. */
const QUIET_MS = 1000;

type Verdict =
  | {
      /** The final status the gateway must send, and headers that answer must carry. */
      answer: number;
      headers?: Record<string, RegExp>;
      why: string;
    }
  | {
      /** No answer; the gateway log shows the message arrived and was dropped, by the transport or the transactions. */
      answer: 'none';
      dropped: 'invalid SIP input' | 'stray SIP response dropped';
      why: string;
    };

interface Entry {
  section: string;
  verdict: Verdict;
  /**
   * Same branch, sent-by and method as this earlier message: to an RFC 3261 server it is a retransmission of that
   * request (§17.2.3), answered with that transaction's last response (§17.2.2) while it lives (32 s over UDP). Such
   * a message is sent right after that one, and once more to a fresh gateway for its own verdict. A REGISTER is
   * the exception: the registrar serves it statelessly (§8.2.7), so it gets its own answer either way.
   */
  sameTransactionAs?: string;
}

const OPTIONS_OK = { Allow: /\bINVITE\b/ };
const ACCEPT_SDP = { Accept: /^application\/sdp$/ };
// Every torture request addresses a domain this gateway does not serve (example.com, example.org, ...): a valid
// INVITE or MESSAGE there is answered 404 (RFC 3261 §21.4.5), and an OPTIONS 200, as the listener answers
// keep-alive probes. A valid REGISTER goes to the gateway's registrar, which takes any host and challenges before
// anything that depends on the account (so whether j.user exists is never told): 401 with an MD5 digest challenge.
const NOT_HERE = 'valid; processed normally: 404, the domain is not one the gateway serves';
const PROBE = 'valid; processed normally: OPTIONS answered 200';
const CHALLENGED = 'valid REGISTER; processed normally: the registrar challenges it, 401';
const CHALLENGE = { 'WWW-Authenticate': /^Digest realm="switchboard", nonce="[0-9a-f]{72}", algorithm=MD5, qop="auth"$/ };

const TABLE: Record<string, Entry> = {
  'TC_WSINV.dat': { section: '3.1.1.1', verdict: { answer: 481, why: 'read whole (folding, odd whitespace, escaped quotes); its To has a tag, so it is a re-INVITE of a dialog the gateway does not have (RFC 3261 §12.2.2)' } },
  'TC_INTMETH.dat': { section: '3.1.1.2', verdict: { answer: 501, why: 'valid syntax, unknown method: an endpoint answers 501' } },
  'TC_ESC01_V.dat': { section: '3.1.1.3', verdict: { answer: 404, why: NOT_HERE } },
  'TC_ESCNULL_V.dat': { section: '3.1.1.4', verdict: { answer: 401, headers: CHALLENGE, why: `${CHALLENGED} (escaped NULs in URIs read)` } },
  'TC_ESC02_V.dat': { section: '3.1.1.5', verdict: { answer: 501, why: 'RE%47IST%45R is not REGISTER (no escapes in a method): unknown method, 501' } },
  'TC_LWSDISP_V.dat': { section: '3.1.1.6', verdict: { answer: 200, headers: OPTIONS_OK, why: PROBE } },
  'TC_LONGREQ_V.dat': { section: '3.1.1.7', verdict: { answer: 404, why: `${NOT_HERE} (very long header values read)` } },
  'TC_DBLREQ.dat': {
    section: '3.1.1.8',
    verdict: { answer: 401, headers: CHALLENGE, why: `${CHALLENGED}; the INVITE after the REGISTER's Content-Length is noise (§18.3): no second answer` },
  },
  'TC_SEMIURI_V.dat': { section: '3.1.1.9', verdict: { answer: 200, headers: OPTIONS_OK, why: PROBE } },
  'TC_TRANSPORTS_V.dat': { section: '3.1.1.10', verdict: { answer: 200, headers: OPTIONS_OK, why: `${PROBE} (unknown transports in Via)` } },
  'TC_MPART01.dat': {
    section: '3.1.1.11',
    verdict: { answer: 415, headers: ACCEPT_SDP, why: 'valid MESSAGE, multipart body; a UAS that reads only SDP answers 415 with Accept (§8.2.3)' },
  },
  'TC_UNREASON_V.dat': { section: '3.1.1.12', verdict: { answer: 'none', dropped: 'stray SIP response dropped', why: 'valid response, no transaction of ours: dropped' } },
  'TC_NOREASON_V.dat': { section: '3.1.1.13', verdict: { answer: 'none', dropped: 'stray SIP response dropped', why: 'valid response, no transaction of ours: dropped' } },
  'TC_BADINV01_I.dat': { section: '3.1.2.1', verdict: { answer: 400, why: 'extraneous ; and , in Via and Contact: 400' } },
  'TC_CLERR_I.dat': { section: '3.1.2.2', verdict: { answer: 400, why: 'Content-Length larger than the datagram: 400' } },
  'TC_NCL_I.dat': { section: '3.1.2.3', verdict: { answer: 400, why: 'negative Content-Length: 400' } },
  'TC_SCALAR02_V.dat': { section: '3.1.2.4', verdict: { answer: 400, why: 'CSeq number beyond 2**31: 400' } },
  'TC_SCALARLG_V.dat': { section: '3.1.2.5', verdict: { answer: 'none', dropped: 'invalid SIP input', why: 'response with overlarge scalars: discarded' } },
  'TC_QUOTBAL_I.dat': { section: '3.1.2.6', verdict: { answer: 400, why: 'unterminated quoted string: 400' } },
  'TC_LTGTRURI_I.dat': { section: '3.1.2.7', verdict: { answer: 400, why: 'Request-URI in <>: 400' } },
  'TC_LWSRURI_I.dat': { section: '3.1.2.8', verdict: { answer: 400, why: 'LWS inside the Request-URI: 400' } },
  'TC_LWSSTART_V.dat': { section: '3.1.2.9', verdict: { answer: 400, why: 'several SP between request-line elements: 400' } },
  'TC_TRWS_I.dat': { section: '3.1.2.10', verdict: { answer: 400, why: 'SP after the SIP-Version: 400' } },
  'TC_ESCRURI_V.dat': { section: '3.1.2.11', verdict: { answer: 400, why: 'escaped headers in the Request-URI: 400' } },
  'TC_BADDATE_V.dat': {
    section: '3.1.2.12',
    verdict: { answer: 400, why: 'non-GMT Date: the RFC lets an element reject it (400) or ignore the Date; this stack rejects it' },
  },
  'TC_REGBADCT_I.dat': { section: '3.1.2.13', verdict: { answer: 400, why: 'Contact URI with parameters outside <>: 400' } },
  'TC_BADASPEC_I.dat': { section: '3.1.2.14', verdict: { answer: 400, why: 'spaces inside addr-spec: 400' } },
  'TC_BADDN_I.dat': { section: '3.1.2.15', verdict: { answer: 400, why: 'non-token characters in an unquoted display name: 400' } },
  'TC_BADVERS_V.dat': { section: '3.1.2.16', verdict: { answer: 505, why: 'SIP/7.0: 505' } },
  'TC_MISMATCH01_V.dat': { section: '3.1.2.17', verdict: { answer: 400, why: 'start-line method differs from the CSeq method: 400' } },
  'TC_MISMATCH02_V.dat': {
    section: '3.1.2.18',
    verdict: { answer: 400, why: 'unknown method and a different CSeq method: the RFC prefers 501 and accepts 400; the CSeq check comes first here' },
  },
  'TC_BIGCODE_V.dat': { section: '3.1.2.19', verdict: { answer: 'none', dropped: 'invalid SIP input', why: 'response with status code > 699: discarded' } },
  'TC_BADBRANCH_V.dat': {
    section: '3.2.1',
    verdict: { answer: 200, headers: OPTIONS_OK, why: `${PROBE}; branch without the magic cookie matched the RFC 2543 way (the RFC allows that or 400)` },
  },
  'TC_INSUF_I.dat': { section: '3.3.1', verdict: { answer: 400, why: 'To, From, Call-ID missing: 400' } },
  'TC_UNKSCM_V.dat': { section: '3.3.2', verdict: { answer: 416, why: 'unknown Request-URI scheme: 416' }, sameTransactionAs: 'TC_NOVELSC_V.dat' },
  'TC_NOVELSC_V.dat': { section: '3.3.3', verdict: { answer: 416, why: 'soap.beep Request-URI, not supported: 416' } },
  'TC_UNKSM2_V.dat': {
    section: '3.3.4',
    verdict: { answer: 400, why: 'parses; unknown schemes in To/From are no reason to refuse a request, but a registrar needs a SIP AOR in To: 400' },
  },
  'TC_BEXT01_V.dat': {
    section: '3.3.5',
    verdict: { answer: 420, headers: { Unsupported: /^nothingSupportsThis, nothingSupportsThisEither$/ }, why: 'unsupported Require: 420 listing them in Unsupported' },
  },
  'TC_INVUT_V.dat': { section: '3.3.6', verdict: { answer: 415, headers: ACCEPT_SDP, why: 'unknown Content-Type at a UAS: 415 with Accept' } },
  'TC_REGAUT01_V.dat': {
    section: '3.3.7',
    verdict: { answer: 401, headers: CHALLENGE, why: `${CHALLENGED}; an unknown Authorization scheme is no reason for 400, it is answered with a Digest challenge` },
  },
  'TC_MULTI01_I.dat': { section: '3.3.8', verdict: { answer: 400, why: 'several values in single-value headers: 400' } },
  'TC_MCL01_I.dat': { section: '3.3.9', verdict: { answer: 400, why: 'several Content-Length values: 400' } },
  'TC_BCAST_V.dat': {
    section: '3.3.10',
    verdict: { answer: 'none', dropped: 'stray SIP response dropped', why: 'response with a broadcast Via: dropped, so nothing goes to any broadcast address' },
  },
  'TC_ZEROMF_V.dat': { section: '3.3.11', verdict: { answer: 200, headers: OPTIONS_OK, why: 'Max-Forwards 0 at a UAS (not a proxy): answered, 200' } },
  'TC_CPARAM01_V.dat': { section: '3.3.12', verdict: { answer: 401, headers: CHALLENGE, why: `${CHALLENGED} (Contact parameters read)` } },
  'TC_CPARAM02_V.dat': {
    section: '3.3.13',
    verdict: { answer: 401, headers: CHALLENGE, why: `${CHALLENGED} (url-parameter in Contact read)` },
    sameTransactionAs: 'TC_CPARAM01_V.dat',
  },
  'TC_REGESCRT_V.dat': {
    section: '3.3.14',
    verdict: { answer: 401, headers: CHALLENGE, why: `${CHALLENGED} (escaped header in the Contact URI read)` },
    sameTransactionAs: 'TC_ESCNULL_V.dat',
  },
  'TC_SDP01_V.dat': { section: '3.3.15', verdict: { answer: 406, why: 'Accept lists nothing the UAS could answer with: 406' } },
  'TC_INV2543_I.dat': { section: '3.4.1', verdict: { answer: 404, why: `${NOT_HERE} (RFC 2543 syntax accepted)` } },
  'TC_TEST_I.dat': {
    section: '-',
    verdict: { answer: 'none', dropped: 'invalid SIP input', why: 'not RFC 4475; no SIP-Version and no Via to answer by: rejected by discarding' },
  },
};

interface Answer {
  status: number | undefined;
  text: string;
}

function head(text: string): string {
  const end = text.indexOf('\r\n\r\n');
  return end === -1 ? text : text.slice(0, end);
}

/** The first line of a header's first value in a head, by full or compact name (no torture Call-ID or CSeq folds but WSINV's CSeq). */
function headerIn(text: string, name: string, compact?: string): string | undefined {
  const names = compact === undefined ? name : `${name}|${compact}`;
  const match = new RegExp(`^(?:${names})[ \\t]*:[ \\t]*(.*?)[ \\t]*$`, 'im').exec(head(text));
  return match?.[1];
}

const callIdOf = (text: string): string | undefined => headerIn(text, 'Call-ID', 'i');
const cseqOf = (text: string): string | undefined => headerIn(text, 'CSeq');

/** What the gateway sent back for one message (growing while the socket is open), and the port it was sent from. */
interface Exchange {
  port: number;
  answers: Answer[];
}

const finalsOf = (answers: readonly Answer[]): Answer[] => answers.filter((answer) => answer.status !== undefined && answer.status >= 200);

const sockets: Socket[] = [];

/**
 * Sends `data` in one datagram from a fresh socket and collects what comes back: until a final response and a short
 * settling time when one is expected, for the whole quiet period otherwise. The socket stays open until the suite
 * ends, so the retransmissions of an unacknowledged answer to an INVITE land somewhere.
 */
async function exchange(data: Uint8Array, target: { host: string; port: number }, expectAnswer: boolean): Promise<Exchange> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  const answers: Answer[] = [];
  let onFinal: (() => void) | undefined;
  socket.on('message', (message) => {
    const text = message.toString('latin1');
    const status = /^SIP\/2\.0 (\d{3}) /.exec(text)?.[1];
    answers.push({ status: status === undefined ? undefined : Number(status), text });
    if (status !== undefined && Number(status) >= 200) onFinal?.();
  });
  await new Promise<void>((resolve) => socket.bind(0, LOOPBACK, () => resolve()));
  const finalSeen = new Promise<void>((resolve) => (onFinal = resolve));
  await new Promise<void>((resolve, reject) => socket.send(data, target.port, target.host, (error) => (error ? reject(error) : resolve())));
  if (expectAnswer) {
    await Promise.race([finalSeen, sleep(ANSWER_TIMEOUT_MS)]);
    await sleep(SETTLE_MS);
  } else {
    await sleep(QUIET_MS);
  }
  return { port: socket.address().port, answers };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function load(file: string): Uint8Array {
  return new Uint8Array(readFileSync(join(CORPUS, file)));
}

function isRegister(file: string): boolean {
  return Buffer.from(load(file).subarray(0, 9)).toString('latin1') === 'REGISTER ';
}

/** Retransmissions repeat the answer byte for byte; anything else is a second answer. */
function distinct(answers: readonly Answer[]): Answer[] {
  const seen = new Map<string, Answer>();
  for (const answer of answers) seen.set(answer.text, answer);
  return [...seen.values()];
}

function describeAnswers(answers: readonly Answer[]): string {
  return answers.length === 0 ? 'nothing' : answers.map((answer) => JSON.stringify(answer.text.split('\r\n')[0])).join(', ');
}

function assertVerdict(gateway: StartedGateway, file: string, exchanged: Exchange, verdict: Verdict): void {
  if (verdict.answer === 'none') {
    assert.deepEqual(exchanged.answers.map((answer) => answer.text.split('\r\n')[0]), [], `${file} must get no answer`);
    const logged = gateway.logEntries().some((entry) => {
      const source = entry['source'] as { port?: number } | undefined;
      return entry['msg'] === verdict.dropped && source?.port === exchanged.port;
    });
    assert.ok(logged, `the gateway log must show ${file} arrived and was dropped ("${verdict.dropped}" from port ${exchanged.port})`);
    return;
  }
  const finals = distinct(finalsOf(exchanged.answers));
  assert.equal(finals.length, 1, `${file} must get exactly one final answer, got ${describeAnswers(finals)}`);
  const answer = finals[0]!;
  assert.equal(answer.status, verdict.answer, `${file}: ${answer.text.split('\r\n')[0]}`);
  // The answer is tied to its request by what §8.2.6.2 has it copy. A CSeq the parser refuses (SCALAR02's) or one
  // folded over two lines (WSINV's) is not compared: the first is left out of the answer, the second rewritten.
  const request = Buffer.from(load(file)).toString('latin1');
  assert.equal(callIdOf(answer.text), callIdOf(request), `${file}: the answer must carry the request's Call-ID`);
  const requestCseq = cseqOf(request);
  if (requestCseq !== undefined && /^\d{1,10}\s+\S+$/.test(requestCseq)) {
    assert.equal(cseqOf(answer.text)?.replace(/\s+/g, ' '), requestCseq.replace(/\s+/g, ' '), `${file}: the answer must carry the request's CSeq`);
  }
  for (const [name, pattern] of Object.entries(verdict.headers ?? {})) {
    assert.match(headerIn(answer.text, name) ?? '', pattern, `${file}: ${name} in the ${answer.status}`);
  }
}

function corpusFiles(): string[] {
  return readdirSync(CORPUS).filter((name) => name.endsWith('.dat')).sort();
}

/** The corpus in name order, each retransmission-in-disguise moved right behind the request it shares a transaction with. */
function sendingOrder(): string[] {
  const files = corpusFiles().filter((file) => TABLE[file]?.sameTransactionAs === undefined);
  for (const [file, entry] of Object.entries(TABLE)) {
    if (entry.sameTransactionAs === undefined) continue;
    files.splice(files.indexOf(entry.sameTransactionAs) + 1, 0, file);
  }
  return files;
}

function label(file: string, entry: Entry): string {
  const verdict = entry.verdict;
  return `§${entry.section} ${file}: ${verdict.answer === 'none' ? 'dropped' : verdict.answer} (${verdict.why})`;
}

/** What each message got on a gateway that had not seen its transaction before: a status, or `dropped`. */
const observed = new Map<string, string>();

function outcome(exchanged: Exchange): string {
  return distinct(finalsOf(exchanged.answers)).map((answer) => String(answer.status)).join('+') || 'dropped';
}

after(() => {
  for (const socket of sockets) socket.close();
});

describe('the gateway SIP listener answers the RFC 4475 torture messages over UDP', { timeout: 180_000 }, () => {
  let gateway: StartedGateway;
  const exchanges = new Map<string, Exchange>();

  before(async () => {
    assertPrivateNetns();
    gateway = await startGateway({ suite });
  });

  after(async () => {
    await gateway?.close();
  });

  test('the corpus holds the 50 messages of the table, each small enough for one UDP datagram', () => {
    const files = corpusFiles();
    assert.equal(files.length, 50);
    assert.deepEqual(files, Object.keys(TABLE).sort());
    for (const file of files) assert.ok(load(file).length <= 65507, `${file} fits in a UDP datagram`);
  });

  for (const protocol of ['udp', 'tcp'] as const) {
    test(`OPTIONS over ${protocol.toUpperCase()} is answered 200 before the torture`, async () => {
      assert.equal(await sipOptionsPing(gateway.sip[protocol].port, { transport: protocol, timeoutMs: ANSWER_TIMEOUT_MS }), 200);
    });
  }

  for (const file of sendingOrder()) {
    const entry = TABLE[file]!;
    const earlier = entry.sameTransactionAs;
    if (earlier === undefined) {
      test(label(file, entry), async () => {
        const exchanged = await exchange(load(file), gateway.sip.udp, entry.verdict.answer !== 'none');
        exchanges.set(file, exchanged);
        observed.set(file, outcome(exchanged));
        assertVerdict(gateway, file, exchanged, entry.verdict);
      });
      continue;
    }
    if (isRegister(file)) {
      test(`§${entry.section} ${file}: the registrar keeps no transaction (§8.2.7), so it is answered on its own, ${earlier}'s sender hears nothing more`, async () => {
        const first = exchanges.get(earlier);
        assert.ok(first, `${earlier} was sent just before`);
        const before = first.answers.length;
        const exchanged = await exchange(load(file), gateway.sip.udp, true);
        assertVerdict(gateway, file, exchanged, entry.verdict);
        assert.equal(first.answers.length, before, `nothing more goes to ${earlier}'s sender`);
      });
      continue;
    }
    // §17.2.2: the transaction resends its final response, to where its responses go: the first request's source.
    test(`§${entry.section} ${file}: taken for a retransmission of ${earlier}, whose answer goes out again to ${earlier}'s sender`, async () => {
      const first = exchanges.get(earlier);
      assert.ok(first, `${earlier} was sent just before`);
      const [answer] = finalsOf(first.answers);
      assert.ok(answer, `${earlier} was answered`);
      const before = first.answers.length;
      const exchanged = await exchange(load(file), gateway.sip.udp, false);
      assert.deepEqual(exchanged.answers.map((again) => again.text.split('\r\n')[0]), [], `nothing goes to ${file}'s own sender`);
      const again = first.answers.slice(before);
      assert.equal(again.length, 1, `${earlier}'s sender gets its answer once more`);
      assert.equal(again[0]!.text, answer.text, `the answer to ${earlier}, byte for byte`);
    });
  }

  test('nothing in the torture made the gateway log an error', () => {
    const errors = gateway.logEntries().filter((entry) => typeof entry['level'] === 'number' && entry['level'] >= 50);
    assert.deepEqual(errors.map((entry) => entry['msg']), []);
  });

  for (const protocol of ['udp', 'tcp'] as const) {
    test(`OPTIONS over ${protocol.toUpperCase()} is still answered 200 after the torture`, async () => {
      assert.equal(await sipOptionsPing(gateway.sip[protocol].port, { transport: protocol, timeoutMs: ANSWER_TIMEOUT_MS }), 200);
    });
  }
});

describe('messages sharing a transaction with an earlier one, answered on their own by a fresh gateway', { timeout: 60_000 }, () => {
  let gateway: StartedGateway;

  before(async () => {
    assertPrivateNetns();
    gateway = await startGateway({ suite, component: 'gateway-fresh' });
  });

  after(async () => {
    await gateway?.close();
  });

  for (const [file, entry] of Object.entries(TABLE)) {
    if (entry.sameTransactionAs === undefined) continue;
    test(label(file, entry), async () => {
      const exchanged = await exchange(load(file), gateway.sip.udp, entry.verdict.answer !== 'none');
      observed.set(file, outcome(exchanged));
      assertVerdict(gateway, file, exchanged, entry.verdict);
    });
  }

  test('the fresh gateway still answers OPTIONS over UDP', async (t) => {
    assert.equal(await sipOptionsPing(gateway.sip.udp.port, { transport: 'udp', timeoutMs: ANSWER_TIMEOUT_MS }), 200);
    const counts = new Map<string, number>();
    for (const seen of observed.values()) counts.set(seen, (counts.get(seen) ?? 0) + 1);
    t.diagnostic(`the corpus got, each message on its own: ${[...counts].sort().map(([seen, n]) => `${seen} x${n}`).join(', ')}`);
  });
});
