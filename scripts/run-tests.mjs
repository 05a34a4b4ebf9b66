#!/usr/bin/env node
// Runs every test with node's built-in runner. Unit tests live beside the code (packages/*/src/**/*.test.ts,
// examples/*/src/**/*.test.ts);
// end-to-end tests with real peers live in test/e2e and run inside a private network namespace so that all
// their traffic stays on a loopback interface nobody else shares.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = new Set(process.argv.slice(2));
const wantUnit = !args.has('--e2e');
const wantE2e = !args.has('--unit');

function findTests(dir, out = []) {
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries) {
    if (name === 'node_modules' || name === 'dist') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) findTests(path, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, path));
  }
  return out.sort();
}

const unit = [...findTests(join(root, 'packages')), ...findTests(join(root, 'examples'))];
const e2e = findTests(join(root, 'test/e2e'));
const files = [...(wantUnit ? unit : []), ...(wantE2e ? e2e : [])];
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

const nodeArgs = ['--import', 'tsx', '--import', './scripts/test-setup.mjs', '--test', '--test-reporter=spec', ...files];
let result;
if (wantE2e && e2e.length > 0) {
  // One namespace for the whole run: node's runner starts each file as a child, and they all inherit it. A pid
  // namespace of its own too, so that when the run ends the kernel ends every peer it started, whatever happened.
  const quoted = nodeArgs.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const unshare = ['-n', '-m', '-p', '-f', '--mount-proc', '--kill-child'];
  result = spawnSync('unshare', [...unshare, 'sh', '-c', `ip link set lo up && exec node ${quoted}`], { cwd: root, stdio: 'inherit' });
} else {
  result = spawnSync(process.execPath, nodeArgs, { cwd: root, stdio: 'inherit' });
}
if (result.error) {
  console.error(`could not start the test runner: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
