/** One valid frame of every kind the gateway sends, typed against the protocol so that a new message must appear here. */
import type { EventOf, EventType, RequestType, ResultOf, Welcome } from '@switchboard/protocol';

export const NOW = 1_732_280_000_000;
export const OFFER = 'v=0\r\no=- 4611 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n';
export const ANSWER = 'v=0\r\no=- 7 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n';

export function welcomeResult(overrides: Partial<Welcome> = {}): Welcome {
  return {
    protocol: 1,
    sessionId: 's-1c9e',
    operator: { id: 'op-17', name: 'Ada Lovelace', extension: '201' },
    serverTime: NOW,
    tokenExpiresAt: NOW + 600_000,
    pingIntervalMs: 25_000,
    maxFrameBytes: 65_536,
    iceServers: [
      { urls: ['stun:turn.example.com:3478'] },
      {
        urls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349'],
        username: '1732283600:op-17',
        credential: 'qZ3b0f2Yk1m8',
        credentialExpiresAt: NOW + 3_600_000,
      },
    ],
    line: { state: 'registered' },
    calls: [],
    ...overrides,
  };
}

export const RESULT_EXAMPLES: { [T in RequestType]: ResultOf<T> } = {
  hello: welcomeResult({
    calls: [
      {
        callId: 'c-7a01',
        direction: 'inbound',
        state: 'active',
        remote: { number: '+4915112345678', name: 'Grace Hopper' },
        here: false,
        startedAt: NOW - 90_000,
        answeredAt: NOW - 80_000,
      },
    ],
  }),
  'auth.refresh': { tokenExpiresAt: NOW + 1_200_000, iceServers: [{ urls: ['stun:turn.example.com:3478'] }] },
  ping: { serverTime: NOW },
  'call.start': { callId: 'c-81f2' },
  'call.answer': {},
  'call.reject': {},
  'call.cancel': {},
  'call.hangup': {},
  'call.ice': {},
  'call.hold': {},
  'call.resume': {},
  'call.dtmf': {},
  'call.transfer': {},
};

export const EVENT_EXAMPLES: { [T in EventType]: EventOf<T> } = {
  'auth.expiring': { type: 'auth.expiring', expiresAt: NOW + 60_000, serverTime: NOW },
  'line.state': { type: 'line.state', state: 'failed', reason: 'Forbidden', sipStatus: 403 },
  'call.incoming': {
    type: 'call.incoming',
    callId: 'c-9d30',
    from: { number: '+4915112345678', name: 'Grace Hopper' },
    to: { number: '+49301234500' },
    sdp: OFFER,
    contact: {
      id: '4711',
      name: 'Grace Hopper',
      company: 'Navy',
      url: 'https://crm.example.com/contacts/4711',
      fields: { 'open deals': '2' },
    },
    receivedAt: NOW,
  },
  'call.ringing': { type: 'call.ringing', callId: 'c-81f2' },
  'call.progress': { type: 'call.progress', callId: 'c-81f2', sdp: ANSWER },
  'call.answered': { type: 'call.answered', callId: 'c-81f2', sdp: ANSWER, answeredAt: NOW + 5_000, features: { dtmf: 'gateway', transfer: true } },
  'call.ended': { type: 'call.ended', callId: 'c-81f2', cause: 'busy', sipStatus: 486, reason: 'Busy Here', endedAt: NOW + 6_000 },
  'call.ice': {
    type: 'call.ice',
    callId: 'c-81f2',
    candidate: { candidate: 'candidate:1 1 udp 2122260223 192.0.2.10 54400 typ host', sdpMid: '0', sdpMLineIndex: 0 },
  },
  'call.hold-state': { type: 'call.hold-state', callId: 'c-81f2', local: false, remote: true },
  'call.contact': {
    type: 'call.contact',
    callId: 'c-81f2',
    contact: { id: '4711', name: 'Grace Hopper', company: 'Navy', url: 'https://crm.example.com/contacts/4711' },
  },
};

export const ERROR_REPLY = {
  id: '5',
  ok: false,
  error: { code: 'already-answered', message: 'the call was answered in another session', details: { retry: false } },
} as const;
