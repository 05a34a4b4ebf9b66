import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clampToViewport, fitPositions, isDrag, loadPositions, savePositions } from './drag.js';

describe('dragging', () => {
  const viewport = { width: 1000, height: 800 };
  const size = { width: 56, height: 56 };

  it('keeps the box inside the viewport', () => {
    assert.deepEqual(clampToViewport({ x: 500, y: 300 }, size, viewport), { x: 500, y: 300 });
    assert.deepEqual(clampToViewport({ x: -40, y: 2000 }, size, viewport), { x: 4, y: 740 });
    assert.deepEqual(clampToViewport({ x: 990, y: -3 }, size, viewport), { x: 940, y: 4 });
    assert.deepEqual(clampToViewport({ x: 10, y: 10 }, { width: 2000, height: 2000 }, viewport), { x: 4, y: 4 }, 'too big: top-left');
  });

  it('fits dragged positions to the viewport without changing them', () => {
    const dragged = { fab: { x: 1500, y: 100 }, panel: { x: 10, y: 20 } };
    const copy = structuredClone(dragged);
    assert.deepEqual(fitPositions(dragged, { fab: size }, viewport), { fab: { x: 940, y: 100 }, panel: { x: 10, y: 20 } }, 'a box of unknown size stays');
    assert.deepEqual(dragged, copy, 'the dragged positions are what gets saved');
    assert.deepEqual(fitPositions({}, { fab: size }, viewport), {});
  });

  it('tells a click from a drag', () => {
    assert.equal(isDrag({ x: 10, y: 10 }, { x: 12, y: 12 }), false);
    assert.equal(isDrag({ x: 10, y: 10 }, { x: 10, y: 15 }), true);
  });

  it('remembers positions and ignores garbage', () => {
    const items = new Map<string, string>();
    const storage = { getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => void items.set(k, v) };
    savePositions(storage, { fab: { x: 1, y: 2 } });
    assert.deepEqual(loadPositions(storage), { fab: { x: 1, y: 2 } });
    items.set('switchboard.position', '{"fab":{"x":"a"},"panel":{"x":3,"y":4}}');
    assert.deepEqual(loadPositions(storage), { panel: { x: 3, y: 4 } });
    items.set('switchboard.position', 'nope');
    assert.deepEqual(loadPositions(storage), {});
  });
});
