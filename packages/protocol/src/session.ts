/**
 * Login and keep-alive. The token travels in the first message, never in the URL, so it stays out of proxy and
 * server access logs. A session lives as long as its WebSocket; an operator may have several (one per tab), and
 * each gets every incoming call.
 *
 * hello → reply: welcome │ ... auth.expiring → auth.refresh → reply │ ping → reply: pong (every pingIntervalMs)
 */
import { Type, type Static } from '@sinclair/typebox';
import { CallSummarySchema } from './calls.js';
import { event, request, result } from './envelope.js';
import { Ascii, Closed, DurationMs, EpochMs, Id, SipStatus, Text, oneOf } from './fields.js';
import {
  MAX_CALLS,
  MAX_FRAME_BYTES,
  MAX_ICE_SERVERS,
  MAX_ICE_URLS,
  MAX_NAME_LENGTH,
  MAX_TEXT_LENGTH,
  MAX_TOKEN_LENGTH,
  MAX_URL_LENGTH,
} from './limits.js';

/** Mirrors `RTCIceServer`; TURN entries carry credentials that stop working at `credentialExpiresAt`. */
export const IceServerSchema = Type.Object(
  {
    urls: Type.Array(
      Type.String({ maxLength: MAX_URL_LENGTH, pattern: '^(stun|stuns|turn|turns):[^\\s<>"]+$' }),
      { minItems: 1, maxItems: MAX_ICE_URLS, description: 'stun:, turn: or turns: URIs' },
    ),
    username: Type.Optional(Text(256, 'TURN username (time-limited: "<expiry>:<operator>")')),
    credential: Type.Optional(Text(256, 'TURN password')),
    credentialExpiresAt: Type.Optional(EpochMs('when the TURN credential stops working')),
  },
  Closed,
);

const IceServers = Type.Array(IceServerSchema, { maxItems: MAX_ICE_SERVERS, description: 'for RTCPeerConnection' });

export const LINE_STATES = ['registered', 'unregistered', 'failed', 'none'] as const;

/**
 * The operator's SIP line as the gateway sees it. `none`: the operator has no PBX line, and the gateway itself is
 * their call server (an extension of its own), so there is nothing to register.
 */
const lineStateProperties = {
  state: oneOf(LINE_STATES, 'registration with the PBX'),
  reason: Type.Optional(Text(MAX_TEXT_LENGTH, 'why it failed, for people')),
  sipStatus: Type.Optional(SipStatus('the REGISTER response behind a failure')),
};
export const LineStateSchema = Type.Object(lineStateProperties, Closed);

// Client requests -------------------------------------------------------------------------------------------

export const HelloSchema = request(
  'hello',
  {
    protocol: Type.Integer({ minimum: 1, maximum: 65535, description: 'the protocol version the client speaks' }),
    token: Ascii(MAX_TOKEN_LENGTH, 'the signed token from the CRM'),
    client: Type.Object(
      {
        name: Text(MAX_NAME_LENGTH, 'e.g. "@switchboard/client"', 1),
        version: Text(64, 'e.g. "0.3.1"', 1),
      },
      Closed,
    ),
    instance: Type.Optional(
      Id('stable per tab across reconnects; a new connection with the same value supersedes the old one'),
    ),
  },
  'must be the first message; nothing else is accepted before its reply',
);
export const AuthRefreshSchema = request(
  'auth.refresh',
  { token: Ascii(MAX_TOKEN_LENGTH, 'a fresh token for the same operator') },
  'replace the session’s token without touching its calls',
);
export const PingSchema = request('ping', {}, 'keep-alive and liveness check');

export const WelcomeSchema = result(
  {
    protocol: Type.Integer({ minimum: 1, maximum: 65535, description: 'the version this session speaks' }),
    sessionId: Id('this connection, for logs and support'),
    operator: Type.Object(
      {
        id: Id('the operator’s id in the CRM'),
        name: Text(MAX_NAME_LENGTH, 'display name'),
        extension: Ascii(64, 'the operator’s own extension'),
      },
      Closed,
    ),
    serverTime: EpochMs('gateway clock, to correct for skew'),
    tokenExpiresAt: EpochMs('when the session ends unless refreshed'),
    pingIntervalMs: DurationMs('send a ping this often; the gateway closes sessions silent for twice as long'),
    maxFrameBytes: Type.Integer({ minimum: 1024, maximum: MAX_FRAME_BYTES, description: 'this gateway’s frame limit' }),
    iceServers: IceServers,
    line: LineStateSchema,
    calls: Type.Array(CallSummarySchema, { maxItems: MAX_CALLS, description: 'the operator’s calls in progress' }),
  },
  'the session is open',
);
export const AuthRefreshResultSchema = result(
  { tokenExpiresAt: EpochMs('the new expiry'), iceServers: IceServers },
  'the session now runs on the new token; TURN credentials are renewed with it',
);
export const PongSchema = result({ serverTime: EpochMs('gateway clock') }, 'pong');

export const SESSION_REQUESTS = {
  hello: { request: HelloSchema, result: WelcomeSchema },
  'auth.refresh': { request: AuthRefreshSchema, result: AuthRefreshResultSchema },
  ping: { request: PingSchema, result: PongSchema },
} as const;

// Server events ---------------------------------------------------------------------------------------------

export const AuthExpiringSchema = event(
  'auth.expiring',
  { expiresAt: EpochMs('when the current token expires'), serverTime: EpochMs('gateway clock') },
  'get a fresh token from the host page and send auth.refresh before expiresAt',
);
export const LineStateEventSchema = event('line.state', lineStateProperties, 'the operator’s line changed state');

export const SESSION_EVENTS = {
  'auth.expiring': AuthExpiringSchema,
  'line.state': LineStateEventSchema,
} as const;

export type IceServer = Static<typeof IceServerSchema>;
export type LineState = Static<typeof LineStateSchema>;
export type Welcome = Static<typeof WelcomeSchema>;
