import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { getCodecs, ManualClock, parseSdp } from '@switchboard/sip';
import type { BencodeDict } from './bencode.js';
import { isMediaError, type MediaErrorCode } from './media-error.js';
import { createMediaSession, type MediaSession } from './media-session.js';
import { RtpengineClient, type MediaLogger } from './rtpengine-client.js';
import { HOLD_MUSIC_REPEATS, TO_BROWSER_ANSWER, TO_BROWSER_OFFER, TO_SIP } from './rtpengine-media-session.js';
import { FakeNgServer, unusedUdpPort, type ReceivedCommand } from './test-support/fake-ng-server.js';
import { BROWSER_OFFER, PHONE_SDP } from './test-support/sdp-fixtures.js';

const silent = { debug() {}, info() {}, warn() {} } as unknown as MediaLogger;
const CODECS = ['PCMU', 'PCMA', 'telephone-event'];

const OPUS_ONLY = BROWSER_OFFER.replace('111 63 0 8 126', '111');

const names = (sdp: string): string[] => getCodecs(parseSdp(sdp)).map((codec) => codec.name);

async function rejectsWith(promise: Promise<unknown>, code: MediaErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => isMediaError(error, code) && (message === undefined || message.test(error.message)));
}

describe('createMediaSession', () => {
  it('needs a client in rtpengine mode, and some codecs', () => {
    assert.throws(() => createMediaSession({ mode: 'rtpengine', callId: 'c', codecs: CODECS, logger: silent }), /needs an rtpengine client/);
    assert.throws(() => createMediaSession({ mode: 'passthrough', callId: 'c', codecs: [], logger: silent }), (e: unknown) => isMediaError(e, 'invalid-argument'));
    const client = new RtpengineClient({ host: '127.0.0.1', port: 22222, timeoutMs: 100 });
    assert.throws(() => createMediaSession({ mode: 'rtpengine', client, callId: '', codecs: CODECS, logger: silent }), /needs a call id/);
  });
});

describe('passthrough media', () => {
  const passthrough = (): MediaSession => createMediaSession({ mode: 'passthrough', callId: 'c', codecs: CODECS, logger: silent });

  it('restricts offers to the PBX codecs, in its order towards the PBX', async () => {
    const sent = await passthrough().offerFromBrowser(BROWSER_OFFER);
    assert.deepEqual(names(sent), ['PCMU', 'PCMA', 'telephone-event']);
    assert.ok(!sent.includes('opus') && !sent.includes('a=fmtp:63'), 'opus and the red that refers to it are gone');
    assert.match(sent, /a=fingerprint:sha-256 3A:BD/, 'WebRTC attributes stay for a WebRTC PBX');
  });

  it("keeps the PBX's order in offers towards the browser", async () => {
    assert.deepEqual(names(await passthrough().offerFromSip(PHONE_SDP)), ['PCMA', 'PCMU', 'telephone-event']);
  });

  it('returns an offer that needs no change byte for byte, and answers unchanged', async () => {
    const media = passthrough();
    const odd = PHONE_SDP.replace('s=-', 's=  spaced  ');
    assert.equal(await media.offerFromSip(odd), odd);
    assert.equal(await media.answerFromSip(PHONE_SDP), PHONE_SDP);
    assert.equal(await media.answerFromBrowser(BROWSER_OFFER), BROWSER_OFFER);
  });

  it('refuses an offer with none of the codecs, and SDP that is not SDP', async () => {
    const media = passthrough();
    await rejectsWith(media.offerFromBrowser(OPUS_ONLY), 'no-common-codec', /PCMU, PCMA, telephone-event/);
    await rejectsWith(media.answerFromSip('hello'), 'invalid-sdp', /SIP answer/);
  });

  it('has no hold music to play: the media does not pass the gateway', async () => {
    const media = createMediaSession({ mode: 'passthrough', callId: 'c', codecs: CODECS, logger: silent, holdMusic: '/srv/moh.wav' });
    await media.setHoldMusic(true);
    await media.setHoldMusic(false);
  });

  it('is closed after close()', async () => {
    const media = passthrough();
    await media.close();
    await media.close();
    await rejectsWith(media.offerFromBrowser(BROWSER_OFFER), 'closed');
  });
});

