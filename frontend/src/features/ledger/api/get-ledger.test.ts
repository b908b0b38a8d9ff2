import { describe, expect, it } from 'vitest';

import { cursorFromNext } from './get-ledger';

describe('cursorFromNext', () => {
  it("keeps the query string of the API's next link", () => {
    expect(cursorFromNext('http://api.internal:8000/api/v1/ledger?cursor=cD0yMDI1&limit=10')).toBe(
      '?cursor=cD0yMDI1&limit=10',
    );
    expect(cursorFromNext('/api/v1/ledger?cursor=abc')).toBe('?cursor=abc');
  });

  it('means no more pages for a missing link', () => {
    expect(cursorFromNext(null)).toBeUndefined();
    expect(cursorFromNext('http://api/api/v1/ledger')).toBeUndefined();
  });
});
