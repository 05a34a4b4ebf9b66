// Rewrites the generated part of docs/configuration.md from the config schema: npm run -w packages/gateway docs:config
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { REFERENCE_BEGIN, REFERENCE_END, configReference } from '../src/config/reference.js';

const file = fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url));
const text = readFileSync(file, 'utf8');
const begin = text.indexOf(REFERENCE_BEGIN);
const end = text.indexOf(REFERENCE_END);
if (begin < 0 || end < begin) throw new Error(`${file} has no generated reference block to replace`);
writeFileSync(file, text.slice(0, begin) + configReference() + text.slice(end + REFERENCE_END.length));
console.log(`updated ${file}`);
