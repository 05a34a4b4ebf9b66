/**
 * Where a call between a browser and the SIP world goes, and what the gateway needs to know about the SIP side: the
 * operator's line at a PBX, or a phone registered to the gateway itself. The line and phone directories are
 * interfaces here so that this layer depends on what it uses, not on how registration works.
 */
import type { LineState } from '@switchboard/protocol';
import type { TransportAddress, Uri } from '@switchboard/sip';
import type { PbxConfig, PbxLineConfig } from '../config/types.js';

export interface LineDirectory {
  /** The operator's PBX line, when they have one. */
  lineFor(operatorId: string): PbxLineConfig | undefined;
  /** The registration state of the operator's line, when they have one. */
  stateOf(operatorId: string): LineState | undefined;
  /** The lines whose user this is, at any PBX (one user may exist at several): where a call from a PBX to our Contact belongs. */
  linesForUser(user: string): readonly PbxLineConfig[];
  /** The server holding the binding of the operator's line (found through DNS): where the line's calls go. */
  serverOf(operatorId: string): TransportAddress | undefined;
  /** Whether `host` is an address DNS gave for the named PBX's servers. */
  isPbxServer(pbxName: string, host: string): boolean;
}

export interface PhoneBinding {
  /** The phone's Contact. */
  readonly contact: Uri;
  /** Where its REGISTER came from: requests go back over the same flow (NAT, TCP, WebSocket). */
  readonly source: TransportAddress;
  readonly connectionId: string | undefined;
}

export interface PhoneDirectory {
  /** Live bindings of a phone account (its user is its extension), newest first. */
  lookup(user: string): readonly PhoneBinding[];
  /** Whether a request from this address comes from a phone registered here. */
  isRegisteredSource(source: TransportAddress): boolean;
}

/** How one call reaches the SIP side. */
export type SipRoute =
  /** `server`: where the line is registered, when it is. */
  | { kind: 'pbx'; line: PbxLineConfig; pbx: PbxConfig; server: TransportAddress | undefined }
  | { kind: 'phone'; user: string; binding: PhoneBinding };

export function routeFor(operatorId: string, target: string, lines: LineDirectory | undefined, phones: PhoneDirectory | undefined): SipRoute | undefined {
  const line = lines?.lineFor(operatorId);
  // A registered phone of the gateway's own is reached directly, even for an operator with a PBX line: it is an
  // extension of this office.
  const binding = phones?.lookup(target)[0];
  if (binding !== undefined) return { kind: 'phone', user: target, binding };
  if (line !== undefined) return { kind: 'pbx', line, pbx: line.pbx, server: lines!.serverOf(operatorId) };
  return undefined;
}
