/**
 * The served file: dist/switchboard.js, one minified IIFE holding the widget, the client SDK and lit, which the
 * gateway serves at /switchboard.js. A separate .map sits beside it. `--size-only` prints the sizes without
 * writing anything.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';
import { bundleFor, sizes, writeBrowserBundle, type Bundle, type BrowserBundleSpec } from '../../../scripts/browser-bundle.js';

/** The widget's budget, minified and gzipped, SDK included: it loads into every CRM page an operator opens. */
export const SIZE_BUDGET_BYTES = 40 * 1024;

export const BUNDLE_PATH = fileURLToPath(new URL('../dist/switchboard.js', import.meta.url));
const ENTRY = fileURLToPath(new URL('../src/index.ts', import.meta.url));

/**
 * lit puts things on the page's global object: its versions (`litHtmlVersions`, `reactiveElementVersions`,
 * `litElementVersions`, to warn about duplicate copies) and `litPropertyMetadata` (a WeakMap for decorators). The
 * widget promises the host page one global, `window.Switchboard`, so the registrations are removed and the
 * WeakMap becomes a module variable. A build fails if lit stops matching, rather than quietly leaking them again.
 */
const VERSION_REGISTRY = /\(\s*[\w$]+\.(litHtmlVersions|reactiveElementVersions|litElementVersions)\s*\?\?=\s*\[\]\s*\)\.push\("[^"]*"\)/g;
const METADATA_GLOBAL = /[\w$]+\.litPropertyMetadata\s*\?\?=\s*new WeakMap(\(\))?/g;
const LIT_FILES = /[\\/]node_modules[\\/](lit-html|lit-element|@lit[\\/]reactive-element)[\\/].*\.js$/;

export const stripLitGlobals: Plugin = {
  name: 'strip-lit-globals',
  setup(b) {
    b.onLoad({ filter: LIT_FILES }, (args) => {
      let contents = readFileSync(args.path, 'utf8');
      const registers = /(lit-html|lit-element|reactive-element)\.js$/.test(args.path) && !/[\\/]decorators[\\/]/.test(args.path);
      let versions = 0;
      contents = contents.replace(VERSION_REGISTRY, () => {
        versions++;
        return 'void 0';
      });
      if (registers && versions !== 1) return { errors: [{ text: `expected one lit version registration in ${args.path}, found ${versions}` }] };
      if (/litPropertyMetadata/.test(contents)) {
        if (/[\\/]decorators[\\/]/.test(args.path)) return { errors: [{ text: `lit decorators would share litPropertyMetadata through a global: ${args.path}` }] };
        let assignments = 0;
        contents = contents.replace(METADATA_GLOBAL, () => {
          assignments++;
          return 'void 0';
        });
        if (assignments !== 1) return { errors: [{ text: `expected one litPropertyMetadata assignment in ${args.path}, found ${assignments}` }] };
        contents = `const __switchboardLitPropertyMetadata=new WeakMap();${contents.replace(/\blitPropertyMetadata\b/g, '__switchboardLitPropertyMetadata')}`;
      }
      return { contents, loader: 'js' };
    });
  },
};

const SPEC: BrowserBundleSpec = { entry: ENTRY, outfile: BUNDLE_PATH, format: 'iife', budgetBytes: SIZE_BUDGET_BYTES, plugins: [stripLitGlobals] };

export const bundle = (): Promise<Bundle> => bundleFor(SPEC);
export { sizes };

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await writeBrowserBundle(SPEC);
