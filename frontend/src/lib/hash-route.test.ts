import { describe, expect, it } from 'vitest';

import { hashFor, parseHash } from './hash-route';

describe('hash routes', () => {
  it('splits the hash into decoded segments', () => {
    expect(parseHash('')).toEqual([]);
    expect(parseHash('#/')).toEqual([]);
    expect(parseHash('#/payouts/42')).toEqual(['payouts', '42']);
    expect(parseHash('#payouts//42/')).toEqual(['payouts', '42']);
    expect(parseHash('#/notes/a%2Fb')).toEqual(['notes', 'a/b']);
  });

  it('builds a hash that parses back to the same segments', () => {
    expect(hashFor(['payouts', 42])).toBe('#/payouts/42');
    expect(parseHash(hashFor(['notes', 'a/b c']))).toEqual(['notes', 'a/b c']);
  });
});
