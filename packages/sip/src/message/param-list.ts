/**
 * Parameters as parsed (of a URI, a header, a challenge or credentials): read-only, in the order written, names
 * unique (a repeated name keeps its first place and its last value, as Map.set would). There are few, so a flat list
 * searched in order is cheaper to build than a Map, which allocates a hash table and hashes every name (and, for the
 * nine of a Digest answer, grows it twice). Anything that takes a ReadonlyMap takes one; `new Map(list)` copies one
 * for editing. `V` is `string` for credentials and challenges, whose parameters always have a value.
 */
export class ParamList<V extends string | null = string | null> implements ReadonlyMap<string, V> {
  /** Names and values alternating. */
  readonly #items: (string | V)[];

  /** `items`: names and values alternating, names unique (see `putParam`); kept, not copied. */
  constructor(items: (string | V)[]) {
    this.#items = items;
  }

  get size(): number {
    return this.#items.length >> 1;
  }

  get(name: string): V | undefined {
    const items = this.#items;
    for (let i = 0; i < items.length; i += 2) if (items[i] === name) return items[i + 1] as V;
    return undefined;
  }

  has(name: string): boolean {
    const items = this.#items;
    for (let i = 0; i < items.length; i += 2) if (items[i] === name) return true;
    return false;
  }

  forEach(callback: (value: V, name: string, map: ReadonlyMap<string, V>) => void, thisArg?: unknown): void {
    const items = this.#items;
    for (let i = 0; i < items.length; i += 2) callback.call(thisArg, items[i + 1] as V, items[i] as string, this);
  }

  *entries(): MapIterator<[string, V]> {
    const items = this.#items;
    for (let i = 0; i < items.length; i += 2) yield [items[i] as string, items[i + 1] as V];
  }

  *keys(): MapIterator<string> {
    const items = this.#items;
    for (let i = 0; i < items.length; i += 2) yield items[i] as string;
  }

  *values(): MapIterator<V> {
    const items = this.#items;
    for (let i = 1; i < items.length; i += 2) yield items[i] as V;
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }

  /** JSON and logs show the pairs, as for a Map spread into an array. */
  toJSON(): [string, V][] {
    return [...this.entries()];
  }
}

/** Adds a parameter to a list being built for a ParamList, or replaces the value of one already there. */
export function putParam(items: (string | null)[], name: string, value: string | null): void {
  let i = 0;
  while (i < items.length && items[i] !== name) i += 2;
  items[i] = name;
  items[i + 1] = value;
}
