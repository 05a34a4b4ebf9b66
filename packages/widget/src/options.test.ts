import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultGatewayUrl, optionsFromScript } from './options.js';

describe('defaultGatewayUrl', () => {
  it('follows the script: http → ws, https → wss, same host and port, path /ws', () => {
    assert.equal(defaultGatewayUrl('https://gw.example.com/switchboard.js', 'https://crm.example.com/'), 'wss://gw.example.com/ws');
    assert.equal(defaultGatewayUrl('http://127.0.0.1:8080/switchboard.js?v=2', 'http://127.0.0.1:3000/deals'), 'ws://127.0.0.1:8080/ws');
    assert.equal(defaultGatewayUrl('/switchboard.js', 'https://crm.example.com:8443/x'), 'wss://crm.example.com:8443/ws');
  });

  it('falls back to the page when there is no script URL', () => {
    assert.equal(defaultGatewayUrl(undefined, 'https://crm.example.com/a'), 'wss://crm.example.com/ws');
    assert.equal(defaultGatewayUrl('', 'http://localhost:3000/'), 'ws://localhost:3000/ws');
    assert.equal(defaultGatewayUrl(undefined, 'file:///tmp/x.html'), undefined);
  });
});

describe('optionsFromScript', () => {
  it('needs a token URL and takes the overrides', () => {
    assert.equal(optionsFromScript({}), undefined);
    assert.deepEqual(optionsFromScript({ tokenUrl: '/crm/phone-token' }), { tokenUrl: '/crm/phone-token' });
    assert.deepEqual(optionsFromScript({ tokenUrl: '/t', gateway: 'wss://gw/ws', lang: 'ru' }), { tokenUrl: '/t', gatewayUrl: 'wss://gw/ws', lang: 'ru' });
  });
});
