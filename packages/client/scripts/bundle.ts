/**
 * The browser bundle: one minified ES module, dist/switchboard-client.js, which the gateway serves at
 * /client/switchboard-client.js. `--size-only` prints its sizes without writing it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/** The SDK's budget, minified and gzipped: it loads into every CRM page an operator opens. */
export const SIZE_BUDGET_BYTES = 15 * 1024;

export const BUNDLE_PATH = fileURLToPath(new URL('../dist/switchboard-client.js', import.meta.url));
const ENTRY = fileURLToPath(new URL('../src/index.ts', import.meta.url));

export interface Bundle {
  code: Uint8Array;
  map: Uint8Array;
}

export async function bundle(): Promise<Bundle> {
  const result = await build({
    entryPoints: [ENTRY],
    outfile: BUNDLE_PATH,
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    sourcemap: 'external',
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles.find((file) => file.path === BUNDLE_PATH);
  const map = result.outputFiles.find((file) => file.path === `${BUNDLE_PATH}.map`);
  if (!code || !map) throw new Error('esbuild produced no bundle');
  return { code: code.contents, map: map.contents };
}

export function sizes(code: Uint8Array): { minified: number; gzipped: number } {
  return { minified: code.byteLength, gzipped: gzipSync(code).byteLength };
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB (${bytes} bytes)`;
}

async function main(): Promise<void> {
  const { code, map } = await bundle();
  if (!process.argv.includes('--size-only')) {
    mkdirSync(dirname(BUNDLE_PATH), { recursive: true });
    writeFileSync(BUNDLE_PATH, code);
    writeFileSync(`${BUNDLE_PATH}.map`, map);
  }
  const { minified, gzipped } = sizes(code);
  console.log(`switchboard-client.js: ${kib(minified)} minified, ${kib(gzipped)} min+gzip (budget ${kib(SIZE_BUDGET_BYTES)})`);
  if (gzipped > SIZE_BUDGET_BYTES) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
