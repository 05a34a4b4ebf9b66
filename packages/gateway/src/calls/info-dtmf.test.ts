/** DTMF as SIP INFO: the requests sent, their order, and what a refusal becomes. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SipRequest, SipResponse, parseUri } from '@switchboard/sip';
import { ProtocolError } from '../ws/errors.js';
import { sendDtmfByInfo } from './info-dtmf.js';
import type { DialogRequests } from './sip-leg.js';

/** A leg whose far end answers each INFO with the next status of `answers`, recording what it was sent. */
function legAnswering(answers: (number | Error)[]): DialogRequests & { sent: SipRequest[] } {
  const sent: SipRequest[] = [];
  let cseq = 10;
  return {
    sent,
    createRequest: () => new SipRequest('INFO', parseUri('sip:alice@192.0.2.7')).set('CSeq', `${++cseq} INFO`),
    send: async (info) => {
      sent.push(info);
      // Answered later, as a network would: the next INFO must still wait for this answer.
      await new Promise((resolve) => setImmediate(resolve));
      const answer = answers.shift() ?? 200;
      if (answer instanceof Error) throw answer;
      return new SipResponse(answer);
    },
  };
}

describe('DTMF by SIP INFO', () => {
  test('one INFO per digit, in order, each an application/dtmf-relay body with the duration', async () => {
    const leg = legAnswering([]);
    await sendDtmfByInfo(leg, '12#*A', 120);
    assert.deepStrictEqual(leg.sent.map((info) => info.bodyText), ['1', '2', '#', '*', 'A'].map((d) => `Signal=${d}\r\nDuration=120\r\n`));
    for (const info of leg.sent) {
      assert.equal(info.contentType?.mediaType, 'application/dtmf-relay');
      assert.equal(info.method, 'INFO');
    }
    assert.deepStrictEqual(leg.sent.map((info) => info.cseq?.seq), [11, 12, 13, 14, 15]);
  });

  test('each digit waits for the answer to the one before', async () => {
    const leg = legAnswering([]);
    const inFlight: number[] = [];
    let open = 0;
    const send = leg.send;
    leg.send = async (info) => {
      inFlight.push(++open);
      try {
        return await send(info);
      } finally {
        open--;
      }
    };
    await sendDtmfByInfo(leg, '123', 100);
    assert.deepStrictEqual(inFlight, [1, 1, 1]);
  });

  test('a refusal stops the digits after it and says why', async () => {
    const leg = legAnswering([200, 501]);
    await assert.rejects(sendDtmfByInfo(leg, '123', 100), (error: unknown) => {
      assert.ok(error instanceof ProtocolError);
      assert.equal(error.code, 'not-supported');
      assert.match(error.message, /501 Not Implemented/);
      assert.deepStrictEqual(error.details, { digit: '2', sipStatus: 501 });
      return true;
    });
    assert.equal(leg.sent.length, 2);
  });

  test('481: the far end no longer has the call', async () => {
    await assert.rejects(sendDtmfByInfo(legAnswering([481]), '5', 100), (error: unknown) => error instanceof ProtocolError && error.code === 'call-state');
  });

  test('no answer at all', async () => {
    await assert.rejects(sendDtmfByInfo(legAnswering([new Error('Timer F fired')]), '5', 100), (error: unknown) => {
      assert.ok(error instanceof ProtocolError);
      assert.equal(error.code, 'internal');
      assert.match(error.message, /did not answer \(Timer F fired\)/);
      return true;
    });
  });
});
