/**
 * What a CRM page downloads for its phone: the widget file the gateway serves (widget, client SDK and lit in one),
 * and the headless SDK alone, next to two browser SIP stacks bundled in the same run with the same esbuild settings
 * (minified, ESM → IIFE, browser platform): SIP.js with what a softphone needs (UserAgent, Registerer, Inviter) and
 * JsSIP's UA. Their figures are the SIP stack alone, without any UI, so a widget that is smaller carries a
 * phone UI and is still lighter than the stack a browser softphone would need.
 *
 *   npm run build && npm run -w bench bench:bundle
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const TARGET_GZIP_BYTES = 40 * 1024;
const root = fileURLToPath(new URL('..', import.meta.url));

interface Row {
  name: string;
  what: string;
  minified: number;
  gzip: number;
}

function measure(name: string, what: string, code: Uint8Array): Row {
  return { name, what, minified: code.byteLength, gzip: gzipSync(code, { level: 9 }).byteLength };
}

async function bundle(contents: string): Promise<Uint8Array> {
  const result = await build({
    stdin: { contents, resolveDir: fileURLToPath(new URL('.', import.meta.url)), loader: 'js' },
    bundle: true,
    minify: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.contents;
}

function builtFile(path: string): Uint8Array {
  try {
    return readFileSync(`${root}${path}`);
  } catch {
    throw new Error(`${path} is missing: run npm run build first`);
  }
}

const rows: Row[] = [
  measure('@switchboard/widget', 'the served /switchboard.js: UI, client SDK, lit', builtFile('packages/widget/dist/switchboard.js')),
  measure('@switchboard/client', 'the headless SDK bundle', builtFile('packages/client/dist/switchboard-client.js')),
  measure(
    'SIP.js 0.21.2',
    'UserAgent + Registerer + Inviter, no UI',
    await bundle("import { UserAgent, Registerer, Inviter } from 'sip.js'; window.__keep = [UserAgent, Registerer, Inviter];"),
  ),
  measure('JsSIP 3.13.8', 'UA, no UI', await bundle("import JsSIP from 'jssip'; window.__keep = JsSIP.UA;")),
];

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const widget = rows[0]!;
console.log('| bundle | contents | minified | min+gzip | widget ÷ this (gzip) |');
console.log('|---|---|---:|---:|---:|');
for (const row of rows) {
  const ratio = row === widget ? '' : `${(widget.gzip / row.gzip).toFixed(2)}×`;
  console.log(`| ${row.name} | ${row.what} | ${row.minified.toLocaleString('en')} B (${kib(row.minified)}) | ${row.gzip.toLocaleString('en')} B (${kib(row.gzip)}) | ${ratio} |`);
}
const met = widget.gzip <= TARGET_GZIP_BYTES;
console.log(`\nwidget: ${widget.gzip.toLocaleString('en')} B min+gzip, target ≤ ${TARGET_GZIP_BYTES.toLocaleString('en')} B: ${met ? 'met' : 'NOT met'}`);

mkdirSync(`${root}bench/results`, { recursive: true });
writeFileSync(`${root}bench/results/bundle-size.json`, `${JSON.stringify({ measuredAt: new Date().toISOString(), targetGzipBytes: TARGET_GZIP_BYTES, met, rows }, null, 2)}\n`);
if (!met) process.exitCode = 1;
