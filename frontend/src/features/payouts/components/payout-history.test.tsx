import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { json, renderWithProviders, stubApi } from '@/testing/test-utils';
import type { Payout } from '@/types/api';

import { PayoutHistory } from './payout-history';

function payout(overrides: Partial<Payout>): Payout {
  return {
    id: 1,
    amount_paise: 100,
    bank_account_id: 7,
    status: 'pending',
    attempts: 0,
    failure_reason: null,
    created_at: '2025-01-01T10:00:00Z',
    updated_at: '2025-01-01T10:00:00Z',
    ...overrides,
  };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('PayoutHistory', () => {
  it('lists payouts with their status, amount, attempts and failure reason', async () => {
    stubApi({
      'GET /bank-accounts': () => json(200, [{ id: 7, holder_name: 'Asha', ifsc: 'HDFC0001234', account_last4: '4321' }]),
      'GET /payouts': () =>
        json(200, {
          results: [
            payout({ id: 2, status: 'processing', amount_paise: 12345678, attempts: 1 }),
            payout({ id: 1, status: 'failed', attempts: 3, failure_reason: 'Bank did not answer after 3 attempts.' }),
          ],
          next: null,
          previous: null,
        }),
    });

    renderWithProviders(<PayoutHistory />);

    const rows = await screen.findAllByTestId('payout-row');
    expect(rows.map((row) => row.dataset.status)).toEqual(['processing', 'failed']);
    expect(rows[0]).toHaveTextContent('₹1,23,456.78');
    expect(rows[0]).toHaveTextContent('1 attempt');
    expect(rows[1]).toHaveTextContent('Bank did not answer after 3 attempts.');
    expect(screen.getByText('Updating live')).toBeInTheDocument();
  });

  it("shows a payout's events as a timeline when the row is opened", async () => {
    const api = stubApi({
      'GET /bank-accounts': () => json(200, []),
      'GET /payouts': () => json(200, { results: [payout({ id: 5, status: 'completed', attempts: 1 })], next: null, previous: null }),
      'GET /payouts/5/events': () =>
        json(200, [
          { from_status: 'pending', to_status: 'processing', attempt: 1, reason: null, created_at: '2025-01-01T10:00:01Z' },
          { from_status: 'processing', to_status: 'completed', attempt: 1, reason: 'Bank confirmed', created_at: '2025-01-01T10:00:02Z' },
        ]),
    });
    const user = userEvent.setup();
    renderWithProviders(<PayoutHistory />);

    const row = await screen.findByTestId('payout-row');
    const toggle = within(row).getByRole('button');
    expect(toggle).toHaveAttribute('aria-expanded', 'false');
    await user.click(toggle);

    expect(toggle).toHaveAttribute('aria-expanded', 'true');
    const items = await within(row).findAllByRole('listitem');
    expect(items).toHaveLength(2);
    expect(items[1]).toHaveTextContent(/Processing\s*→\s*to\s*Completed/);
    expect(items[1]).toHaveTextContent('Bank confirmed');
    expect(api.requests.some((request) => request.path === '/payouts/5/events')).toBe(true);
  });

  it('says so when there are no payouts yet', async () => {
    stubApi({
      'GET /bank-accounts': () => json(200, []),
      'GET /payouts': () => json(200, { results: [], next: null, previous: null }),
    });

    renderWithProviders(<PayoutHistory />);

    expect(await screen.findByText(/No payouts yet/)).toBeInTheDocument();
  });
});
