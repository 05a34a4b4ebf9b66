// DTMF in the media (RFC 4733), end to end. The PBX (Kamailio) is set to take digits as telephone-events, so the
// gateway tells the browser to send them itself: Chromium's RTCDTMFSender puts them in its audio, rtpengine relays
// them to the plain-RTP side, and the baresip desk phone reports each one. No SIP INFO is involved.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Phone } from './support/baresip.js';
import type { DemoPage } from './support/demo-page.js';
import { pageAnswers, phoneAnswers } from './support/line-calls.js';
import { startLineOffice, type LineOffice } from './support/line-office.js';
import { waitFor } from './support/processes.js';

const suite = 'call-dtmf';

describe('DTMF as telephone-events with real peers', { timeout: 180_000 }, () => {
  let office: LineOffice;
  let phone: Phone;
  let page: DemoPage;

  before(async () => {
    office = await startLineOffice(suite, { line101: 'line-101-Dtmf-5b1e', line102: 'line-102-Dtmf-9ac3', phone: 'alice-dtmf-secret' }, { dtmf: 'rfc4733' });
    ({ phone, page } = office);
  });

  after(() => office?.close());

  /** baresip logs the first line for a DTMF INFO, the second for the end of a telephone-event in its audio. */
  const infoDigits = () => readFileSync(phone.logPath, 'utf8').match(/call: received DTMF: '.'/g)?.length ?? 0;
  const mediaDigits = () => [...readFileSync(phone.logPath, 'utf8').matchAll(/received event: '(.)' \(end=1\)/g)].map((m) => m[1]).join('');
  /** The event's end is logged a moment after the phone reports the digit. */
  const heardInMedia = async (digits: string) => {
    const heard = await waitFor(() => mediaDigits().endsWith(digits), 3000, 20);
    assert.ok(heard, `the phone heard ${digits} as telephone-events: ${mediaDigits()}`);
  };
  /** The gateway logs every SIP message it sends, at debug level. */
  const infosSent = (since: number) =>
    office.gateway.logEntries().slice(since).filter((entry) => entry['dir'] === 'out' && String(entry['sip']).startsWith('INFO ')).length;
  const messagesSent = (since: number) => office.gateway.logEntries().slice(since).filter((entry) => entry['dir'] === 'out' && entry['sip'] !== undefined).length;

  it('101 calls the phone: the digits go in the browser’s audio, through rtpengine, and arrive in order', async () => {
    const before = phone.receivedDtmf();
    const [infoBefore, logFrom] = [infoDigits(), office.gateway.logEntries().length];
    const callId = await phoneAnswers(page, phone, 'alice');
    assert.equal(await page.dtmfPath(callId), 'media', 'the gateway told the browser to send digits itself');
    await page.sendDigits(callId, '19*#');
    await phone.waitForDtmf(before + '19*#', 5000);
    await heardInMedia('19*#');
    assert.equal(infoDigits(), infoBefore, 'none came as SIP INFO');
    assert.equal(infosSent(logFrom), 0, 'the gateway sent no INFO');
    assert.ok(messagesSent(logFrom) > 0, 'the log shows the SIP messages the gateway sent');
    await page.hangup(callId);
    await page.waitFor(callId, 'ended', 'normal');
    await phone.waitForState('closed', 10_000);
  });

  it('the phone calls 101: the answered call takes digits the same way, A-D included', async () => {
    const before = phone.receivedDtmf();
    const infoBefore = infoDigits();
    const callId = await pageAnswers(page, phone, office.kamailio.aor('101'));
    assert.equal(await page.dtmfPath(callId), 'media');
    // Two requests in a row: the second comes while the first's four digits (680 ms) still play, and waits behind
    // them instead of replacing them.
    await page.sendDigits(callId, '5A78');
    await page.sendDigits(callId, '0');
    await phone.waitForDtmf(before + '5A780', 5000);
    await heardInMedia('5A780');
    assert.equal(infoDigits(), infoBefore, 'none came as SIP INFO');
    await phone.hangup();
    await page.waitFor(callId, 'ended', 'normal');
  });
});
