/**
 * DTMF to the SIP side as INFO requests with an `application/dtmf-relay` body (`Signal=5`, `Duration=160`): the form
 * Asterisk, FreeSWITCH, Kamailio-fronted PBXs and desk phones take. One request per digit, each sent once the one
 * before it is answered, so that digits arrive in the order they were pressed even over UDP.
 */
import type { SipResponse } from '@switchboard/sip';
import { ProtocolError } from '../ws/errors.js';
import type { DialogRequests } from './sip-leg.js';

export const DTMF_RELAY_TYPE = 'application/dtmf-relay';

export function dtmfRelayBody(digit: string, durationMs: number): string {
  return `Signal=${digit}\r\nDuration=${durationMs}\r\n`;
}

/**
 * Sends each digit as an INFO. The first refusal stops the rest: 481 means the far end no longer has the call;
 * anything else (405, 415, 501...) that it does not take DTMF this way.
 */
export async function sendDtmfByInfo(leg: DialogRequests, digits: string, durationMs: number): Promise<void> {
  for (const digit of digits) {
    const info = leg.createRequest('INFO');
    info.setBody(dtmfRelayBody(digit, durationMs), DTMF_RELAY_TYPE);
    let response: SipResponse;
    try {
      response = await leg.send(info);
    } catch (error) {
      throw new ProtocolError('internal', `DTMF ${digit}: the SIP side did not answer (${error instanceof Error ? error.message : String(error)})`);
    }
    if (response.status < 300) continue;
    const details = { digit, sipStatus: response.status };
    if (response.status === 481) throw new ProtocolError('call-state', 'the SIP side no longer has this call', details);
    throw new ProtocolError('not-supported', `the SIP side refused DTMF by SIP INFO: ${response.status} ${response.reason}`.slice(0, 200), details);
  }
}
