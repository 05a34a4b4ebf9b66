import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { resolveConfig } from './load.js';
import { REFERENCE_BEGIN, REFERENCE_END, configReference } from './reference.js';

const doc = readFileSync(fileURLToPath(new URL('../../../../docs/configuration.md', import.meta.url)), 'utf8');

describe('docs/configuration.md', () => {
  it('holds the reference generated from the schema (npm run -w packages/gateway docs:config)', () => {
    const block = doc.slice(doc.indexOf(REFERENCE_BEGIN), doc.indexOf(REFERENCE_END) + REFERENCE_END.length);
    assert.equal(block, configReference());
  });

  it('lists every top-level setting of the schema', () => {
    for (const key of ['http', 'sip', 'database', 'auth', 'ice', 'routing', 'logging', 'limits', 'lookup', 'pbx', 'lines', 'registrar', 'rtpengine']) {
      assert.ok(configReference().includes(`### \`${key}\``), key);
    }
  });

  it('has an example that the gateway accepts, with the secrets it names in the environment', () => {
    const example = /## A complete example[\s\S]*?```json\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(example !== undefined, 'the example is a ```json block');
    const raw = JSON.parse(example) as unknown;
    const names = [...example.matchAll(/"(?:secretEnv|tokenEnv|passwordEnv)": "([A-Z0-9_]+)"/g)].map((m) => m[1]!);
    assert.ok(names.length >= 5);
    const env = Object.fromEntries(names.map((name) => [name, `${name.toLowerCase()}-value-long-enough-for-any-secret`]));
    const config = resolveConfig(raw, { env, baseDir: '/etc/switchboard' });
    assert.equal(config.lines.length, 2);
    assert.equal(config.lookup?.timeoutMs, 1500);
    assert.equal(config.registrar.accounts.length, 2);
  });
});
