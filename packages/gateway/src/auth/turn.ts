/**
 * Time-limited TURN credentials, as coturn checks them with `use-auth-secret` (draft-uberti-behave-turn-rest-00):
 * the username is `<expiry epoch seconds>:<operator id>` and the password is base64(HMAC-SHA1(secret, username)).
 * The TURN server needs no per-operator state, and a leaked credential stops working on its own.
 */
import { createHmac } from 'node:crypto';
import type { IceServer } from '@switchboard/protocol';
import type { IceConfig } from '../config/types.js';
import { Secret } from '../config/secret.js';
import { isOperatorId, OPERATOR_ID_HINT } from './operator-id.js';

export interface TurnCredentials {
  readonly username: string;
  readonly credential: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

export interface TurnCredentialOptions {
  readonly secret: Secret | string;
  readonly operatorId: string;
  readonly ttlSeconds: number;
  /** Epoch milliseconds. */
  readonly now?: number | undefined;
}

export function turnCredentials(options: TurnCredentialOptions): TurnCredentials {
  if (!isOperatorId(options.operatorId)) throw new RangeError(`operator id must be ${OPERATOR_ID_HINT}`);
  const expiry = Math.floor((options.now ?? Date.now()) / 1000) + options.ttlSeconds;
  const username = `${expiry}:${options.operatorId}`;
  const secret = typeof options.secret === 'string' ? options.secret : options.secret.reveal();
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential, expiresAt: expiry * 1000 };
}

/** The `iceServers` for `welcome` and `auth.refresh`: STUN as configured, TURN with fresh credentials. */
export function iceServersFor(ice: IceConfig, operatorId: string, now: number = Date.now()): IceServer[] {
  const servers: IceServer[] = [];
  if (ice.stun.length > 0) servers.push({ urls: [...ice.stun] });
  if (ice.turn !== undefined) {
    const { username, credential, expiresAt } = turnCredentials({
      secret: ice.turn.secret,
      operatorId,
      ttlSeconds: ice.turn.ttlSeconds,
      now,
    });
    servers.push({ urls: [...ice.turn.urls], username, credential, credentialExpiresAt: expiresAt });
  }
  return servers;
}
