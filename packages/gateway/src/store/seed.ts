/** Demo data for `npm start` and first runs, so there is someone to log in as and someone to call. */
import type { Operator } from './operators.js';
import type { Store } from './store.js';

export const DEMO_OPERATOR_IDS = ['101', '102', '103'] as const;

/**
 * Makes sure operators 101–103 exist, each on the extension of its id. Idempotent, and leaves an existing
 * operator alone (a renamed or disabled demo operator stays as the admin left it).
 */
export async function seedDemoOperators(store: Store): Promise<Operator[]> {
  const operators: Operator[] = [];
  for (const id of DEMO_OPERATOR_IDS) {
    const existing = await store.operators.get(id);
    operators.push(existing ?? (await store.operators.upsert({ id, displayName: `Operator ${id}`, extension: id })));
  }
  return operators;
}
