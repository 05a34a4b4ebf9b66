import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { numberForClick, numberOf, type Click } from './click-to-call.js';

/** Just enough of an element: attributes, a parent, and `closest` for the attribute selectors numberOf uses. */
class FakeElement {
  constructor(
    private readonly attributes: Record<string, string>,
    private readonly parent?: FakeElement,
  ) {}
  getAttribute(name: string): string | null {
    return this.attributes[name] ?? null;
  }
  hasAttribute(name: string): boolean {
    return name in this.attributes;
  }
  closest(selector: string): FakeElement | null {
    const match = /^\[([\w-]+)(?:="([^"]*)"( i)?)?\]$/.exec(selector);
    if (!match) throw new Error(`unsupported selector ${selector}`);
    const [, name = '', value, insensitive] = match;
    for (let el: FakeElement | undefined = this; el; el = el.parent) {
      const actual = el.getAttribute(name);
      if (actual === null) continue;
      if (value === undefined || (insensitive ? actual.toLowerCase() === value.toLowerCase() : actual === value)) return el;
    }
    return null;
  }
}

const el = (attributes: Record<string, string>, parent?: FakeElement) => new FakeElement(attributes, parent) as unknown as Element;

describe('click-to-call opt-outs', () => {
  it('takes tel: links and data-switchboard-call elements', () => {
    assert.equal(numberOf(el({ href: 'tel:+1%20555' })), '+1 555');
    assert.equal(numberOf(el({ 'data-switchboard-call': '102' })), '102');
    assert.equal(numberOf(el({ href: 'mailto:a@b' })), undefined);
  });

  it('leaves elements marked off, or inside an ignored or switched-off region, to the page', () => {
    assert.equal(numberOf(el({ href: 'tel:102', 'data-switchboard-call': 'off' })), undefined);
    assert.equal(numberOf(el({ href: 'tel:102', 'data-switchboard-call': 'OFF' })), undefined);
    const ignored = new FakeElement({ 'data-switchboard-ignore': '' });
    assert.equal(numberOf(el({ href: 'tel:102' }, ignored)), undefined);
    assert.equal(numberOf(el({ 'data-switchboard-call': '102' }, new FakeElement({}, ignored))), undefined);
    assert.equal(numberOf(el({ href: 'tel:102' }, new FakeElement({ 'data-switchboard-call': 'off' }))), undefined);
  });
});

describe('click-to-call clicks', () => {
  const plain: Click = { defaultPrevented: false, button: 0, metaKey: false, ctrlKey: false, shiftKey: false, altKey: false };
  it('leaves a tel: link whose default the page prevented to the page', () => {
    assert.equal(numberForClick(plain, el({ href: 'tel:102' })), '102');
    assert.equal(numberForClick({ ...plain, defaultPrevented: true }, el({ href: 'tel:102' })), undefined);
  });

  it('takes an explicit data-switchboard-call element even when a page handler prevented the default', () => {
    assert.equal(numberForClick({ ...plain, defaultPrevented: true }, el({ 'data-switchboard-call': '102' })), '102');
    assert.equal(numberForClick({ ...plain, defaultPrevented: true }, el({ href: 'tel:103', 'data-switchboard-call': '102' })), '102');
    assert.equal(numberForClick({ ...plain, defaultPrevented: true }, el({ 'data-switchboard-call': 'off' })), undefined);
  });

  it('leaves modified and non-primary clicks to the browser', () => {
    for (const change of [{ button: 1 }, { metaKey: true }, { ctrlKey: true }, { shiftKey: true }, { altKey: true }]) {
      assert.equal(numberForClick({ ...plain, ...change }, el({ 'data-switchboard-call': '102' })), undefined, JSON.stringify(change));
    }
  });
});
