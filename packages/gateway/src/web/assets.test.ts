import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Fastify from 'fastify';
import { pino } from 'pino';
import { CLIENT_BUNDLE_PATH, WIDGET_BUNDLE_PATH, registerAssets } from './assets.js';

const dir = mkdtempSync(join(tmpdir(), 'switchboard-assets-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function serve(clientBundle: string) {
  const app = Fastify();
  registerAssets(app, { logger: pino({ level: 'silent' }), clientBundle });
  await app.ready();
  return app;
}

describe('web assets', () => {
  it('serves the client bundle as JavaScript that any origin may load, and picks up a rebuilt file', async () => {
    const file = join(dir, 'bundle.js');
    writeFileSync(file, 'export const v = 1;\n');
    const app = await serve(file);
    const first = await app.inject({ method: 'GET', url: CLIENT_BUNDLE_PATH });
    assert.equal(first.statusCode, 200);
    assert.equal(first.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(first.headers['access-control-allow-origin'], '*');
    assert.equal(first.headers['x-content-type-options'], 'nosniff');
    assert.equal(first.body, 'export const v = 1;\n');
    writeFileSync(file, 'export const v = 2;\n');
    assert.equal((await app.inject({ method: 'GET', url: CLIENT_BUNDLE_PATH })).body, 'export const v = 2;\n');
    await app.close();
  });

  it('serves the widget at /switchboard.js, from its own file', async () => {
    const client = join(dir, 'client.js');
    const widget = join(dir, 'widget.js');
    writeFileSync(client, 'client();\n');
    writeFileSync(widget, 'widget();\n');
    const app = Fastify();
    registerAssets(app, { logger: pino({ level: 'silent' }), clientBundle: client, widgetBundle: widget });
    await app.ready();
    const response = await app.inject({ method: 'GET', url: WIDGET_BUNDLE_PATH });
    assert.equal(response.statusCode, 200);
    assert.equal(response.body, 'widget();\n');
    assert.equal(response.headers['access-control-allow-origin'], '*');
    assert.equal((await app.inject({ method: 'GET', url: CLIENT_BUNDLE_PATH })).body, 'client();\n');
    await app.close();
  });

  it('answers 503 with the fix when the bundle has not been built', async () => {
    const app = await serve(join(dir, 'missing.js'));
    const response = await app.inject({ method: 'GET', url: CLIENT_BUNDLE_PATH });
    assert.equal(response.statusCode, 503);
    assert.match(response.body, /npm run build/);
    await app.close();
  });

  it('has no demo page and no token endpoint outside demo mode', async () => {
    const app = await serve(join(dir, 'missing.js'));
    for (const url of ['/', '/demo/token?operator=101', '/demo/demo.js']) {
      assert.equal((await app.inject({ method: 'GET', url })).statusCode, 404, url);
    }
    await app.close();
  });
});
