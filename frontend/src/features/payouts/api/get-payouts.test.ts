import { describe, expect, it } from 'vitest';

import { payoutsExportPath } from './export-payouts';
import { dayAfter, payoutFilterParams, payoutsPath } from './get-payouts';

describe('payout filters', () => {
  it('sends each chosen filter as the API names it; the last day of a range is included', () => {
    const params = payoutFilterParams({ status: 'failed', reference: ' INV-1 ', from: '2026-01-30', to: '2026-01-31' });

    expect(params.toString()).toBe('status=failed&reference_id=INV-1&created_gte=2026-01-30&created_lt=2026-02-01');
  });

  it('sends nothing for filters left empty', () => {
    expect(payoutFilterParams({ status: 'all', reference: '', from: '', to: '' }).toString()).toBe('');
    expect(payoutsPath({ status: 'all', cursor: null })).toBe('/payouts?limit=20');
  });

  it('follows a page link as it is: it carries the filters', () => {
    expect(payoutsPath({ status: 'failed', reference: 'A', cursor: '?cursor=abc&reference_id=A&status=failed' })).toBe(
      '/payouts?cursor=abc&reference_id=A&status=failed',
    );
  });

  it('counts days across month, year and leap-day ends', () => {
    expect(dayAfter('2026-01-31')).toBe('2026-02-01');
    expect(dayAfter('2026-12-31')).toBe('2027-01-01');
    expect(dayAfter('2028-02-28')).toBe('2028-02-29');
  });

  it('exports with the same filters, every page', () => {
    expect(payoutsExportPath({ status: 'all' })).toBe('/payouts/export.csv');
    expect(payoutsExportPath({ status: 'completed', from: '2026-03-01' })).toBe(
      '/payouts/export.csv?status=completed&created_gte=2026-03-01',
    );
  });
});
