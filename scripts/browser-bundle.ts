/**
 * The one way a browser package here becomes a served file: esbuild, minified, ES2020, an external source map, and a
 * size budget in min+gzip bytes that the build and the packages' tests hold it to. The client SDK (an ES module) and
 * the widget (a classic script) each describe theirs in `scripts/bundle.ts`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';

export interface BrowserBundleSpec {
  entry: string;
  outfile: string;
  format: 'esm' | 'iife';
  budgetBytes: number;
  plugins?: Plugin[];
}

export interface Bundle {
  code: Uint8Array;
  map: Uint8Array;
}

export async function bundleFor(spec: BrowserBundleSpec): Promise<Bundle> {
  const result = await build({
    entryPoints: [spec.entry],
    outfile: spec.outfile,
    bundle: true,
    minify: true,
    format: spec.format,
    platform: 'browser',
    target: 'es2020',
    sourcemap: 'external',
    legalComments: 'none',
    plugins: spec.plugins ?? [],
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles.find((file) => file.path === spec.outfile);
  const map = result.outputFiles.find((file) => file.path === `${spec.outfile}.map`);
  if (!code || !map) throw new Error('esbuild produced no bundle');
  return { code: code.contents, map: map.contents };
}

export function sizes(code: Uint8Array): { minified: number; gzipped: number } {
  return { minified: code.byteLength, gzipped: gzipSync(code).byteLength };
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB (${bytes} bytes)`;
}

/** Builds and writes the file (unless `--size-only` was given), prints its sizes, and fails over budget. */
export async function writeBrowserBundle(spec: BrowserBundleSpec, argv: readonly string[] = process.argv): Promise<void> {
  const { code, map } = await bundleFor(spec);
  if (!argv.includes('--size-only')) {
    mkdirSync(dirname(spec.outfile), { recursive: true });
    writeFileSync(spec.outfile, code);
    writeFileSync(`${spec.outfile}.map`, map);
  }
  const { minified, gzipped } = sizes(code);
  console.log(`${basename(spec.outfile)}: ${kib(minified)} minified, ${kib(gzipped)} min+gzip (budget ${kib(spec.budgetBytes)})`);
  if (gzipped > spec.budgetBytes) process.exitCode = 1;
}
