import { describe, expect, it } from 'vitest';

import { checkNarration, checkReference } from './attachments';

describe('checkReference', () => {
  it('accepts 1 to 40 of A-Z a-z 0-9 _ - . and treats blank as none', () => {
    expect(checkReference('  ')).toEqual({ ok: true, value: undefined });
    expect(checkReference(' INV-2026.03_41 ')).toEqual({ ok: true, value: 'INV-2026.03_41' });
    expect(checkReference('x'.repeat(40))).toEqual({ ok: true, value: 'x'.repeat(40) });
  });

  it('refuses spaces, other characters and more than 40', () => {
    expect(checkReference('INV 41').ok).toBe(false);
    expect(checkReference('INV/41').ok).toBe(false);
    expect(checkReference('ÏNV').ok).toBe(false);
    expect(checkReference('x'.repeat(41))).toEqual({ ok: false, message: 'A reference is at most 40 characters.' });
  });
});

describe('checkNarration', () => {
  it('accepts up to 30 printable ASCII characters', () => {
    expect(checkNarration('March retainer, part 2/3!')).toEqual({ ok: true, value: 'March retainer, part 2/3!' });
    expect(checkNarration('')).toEqual({ ok: true, value: undefined });
  });

  it('refuses other characters and more than 30', () => {
    expect(checkNarration('Rent ₹').ok).toBe(false);
    expect(checkNarration('tab\there').ok).toBe(false);
    expect(checkNarration('y'.repeat(31))).toEqual({ ok: false, message: 'A narration is at most 30 characters.' });
  });
});
