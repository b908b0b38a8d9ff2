import { describe, expect, it } from 'vitest';

import { cursorFromLink } from './pagination';

describe('cursorFromLink', () => {
  it("keeps the query string of the API's page link, filters included", () => {
    expect(cursorFromLink('http://api.internal:8000/api/v1/ledger?cursor=cD0yMDI1&limit=10')).toBe(
      '?cursor=cD0yMDI1&limit=10',
    );
    expect(cursorFromLink('/api/v1/ledger?cursor=abc')).toBe('?cursor=abc');
    expect(cursorFromLink('http://api/api/v1/payouts?cursor=cj0x&limit=20&status=failed')).toBe(
      '?cursor=cj0x&limit=20&status=failed',
    );
  });

  it('means no such page for a missing link', () => {
    expect(cursorFromLink(null)).toBeUndefined();
    expect(cursorFromLink('http://api/api/v1/ledger')).toBeUndefined();
  });
});
