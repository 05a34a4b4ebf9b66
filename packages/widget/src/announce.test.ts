import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextConnectionNews, QUIET, type ConnectionNews } from './announce.js';

type Step = [problem: string | undefined, text: string, busy?: boolean];

function run(steps: Step[]): string[] {
  let news: ConnectionNews = QUIET;
  return steps.map(([problem, text, busy = false]) => {
    news = nextConnectionNews(news, problem, text, busy);
    return news.say;
  });
}

describe('connection announcements', () => {
  it('say nothing about a routine connection: on load, line changes, after a call', () => {
    assert.deepEqual(
      run([
        [undefined, 'Connecting…'],
        [undefined, 'Online: Ada (101)'],
        [undefined, 'Online: Ada (101) · line registered'],
        [undefined, 'Online: Ada (101)', true],
        [undefined, 'Online: Ada (101)'],
      ]),
      ['', '', '', '', ''],
    );
  });

  it('say a problem once per kind, however often it is retried, and the recovery', () => {
    assert.deepEqual(
      run([
        [undefined, 'Connecting…'],
        ['token.server', 'Cannot get a phone token: server error (500)'],
        ['token.server', 'Cannot get a phone token: server error (500)'],
        ['token.network', 'Cannot reach the CRM for a phone token'],
        [undefined, 'Online: Ada (101)'],
        [undefined, 'Online: Ada (101) · line registered'],
      ]),
      [
        '',
        'Cannot get a phone token: server error (500)',
        'Cannot get a phone token: server error (500)',
        'Cannot reach the CRM for a phone token',
        'Online: Ada (101)',
        'Online: Ada (101)',
      ],
    );
  });

  it('do not bring old news back once a call took the region', () => {
    assert.deepEqual(
      run([
        ['reconnecting', 'Connection lost. Reconnecting…'],
        [undefined, 'Online: Ada (101)'],
        [undefined, 'Online: Ada (101)', true],
        [undefined, 'Online: Ada (101)'],
        ['line.failed', 'Online: Ada (101) · line failed: 503'],
      ]),
      ['Connection lost. Reconnecting…', 'Online: Ada (101)', '', '', 'Online: Ada (101) · line failed: 503'],
    );
  });
});
