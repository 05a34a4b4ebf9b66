/**
 * The browser bundle: one minified ES module, dist/switchboard-client.js, which the gateway serves at
 * /client/switchboard-client.js. `--size-only` prints its sizes without writing it.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundleFor, sizes, writeBrowserBundle, type Bundle, type BrowserBundleSpec } from '../../../scripts/browser-bundle.js';

/** The SDK's budget, minified and gzipped: it loads into every CRM page an operator opens. */
export const SIZE_BUDGET_BYTES = 15 * 1024;

export const BUNDLE_PATH = fileURLToPath(new URL('../dist/switchboard-client.js', import.meta.url));
const ENTRY = fileURLToPath(new URL('../src/index.ts', import.meta.url));

const SPEC: BrowserBundleSpec = { entry: ENTRY, outfile: BUNDLE_PATH, format: 'esm', budgetBytes: SIZE_BUDGET_BYTES };

export const bundle = (): Promise<Bundle> => bundleFor(SPEC);
export { sizes };

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await writeBrowserBundle(SPEC);
