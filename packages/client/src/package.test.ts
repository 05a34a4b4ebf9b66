import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SIZE_BUDGET_BYTES, bundle, sizes } from '../scripts/bundle.js';
import { CLIENT_VERSION } from './version.js';

const SRC = fileURLToPath(new URL('.', import.meta.url));

function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'test-support' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('the browser bundle', () => {
  it(`stays within ${SIZE_BUDGET_BYTES} bytes minified and gzipped`, async () => {
    const { code } = await bundle();
    const { minified, gzipped } = sizes(code);
    assert.ok(gzipped <= SIZE_BUDGET_BYTES, `${gzipped} bytes min+gzip (${minified} minified) is over the budget`);
  });

  it('carries no schema library and builds no code at run time', async () => {
    const text = new TextDecoder().decode((await bundle()).code);
    assert.doesNotMatch(text, /sinclair|TypeBox|TypeCompiler/i);
    assert.doesNotMatch(text, /new Function|\beval\(/);
    assert.match(text, /export\{[^}]*createPhone/);
  });
});

describe('the package', () => {
  it('takes only types from the protocol package at run time, and nothing from other packages', () => {
    let protocolImports = 0;
    for (const file of sourceFiles()) {
      const source = readFileSync(file, 'utf8');
      for (const [, clause, from] of Array.from(source.matchAll(/^(?:import|export)\s+(type\s+)?[^'";]*?from\s+'([^']+)'/gm))) {
        if (from?.startsWith('.')) continue;
        // The one module of the protocol package that imports nothing may give values too.
        if (from === '@switchboard/protocol/utf8') continue;
        assert.equal(from, '@switchboard/protocol', `${file} imports ${from}`);
        assert.ok(clause, `${file} imports values from ${from}: the bundle would carry the schema library`);
        protocolImports++;
      }
    }
    assert.ok(protocolImports >= 5, 'the import scan found the protocol imports');
    const utf8 = readFileSync(new URL('../../protocol/src/utf8.ts', import.meta.url), 'utf8');
    assert.doesNotMatch(utf8, /^\s*(import|export .* from)\b/m, 'protocol/src/utf8.ts imports nothing');
  });

  it('names its own version in hello', () => {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(CLIENT_VERSION, manifest.version);
  });
});
