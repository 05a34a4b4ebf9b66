/** ParamList: a read-only parameter map held as a flat list, used wherever a ReadonlyMap is. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ParamList, putParam } from './param-list.js';

function build(...pairs: [string, string | null][]): ParamList {
  const items: (string | null)[] = [];
  for (const [name, value] of pairs) putParam(items, name, value);
  return new ParamList(items);
}

describe('ParamList', () => {
  test('answers get, has and size as the Map of the same pairs would', () => {
    const pairs: [string, string | null][] = [['transport', 'tcp'], ['lr', null], ['tag', 'a6c85cf'], ['lr', 'x'], ['transport', 'udp']];
    const list = build(...pairs);
    const map = new Map(pairs);
    assert.equal(list.size, map.size);
    for (const name of ['transport', 'lr', 'tag', 'maddr', '']) {
      assert.equal(list.get(name), map.get(name), name);
      assert.equal(list.has(name), map.has(name), name);
    }
    // A repeated name keeps its first place and its last value.
    assert.deepStrictEqual([...list], [...map]);
    assert.deepStrictEqual([...list.keys()], [...map.keys()]);
    assert.deepStrictEqual([...list.values()], [...map.values()]);
    assert.deepStrictEqual([...list.entries()], [...map.entries()]);
  });

  test('a parameter without a value is present with null, unlike an absent one', () => {
    const list = build(['lr', null]);
    assert.equal(list.get('lr'), null);
    assert.equal(list.get('rport'), undefined);
    assert.ok(list.has('lr'));
  });

  test('copies into a Map for editing, iterates with forEach, and shows as pairs in JSON', () => {
    const list = build(['branch', 'z9hG4bK1'], ['rport', null]);
    const copy = new Map(list);
    copy.set('received', '192.0.2.1');
    assert.equal(list.size, 2);
    assert.deepStrictEqual([...copy], [['branch', 'z9hG4bK1'], ['rport', null], ['received', '192.0.2.1']]);
    const seen: unknown[] = [];
    list.forEach((value, name, owner) => seen.push([name, value, owner === list]));
    assert.deepStrictEqual(seen, [['branch', 'z9hG4bK1', true], ['rport', null, true]]);
    assert.equal(JSON.stringify({ params: list }), '{"params":[["branch","z9hG4bK1"],["rport",null]]}');
  });

  test('an empty list', () => {
    const list = new ParamList([]);
    assert.equal(list.size, 0);
    assert.equal(list.get('x'), undefined);
    assert.deepStrictEqual([...list], []);
  });
});
