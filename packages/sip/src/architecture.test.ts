/**
 * The protocol core runs in browsers and Node alike and is tested with injected clocks: it must not reach for
 * Node modules, the DOM, or the platform's timers and randomness directly. Only `src/node/` (the Node transports)
 * and test code may.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('.', import.meta.url));

function coreFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const rel = relative(src, path);
    if (statSync(path).isDirectory()) {
      if (rel === 'node' || rel === 'test-support' || name === 'fixtures') continue;
      coreFiles(path, out);
    } else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
const PLATFORM_GLOBALS = /\b(?:window|document|navigator|process|Buffer|require)\s*[.(]/;

test('the protocol core imports nothing but itself and platform-neutral packages', () => {
  const offenders: string[] = [];
  const files = coreFiles(src);
  assert.ok(files.length > 5, 'found the core files');
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2]!;
      const allowed = specifier.startsWith('.') || specifier === 'sdp-transform';
      if (!allowed) offenders.push(`${relative(src, file)} imports ${specifier}`);
    }
    const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    const global = PLATFORM_GLOBALS.exec(code);
    if (global) offenders.push(`${relative(src, file)} uses ${global[0]}`);
  }
  assert.deepEqual(offenders, []);
});

test('timers and randomness in the core go through the injected clock', () => {
  const offenders: string[] = [];
  for (const file of coreFiles(src)) {
    if (file.endsWith('clock.ts')) continue;
    const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    if (/(?<![.\w])(?:setTimeout|setInterval)\s*\(|Math\.random\s*\(|Date\.now\s*\(/.test(code)) offenders.push(relative(src, file));
  }
  assert.deepEqual(offenders, []);
});
