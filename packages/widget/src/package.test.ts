import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createContext, runInContext } from 'node:vm';
import { SIZE_BUDGET_BYTES, bundle, sizes } from '../scripts/bundle.js';
import { WIDGET_VERSION } from './version.js';

const SRC = fileURLToPath(new URL('.', import.meta.url));

function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Anything at all: every property is another one, every call returns another one. Enough DOM for lit to load. */
function anything(): unknown {
  const target = function () {};
  const proxy: unknown = new Proxy(target, {
    get: (_t, key) => (key === Symbol.toPrimitive ? () => '' : key === 'then' ? undefined : proxy),
    apply: () => proxy,
    construct: () => proxy as object,
  });
  return proxy;
}

/** Evaluates the bundle in a fresh global with a stub DOM; returns the globals it added. */
function newGlobals(code: string, times = 1): string[] {
  const defined = new Map<string, unknown>();
  const sandbox = {
    document: anything(),
    navigator: { language: 'en', languages: ['en'] },
    location: { href: 'https://crm.example.com/' },
    customElements: {
      get: (name: string) => defined.get(name),
      define: (name: string, constructor: unknown) => {
        if (defined.has(name)) throw new Error(`${name} has already been defined`);
        defined.set(name, constructor);
      },
    },
    HTMLElement: class {},
    HTMLScriptElement: class {},
  };
  const context = createContext(sandbox);
  runInContext('globalThis.window = globalThis; globalThis.self = globalThis;', context);
  const before = new Set(runInContext('Object.getOwnPropertyNames(globalThis)', context) as string[]);
  for (let i = 0; i < times; i++) runInContext(code, context);
  const after = runInContext('Object.getOwnPropertyNames(globalThis)', context) as string[];
  return Array.from(after).filter((name) => !before.has(name)).sort();
}

describe('the served bundle', () => {
  it(`stays within ${SIZE_BUDGET_BYTES} bytes minified and gzipped, SDK and lit included`, async () => {
    const { code } = await bundle();
    const { minified, gzipped } = sizes(code);
    assert.ok(gzipped <= SIZE_BUDGET_BYTES, `${gzipped} bytes min+gzip (${minified} minified) is over the budget`);
  });

  it('adds window.Switchboard and no other global, even when loaded twice', async () => {
    const text = new TextDecoder().decode((await bundle()).code);
    assert.doesNotMatch(text, /litHtmlVersions|litElementVersions|reactiveElementVersions/);
    assert.deepEqual(newGlobals(text), ['Switchboard']);
    assert.deepEqual(newGlobals(text, 2), ['Switchboard'], 'a second copy neither throws nor adds anything');
  });

  it('builds no code at run time and carries no schema library', async () => {
    const text = new TextDecoder().decode((await bundle()).code);
    assert.doesNotMatch(text, /new Function|\beval\(/);
    assert.doesNotMatch(text, /sinclair|TypeCompiler/i);
  });
});

describe('the package', () => {
  it('writes nothing to the console', () => {
    for (const file of sourceFiles()) assert.doesNotMatch(readFileSync(file, 'utf8'), /\bconsole\./, file);
  });

  it('keeps lit out of the modules its unit tests load', () => {
    const pure = ['phone-number.ts', 'widget-state.ts', 'controls.ts', 'token-source.ts', 'recent-calls.ts', 'options.ts', 'duration.ts', 'drag.ts'];
    for (const name of [...pure, 'i18n/index.ts', 'i18n/en.ts', 'i18n/ru.ts']) {
      assert.doesNotMatch(readFileSync(join(SRC, name), 'utf8'), /from 'lit/, name);
    }
  });

  it('names its version as package.json does', () => {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(WIDGET_VERSION, manifest.version);
  });
});
