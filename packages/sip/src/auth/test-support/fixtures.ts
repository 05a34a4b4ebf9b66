/** Requests, randomness and a wire round trip shared by the digest tests. */
import type { Random } from '../../clock.js';
import { parseMessage } from '../../message/parse-message.js';
import type { SipRequest, SipResponse } from '../../message/sip-message.js';
import type { DigestAuthorization, DigestClient } from '../digest-client.js';
import type { DigestServer, DigestVerifyResult } from '../digest-server.js';

/** Reproducible bytes (xorshift32), so cnonces and nonces are the same on every run. */
export function seededRandom(seed = 0x9e3779b9): Random {
  let x = seed | 0 || 1;
  return {
    bytes(length) {
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        out[i] = x & 255;
      }
      return out;
    },
  };
}

export const SECRET = new Uint8Array(32).fill(7);

export function register(options: { uri?: string; extra?: string; method?: string; body?: string } = {}): SipRequest {
  const method = options.method ?? 'REGISTER';
  const body = options.body ?? '';
  const text =
    `${method} ${options.uri ?? 'sip:example.com'} SIP/2.0\r\n` +
    'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds\r\n' +
    'Max-Forwards: 70\r\n' +
    'To: Alice <sip:alice@example.com>\r\n' +
    'From: Alice <sip:alice@example.com>;tag=1928301774\r\n' +
    'Call-ID: a84b4c76e66710@pc33.example.com\r\n' +
    `CSeq: 1 ${method}\r\n` +
    'Contact: <sip:alice@192.0.2.10:5060>\r\n' +
    (options.extra ?? '') +
    (body.length > 0 ? 'Content-Type: text/plain\r\n' : '') +
    `Content-Length: ${new TextEncoder().encode(body).length}\r\n\r\n` +
    body;
  return parseMessage(text) as SipRequest;
}

/** The 401 (or 407) a server sends, as the client receives it off the wire. */
export function challengeResponse(server: DigestServer, request: SipRequest, options: { stale?: boolean; proxy?: boolean } = {}): SipResponse {
  const response = request.createResponse(options.proxy === true ? 407 : 401);
  const values = server.challenge(request, { stale: options.stale ?? false });
  if (options.proxy === true) response.append('Proxy-Authenticate', ...values);
  else response.append('WWW-Authenticate', ...values);
  return parseMessage(response.serialize()) as SipResponse;
}

/** The retried request built from the client's answer, as the server receives it off the wire. */
export function retryWith(request: SipRequest, authorization: DigestAuthorization): SipRequest {
  const retry = request.clone();
  retry.set(authorization.header, ...authorization.values);
  const cseq = request.cseq!;
  retry.set('CSeq', { seq: cseq.seq + 1, method: cseq.method });
  return parseMessage(retry.serialize()) as SipRequest;
}

/** Challenge, answer, verify. */
export async function roundTrip(
  server: DigestServer,
  client: DigestClient,
  request: SipRequest,
  options: { proxy?: boolean } = {},
): Promise<{ result: DigestVerifyResult; retry: SipRequest; authorization: DigestAuthorization }> {
  const authorization = client.authorize(request, challengeResponse(server, request, options));
  const retry = retryWith(request, authorization);
  const result = await server.verify(retry, { header: options.proxy === true ? 'proxy-authorization' : 'authorization' });
  return { result, retry, authorization };
}
