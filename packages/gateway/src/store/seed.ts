/** Demo data for `npm start` and first runs, so there is someone to log in as and someone to call. */
import type { Operator } from './operators.js';
import type { Store } from './store.js';

export interface SeedOperator {
  readonly id: string;
  readonly name: string;
  readonly extension: string;
}

/**
 * Makes sure the demo operators exist (the demo config's list, so the gateway and the demo CRM name them alike).
 * Idempotent, and leaves an existing operator alone (a renamed or disabled demo operator stays as the admin left it).
 */
export async function seedDemoOperators(store: Store, seed: readonly SeedOperator[]): Promise<Operator[]> {
  const operators: Operator[] = [];
  for (const { id, name, extension } of seed) {
    const existing = await store.operators.get(id);
    operators.push(existing ?? (await store.operators.upsert({ id, displayName: name, extension })));
  }
  return operators;
}
