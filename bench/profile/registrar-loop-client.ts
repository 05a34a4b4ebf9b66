/**
 * The client side of registrar-loop.ts: keeps `window` registrations in flight against 127.0.0.1:<port>, each a
 * REGISTER, the 401, and a REGISTER with MD5 digest credentials (qop=auth), a new Call-ID per registration, as
 * sipp's register-auth scenario does; or, given a rate, starts that many a second whatever is in flight. Text templates and regular expressions: as cheap as a client can be.
 */
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';

const [portText, password, windowText, rateText] = process.argv.slice(2);
/** Registrations started per second; 0: closed loop, a new one as each ends. */
const rate = Number(rateText ?? 0);
const port = Number(portText);
const window = Number(windowText);
const socket = createSocket('udp4');
await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
const local = socket.address().port;
const md5 = (text: string): string => createHash('md5').update(text).digest('hex');
const uri = `sip:127.0.0.1:${port}`;
const ha1 = md5(`bench:example.com:${password}`);
const ha2 = md5(`REGISTER:${uri}`);
let next = 0;
let registrations = 0;
let failures = 0;

function register(id: number, cseq: number, authorization?: string): void {
  const text = `REGISTER ${uri} SIP/2.0\r\n`
    + `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK-${id}-${cseq};rport\r\n`
    + `From: <sip:bench@example.com>;tag=t${id}\r\nTo: <sip:bench@example.com>\r\nCall-ID: loop-${id}\r\nCSeq: ${cseq} REGISTER\r\n`
    + `Contact: <sip:bench@127.0.0.1:${local}>\r\nMax-Forwards: 70\r\nExpires: 600\r\n`
    + (authorization === undefined ? '' : `Authorization: ${authorization}\r\n`)
    + 'Content-Length: 0\r\n\r\n';
  socket.send(text, port, '127.0.0.1');
}

socket.on('message', (data) => {
  const text = data.toString('latin1');
  const id = Number(/Call-ID: loop-(\d+)/.exec(text)?.[1]);
  if (text.startsWith('SIP/2.0 401')) {
    const nonce = /nonce="([^"]+)"/.exec(text)![1]!;
    const response = md5(`${ha1}:${nonce}:00000001:c${id}:auth:${ha2}`);
    register(id, 2, `Digest username="bench", realm="example.com", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5, cnonce="c${id}", qop=auth, nc=00000001`);
    return;
  }
  if (text.startsWith('SIP/2.0 200')) registrations++;
  else failures++;
  if (rate === 0) register(next++, 1);
});

process.on('message', () => process.send!({ type: 'count', registrations, failures }));
if (rate === 0) {
  for (let i = 0; i < window; i++) register(next++, 1);
} else {
  // Started in batches every 10 ms, at the rate on average.
  const started = performance.now();
  setInterval(() => {
    const due = Math.floor(((performance.now() - started) / 1000) * rate);
    while (next < due) register(next++, 1);
  }, 10);
}
process.send!({ type: 'ready' });
