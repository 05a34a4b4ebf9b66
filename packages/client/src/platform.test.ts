import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ConnectionError } from './errors.js';
import { tabInstance } from './platform.js';
import { harness } from './test-support/fakes.js';

describe('tab instance', () => {
  const global = globalThis as { sessionStorage?: unknown };
  afterEach(() => {
    delete global.sessionStorage;
  });

  it('survives a reload of the tab: the id is kept in sessionStorage', () => {
    const store = new Map<string, string>();
    global.sessionStorage = { getItem: (key: string) => store.get(key) ?? null, setItem: (key: string, value: string) => store.set(key, value) };
    const first = tabInstance();
    assert.match(first, /^tab-[0-9a-f]{24}$/);
    assert.equal(tabInstance(), first);
  });

  it('still gives an id when storage is unavailable', () => {
    assert.notEqual(tabInstance(), tabInstance());
  });
});

describe('platform failures', () => {
  it('rejects connect() when the WebSocket cannot even be constructed', async () => {
    const h = harness({
      WebSocket: class {
        constructor() {
          throw new SyntaxError('bad URL');
        }
      } as unknown as typeof WebSocket,
    });
    await assert.rejects(h.phone.connect(), (error: unknown) => error instanceof ConnectionError && error.cause instanceof SyntaxError);
    assert.equal(h.phone.state, 'disconnected');
  });
});
