/**
 * The parameters of a URI or header as parsed: read-only, in the order written, names unique (a repeated name keeps
 * its first place and its last value, as Map.set would). A header has one or two, so a flat list searched in order
 * is cheaper to build than a Map, which allocates a hash table and hashes every name. Anything that takes a
 * ReadonlyMap takes one, and `new Map(list)` copies one for editing.
 */
export class ParamList implements ReadonlyMap<string, string | null> {
  /** Names and values alternating. */
  readonly #items: (string | null)[];

  /** `items`: names and values alternating, names unique (see `putParam`); kept, not copied. */
  constructor(items: (string | null)[]) {
    this.#items = items;
  }

  get size(): number {
    return this.#items.length >> 1;
  }

  get(name: string): string | null | undefined {
    const items = this.#items;
    for (let i = 0; i < items.length; i += 2) if (items[i] === name) return items[i + 1];
    return undefined;
  }

  has(name: string): boolean {
    const items = this.#items;
    for (let i = 0; i < items.length; i += 2) if (items[i] === name) return true;
    return false;
  }

  forEach(callback: (value: string | null, name: string, map: ReadonlyMap<string, string | null>) => void, thisArg?: unknown): void {
    const items = this.#items;
    for (let i = 0; i < items.length; i += 2) callback.call(thisArg, items[i + 1]!, items[i]!, this);
  }

  *entries(): MapIterator<[string, string | null]> {
    const items = this.#items;
    for (let i = 0; i < items.length; i += 2) yield [items[i]!, items[i + 1]!];
  }

  *keys(): MapIterator<string> {
    const items = this.#items;
    for (let i = 0; i < items.length; i += 2) yield items[i]!;
  }

  *values(): MapIterator<string | null> {
    const items = this.#items;
    for (let i = 1; i < items.length; i += 2) yield items[i]!;
  }

  [Symbol.iterator](): MapIterator<[string, string | null]> {
    return this.entries();
  }

  /** JSON and logs show the pairs, as for a Map spread into an array. */
  toJSON(): [string, string | null][] {
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
