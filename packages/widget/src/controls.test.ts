import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ACTIONS, control } from './controls.js';
import { hasCall, transition, type WidgetState } from './widget-state.js';

const STATES: WidgetState[] = ['disconnected', 'connecting', 'idle', 'dialling', 'ringing-in', 'in-call', 'ended'];

/** In a call that takes digits and can be transferred, unless said otherwise. */
function enabled(state: WidgetState, hasNumber = true, features = { takesDigits: true, transferable: true }): string[] {
  return ACTIONS.filter((a) => control(a, state, { hasNumber, ...features }).enabled).sort();
}

describe('controls per state', () => {
  it('enable exactly the actions possible in each state', () => {
    assert.deepEqual(enabled('disconnected'), ['dialpad', 'number']);
    assert.deepEqual(enabled('connecting'), ['call', 'dialpad', 'number']);
    assert.deepEqual(enabled('connecting', false), ['dialpad', 'number']);
    assert.deepEqual(enabled('idle'), ['call', 'callback', 'dialpad', 'number']);
    assert.deepEqual(enabled('idle', false), ['callback', 'dialpad', 'number']);
    assert.deepEqual(enabled('dialling'), ['hangup']);
    assert.deepEqual(enabled('ringing-in'), ['answer', 'reject']);
    assert.deepEqual(enabled('in-call'), ['hangup', 'hold', 'keypad', 'mute', 'transfer']);
    assert.deepEqual(enabled('ended'), ['call', 'callback', 'dialpad', 'number']);
  });

  it('disable Answer while an answer is under way, and only Answer', () => {
    assert.deepEqual(control('answer', 'ringing-in', { hasNumber: false, answering: true }), { shown: true, enabled: false });
    assert.deepEqual(control('reject', 'ringing-in', { hasNumber: false, answering: true }), { shown: true, enabled: true });
    assert.deepEqual(control('answer', 'ringing-in', { hasNumber: false, answering: false }), { shown: true, enabled: true });
  });

  it('disable Hold while a hold or resume is under way, and only Hold', () => {
    assert.deepEqual(control('hold', 'in-call', { hasNumber: false, holding: true }), { shown: true, enabled: false });
    assert.deepEqual(control('hangup', 'in-call', { hasNumber: false, holding: true }), { shown: true, enabled: true });
    assert.deepEqual(control('mute', 'in-call', { hasNumber: false, holding: true }), { shown: true, enabled: true });
  });

  it('disable Transfer while a transfer is under way, and only Transfer', () => {
    const call = { takesDigits: true, transferable: true };
    assert.deepEqual(control('transfer', 'in-call', { hasNumber: false, transferring: true, ...call }), { shown: true, enabled: false });
    assert.deepEqual(control('keypad', 'in-call', { hasNumber: false, transferring: true, ...call }), { shown: true, enabled: true });
    assert.deepEqual(control('hangup', 'in-call', { hasNumber: false, transferring: true }), { shown: true, enabled: true });
  });

  it('show Keypad and Transfer only on calls that take digits and can be transferred', () => {
    assert.deepEqual(enabled('in-call', true, { takesDigits: false, transferable: false }), ['hangup', 'hold', 'mute']);
    assert.deepEqual(enabled('in-call', true, { takesDigits: true, transferable: false }), ['hangup', 'hold', 'keypad', 'mute']);
    assert.deepEqual(enabled('in-call', true, { takesDigits: false, transferable: true }), ['hangup', 'hold', 'mute', 'transfer']);
    assert.deepEqual(control('keypad', 'in-call', { hasNumber: false }), { shown: false, enabled: false }, 'features not known: not shown');
    assert.deepEqual(control('transfer', 'in-call', { hasNumber: false, takesDigits: true }), { shown: false, enabled: false });
  });

  it('never show Call with Hang up, nor Answer outside ringing; an enabled control is always shown', () => {
    for (const state of STATES) {
      const shown = (a: (typeof ACTIONS)[number]) => control(a, state, { hasNumber: true }).shown;
      assert.ok(!(shown('call') && shown('hangup')), state);
      assert.equal(shown('answer'), state === 'ringing-in', state);
      assert.equal(shown('call') || shown('hangup') || shown('answer'), true, `${state}: one main action`);
      for (const action of ACTIONS) {
        for (const features of [{}, { takesDigits: true, transferable: true }]) {
          const c = control(action, state, { hasNumber: true, ...features });
          assert.ok(!c.enabled || c.shown, `${state} ${action} ${JSON.stringify(features)}`);
        }
      }
      // A hang-up button exists exactly when a call of this tab does (ringing in is answered or rejected).
      assert.equal(shown('hangup') || shown('reject'), hasCall(state), state);
    }
  });
});

describe('the widget state machine', () => {
  it('follows a call out and a call in', () => {
    const run = (start: WidgetState, events: Parameters<typeof transition>[1][]) =>
      events.reduce<WidgetState>((state, event) => transition(state, event) ?? assert.fail(`${state} --${event}-->`), start);
    assert.equal(run('disconnected', ['connecting', 'connected', 'dial', 'answered', 'ended', 'reset']), 'idle');
    assert.equal(run('idle', ['incoming', 'answered', 'lost', 'connected', 'incoming', 'ended', 'dial']), 'dialling');
    assert.equal(run('in-call', ['stopped']), 'disconnected');
  });

  it('refuses events that mean nothing in a state', () => {
    assert.equal(transition('disconnected', 'dial'), undefined);
    assert.equal(transition('in-call', 'incoming'), undefined);
    assert.equal(transition('dialling', 'dial'), undefined);
    assert.equal(transition('idle', 'answered'), undefined);
    assert.equal(transition('disconnected', 'lost'), undefined);
    assert.equal(transition('idle', 'reset'), undefined);
  });
});
