/**
 * Operator ids come from the CRM (the token's `sub`) and travel into logs, database keys, SIP user parts and TURN
 * usernames (`expiry:operator`). Letters, digits and `. _ - + @` cover numeric ids, slugs, UUIDs and e-mail
 * addresses; `:` is excluded because the TURN username splits on it, and everything else because one of those
 * destinations would need escaping.
 */
import { MAX_ID_LENGTH } from '@switchboard/protocol';

export const OPERATOR_ID_PATTERN = new RegExp(`^[A-Za-z0-9][A-Za-z0-9._+@-]{0,${MAX_ID_LENGTH - 1}}$`);

export const OPERATOR_ID_HINT = `1 to ${MAX_ID_LENGTH} characters: letters, digits and . _ - + @, starting with a letter or digit`;

export function isOperatorId(value: unknown): value is string {
  return typeof value === 'string' && OPERATOR_ID_PATTERN.test(value);
}