describe('rtpengine media', () => {
  let server: FakeNgServer;
  let client: RtpengineClient;
  let media: MediaSession;
  const rewritten = (command: ReceivedCommand): string => `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=${String(command.dict['command'])}\r\n`;

  beforeEach(async () => {
    server = await FakeNgServer.start();
    server.autoReply = (command): BencodeDict => (command.dict['command'] === 'delete' ? { result: 'ok' } : { result: 'ok', sdp: rewritten(command) });
    client = new RtpengineClient({ host: '127.0.0.1', port: server.port, timeoutMs: 1000 });
    media = createMediaSession({ mode: 'rtpengine', client, callId: 'call-7', codecs: CODECS, logger: silent });
  });

  afterEach(async () => {
    await client.close();
    await server.close();
  });

  const sent = (index: number): Record<string, unknown> => ({ ...server.received[index]!.dict });
  const optionsOf = (dict: Record<string, unknown>): Record<string, unknown> => {
    const { command: _c, 'call-id': _i, 'from-tag': _f, 'to-tag': _t, sdp: _s, ...rest } = dict;
    return JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
  };
  const ngKeys = (options: typeof TO_SIP): Record<string, unknown> =>
    JSON.parse(JSON.stringify({
      'transport-protocol': options.transportProtocol,
      ICE: options.ice,
      DTLS: options.dtls,
      SDES: options.sdes,
      'rtcp-mux': options.rtcpMux,
      replace: options.replace,
      flags: options.flags,
    })) as Record<string, unknown>;

  it('browser → SIP: offer with the browser tag and plain-RTP flags, answers with both tags, repeatable', async () => {
    assert.equal(await media.offerFromBrowser(BROWSER_OFFER), rewritten(server.received[0]!));
    const offer = sent(0);
    assert.equal(offer['command'], 'offer');
    assert.equal(offer['call-id'], 'call-7');
    assert.equal(offer['from-tag'], 'switchboard-browser');
    assert.equal(offer['to-tag'], undefined);
    assert.deepEqual(names(String(offer['sdp'])), ['PCMU', 'PCMA', 'telephone-event'], 'restricted before rtpengine sees it');
    assert.deepEqual(optionsOf(offer), ngKeys(TO_SIP));
    assert.deepEqual(optionsOf(offer), {
      'transport-protocol': 'RTP/AVP', ICE: 'remove', DTLS: 'off', SDES: ['off'], 'rtcp-mux': ['demux'], replace: ['origin', 'session-connection'],
    });

    await media.answerFromSip(PHONE_SDP);
    await media.answerFromSip(PHONE_SDP);
    for (const index of [1, 2]) {
      const answer = sent(index);
      assert.equal(answer['command'], 'answer');
      assert.equal(answer['from-tag'], 'switchboard-browser');
      assert.equal(answer['to-tag'], 'switchboard-sip');
      assert.equal(answer['sdp'], PHONE_SDP);
      assert.deepEqual(optionsOf(answer), ngKeys(TO_BROWSER_ANSWER));
      assert.equal(answer['DTLS'], undefined, 'no DTLS role in the answer to the browser');
    }
  });

  it('SIP → browser: offer with the SIP tag and WebRTC flags, the answer with plain-RTP flags', async () => {
    await media.offerFromSip(PHONE_SDP);
    await media.answerFromBrowser(BROWSER_OFFER);
    const [offer, answer] = [sent(0), sent(1)];
    assert.equal(offer['from-tag'], 'switchboard-sip');
    assert.deepEqual(optionsOf(offer), ngKeys(TO_BROWSER_OFFER));
    assert.deepEqual(optionsOf(offer)['flags'], ['generate-mid']);
    assert.deepEqual(names(String(offer['sdp'])), ['PCMA', 'PCMU', 'telephone-event']);
    assert.equal(answer['from-tag'], 'switchboard-sip');
    assert.equal(answer['to-tag'], 'switchboard-browser');
    assert.deepEqual(optionsOf(answer), ngKeys(TO_SIP));
  });

  it('names the other leg in re-offers once the call is answered, from either side', async () => {
    await media.offerFromBrowser(BROWSER_OFFER);
    await media.answerFromSip(PHONE_SDP);
    await media.offerFromSip(PHONE_SDP);
    await media.answerFromBrowser(BROWSER_OFFER);
    await media.offerFromBrowser(BROWSER_OFFER);
    assert.deepEqual([2, 3, 4].map((i) => [sent(i)['command'], sent(i)['from-tag'], sent(i)['to-tag']]), [
      ['offer', 'switchboard-sip', 'switchboard-browser'],
      ['answer', 'switchboard-sip', 'switchboard-browser'],
      ['offer', 'switchboard-browser', 'switchboard-sip'],
    ]);
  });

  it('refuses an answer without an offer from the other leg, sending nothing', async () => {
    await rejectsWith(media.answerFromSip(PHONE_SDP), 'invalid-state', /needs an offer from the browser leg/);
    await media.offerFromBrowser(BROWSER_OFFER);
    await rejectsWith(media.answerFromBrowser(BROWSER_OFFER), 'invalid-state');
    assert.equal(server.received.length, 1);
  });

  it('refuses an offer without an allowed codec before rtpengine sees it', async () => {
    await rejectsWith(media.offerFromBrowser(OPUS_ONLY), 'no-common-codec');
    await rejectsWith(media.offerFromSip('v=1'), 'invalid-sdp');
    assert.equal(server.received.length, 0);
    await media.close();
    assert.equal(server.received.length, 0, 'nothing to delete');
  });

  it('passes rtpengine refusals on', async () => {
    server.autoReply = () => ({ result: 'error', 'error-reason': 'Incomplete SDP specification' });
    await rejectsWith(media.offerFromBrowser(BROWSER_OFFER), 'refused', /Incomplete SDP specification/);
  });

  it('close() deletes the call at once, once, after the operation in flight', async () => {
    server.autoReply = undefined;
    const offer = media.offerFromBrowser(BROWSER_OFFER);
    const closing = media.close();
    const closingAgain = media.close();
    const command = await server.next();
    server.reply(command, { result: 'ok', sdp: rewritten(command) });
    await offer;
    const del = await server.next();
    assert.deepEqual({ ...del.dict }, { command: 'delete', 'call-id': 'call-7', 'delete-delay': 0 });
    server.reply(del, { result: 'ok' });
    await closing;
    await closingAgain;
    await rejectsWith(media.answerFromSip(PHONE_SDP), 'closed');
    assert.equal(server.received.length, 2);
  });

  it('close() resolves even when rtpengine does not answer the delete', async () => {
    const clock = new ManualClock();
    const port = await unusedUdpPort();
    const lonely = new RtpengineClient({ host: '127.0.0.1', port, timeoutMs: 500, clock });
    const warnings: unknown[] = [];
    const logger = { ...silent, warn: (fields: unknown) => void warnings.push(fields) } as unknown as MediaLogger;
    const doomed = createMediaSession({ mode: 'rtpengine', client: lonely, callId: 'c', codecs: CODECS, logger });
    try {
      // Commands start a few microtasks after they are asked for (behind the session's queue).
      const untilSent = async (): Promise<void> => {
        while (clock.pending === 0) await new Promise((resolve) => setImmediate(resolve));
      };
      const offer = assert.rejects(doomed.offerFromBrowser(BROWSER_OFFER), (e: unknown) => isMediaError(e, 'unreachable'));
      await untilSent();
      clock.advance(500);
      await offer;
      const closing = doomed.close();
      await untilSent();
      clock.advance(500);
      await closing;
      assert.equal(warnings.length, 1);
    } finally {
      await lonely.close();
    }
  });

  describe('hold music', () => {
    const MUSIC = '/usr/share/switchboard/hold.wav';
    const warnings: Record<string, unknown>[] = [];
    const logger = { ...silent, warn: (fields: Record<string, unknown>) => void warnings.push(fields) } as unknown as MediaLogger;
    let held: MediaSession;

    beforeEach(() => {
      warnings.length = 0;
      server.autoReply = (command): BencodeDict => {
        const name = command.dict['command'];
        if (name === 'play media') return { result: 'ok', duration: 4200 };
        if (name === 'delete' || name === 'stop media' || name === 'block media' || name === 'unblock media') return { result: 'ok' };
        return { result: 'ok', sdp: rewritten(command) };
      };
      held = createMediaSession({ mode: 'rtpengine', client, callId: 'call-8', codecs: CODECS, logger, holdMusic: MUSIC });
    });

    const answered = async (): Promise<void> => {
      await held.offerFromBrowser(BROWSER_OFFER);
      await held.answerFromSip(PHONE_SDP);
    };
    const musicCommands = (): Record<string, unknown>[] =>
      server.received.map((c) => ({ ...c.dict })).filter((d) => /^(play|stop|block|unblock) media$/.test(String(d['command'])));

    it('on hold plays the file to the SIP leg, looped, then blocks what the browser sends; on resume the reverse; asking twice changes nothing', async () => {
      await answered();
      await held.setHoldMusic(true);
      await held.setHoldMusic(true);
      await held.setHoldMusic(false);
      await held.setHoldMusic(false);
      assert.deepEqual(musicCommands(), [
        { command: 'play media', 'call-id': 'call-8', 'from-tag': 'switchboard-sip', file: MUSIC, 'repeat-times': HOLD_MUSIC_REPEATS },
        { command: 'block media', 'call-id': 'call-8', 'from-tag': 'switchboard-browser' },
        { command: 'stop media', 'call-id': 'call-8', 'from-tag': 'switchboard-sip' },
        { command: 'unblock media', 'call-id': 'call-8', 'from-tag': 'switchboard-browser' },
      ]);
      assert.deepEqual(warnings, []);
    });

    it('keeps the order of a quick hold and resume, and sends nothing before the call is answered or once it is closing', async () => {
      await held.setHoldMusic(true);
      assert.deepEqual(musicCommands(), [], 'before any answer there is no SIP leg at rtpengine to play to');
      await answered();
      await Promise.all([held.setHoldMusic(true), held.setHoldMusic(false), held.setHoldMusic(true)]);
      assert.deepEqual(musicCommands().map((d) => d['command']), ['play media', 'block media', 'stop media', 'unblock media', 'play media', 'block media']);
      // A resume asked for just before close(): the delete takes music and block with the call.
      const resuming = held.setHoldMusic(false);
      await held.close();
      await resuming;
      await held.setHoldMusic(false);
      assert.equal(musicCommands().length, 6);
      assert.equal(server.received.at(-1)?.dict['command'], 'delete');
    });

    it('never rejects: a refused play is logged, nothing is blocked, and the held call keeps the browser’s silence', async () => {
      await answered();
      server.autoReply = (command): BencodeDict => ({ result: 'error', 'error-reason': `no ${String(command.dict['command'])} here` });
      await held.setHoldMusic(true);
      assert.deepEqual(warnings.map((w) => [w['command'], w['code']]), [['play media', 'refused']]);
      await held.setHoldMusic(false);
      assert.deepEqual(musicCommands().map((d) => d['command']), ['play media'], 'nothing played or blocked, so nothing to undo');
    });

    it('a play never answered may have played: no block, but the resume stops it', async () => {
      const hasty = new RtpengineClient({ host: '127.0.0.1', port: server.port, timeoutMs: 100 });
      try {
        const unsure = createMediaSession({ mode: 'rtpengine', client: hasty, callId: 'call-9', codecs: CODECS, logger, holdMusic: MUSIC });
        server.autoReply = (command): BencodeDict | undefined => {
          const name = String(command.dict['command']);
          if (name === 'play media') return undefined;
          return name.endsWith(' media') ? { result: 'ok' } : { result: 'ok', sdp: rewritten(command) };
        };
        await unsure.offerFromBrowser(BROWSER_OFFER);
        await unsure.answerFromSip(PHONE_SDP);
        await unsure.setHoldMusic(true);
        assert.deepEqual(warnings.map((w) => [w['command'], w['code']]), [['play media', 'unreachable']]);
        await unsure.setHoldMusic(false);
        assert.deepEqual([...new Set(musicCommands().map((d) => d['command']))], ['play media', 'stop media']);
      } finally {
        await hasty.close();
      }
    });

    it('sends a resume’s unblock again when it goes unanswered, so the far end hears the operator again', async () => {
      const hasty = new RtpengineClient({ host: '127.0.0.1', port: server.port, timeoutMs: 100 });
      try {
        const flaky = createMediaSession({ mode: 'rtpengine', client: hasty, callId: 'call-10', codecs: CODECS, logger, holdMusic: MUSIC });
        const unblocks = new Set<string>();
        server.autoReply = (command): BencodeDict | undefined => {
          const name = String(command.dict['command']);
          if (name === 'unblock media') {
            // The first unblock (and its retransmissions, same cookie) is lost; the next one is answered.
            unblocks.add(command.cookie);
            return unblocks.size === 1 ? undefined : { result: 'ok' };
          }
          if (name === 'play media') return { result: 'ok', duration: 1000 };
          return name.endsWith(' media') ? { result: 'ok' } : { result: 'ok', sdp: rewritten(command) };
        };
        await flaky.offerFromBrowser(BROWSER_OFFER);
        await flaky.answerFromSip(PHONE_SDP);
        await flaky.setHoldMusic(true);
        await flaky.setHoldMusic(false);
        assert.equal(unblocks.size, 2, 'sent again with a new cookie');
        assert.deepEqual(warnings, [], 'the second try worked');

        // rtpengine gone for good: three tries, then a warning that says what it means.
        server.autoReply = (command): BencodeDict | undefined => {
          if (String(command.dict['command']) !== 'unblock media') return { result: 'ok', duration: 1000 };
          unblocks.add(command.cookie);
          return undefined;
        };
        await flaky.setHoldMusic(true);
        const before = unblocks.size;
        await flaky.setHoldMusic(false);
        assert.equal(unblocks.size - before, 3);
        assert.deepEqual(warnings.map((w) => [w['command'], w['code'], w['attempts']]), [['unblock media', 'unreachable', 3]]);
      } finally {
        await hasty.close();
      }
    });

    it('does nothing without a file', async () => {
      await media.offerFromBrowser(BROWSER_OFFER);
      await media.answerFromSip(PHONE_SDP);
      await media.setHoldMusic(true);
      await media.setHoldMusic(false);
      assert.deepEqual(musicCommands(), []);
    });
  });
});
