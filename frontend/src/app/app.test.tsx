import { QueryClientProvider } from '@tanstack/react-query';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { createTestQueryClient, json, stubApi } from '@/testing/test-utils';

import { App } from './app';

const merchants = [
  { id: 1, name: 'Asha Traders', api_key: 'key-asha' },
  { id: 2, name: 'Bharat Foods', api_key: 'key-bharat' },
];

function merchantRoutes() {
  const byKey = (headers: Record<string, string>) => headers.Authorization?.replace('Bearer ', '');
  return {
    'GET /demo/merchants': () => json(200, merchants),
    'GET /balance': ({ headers }: { headers: Record<string, string> }) =>
      json(200, {
        available_paise: byKey(headers) === 'key-asha' ? 12345678 : 5,
        held_paise: byKey(headers) === 'key-asha' ? 100 : 0,
        currency: 'INR',
      }),
    'GET /ledger': () =>
      json(200, {
        results: [
          { id: 1, kind: 'payment', amount_paise: 500000, description: 'Customer payment', payout_id: null, created_at: '2025-01-01T09:00:00Z' },
          { id: 2, kind: 'payout', amount_paise: -100, description: 'Payout', payout_id: 9, created_at: '2025-01-01T10:00:00Z' },
        ],
        next: 'http://localhost:8000/api/v1/ledger?cursor=abc',
        previous: null,
      }),
    'GET /bank-accounts': () => json(200, []),
    'GET /payouts': () => json(200, { results: [], next: null, previous: null }),
  };
}

function renderApp() {
  return render(
    <QueryClientProvider client={createTestQueryClient()}>
      <App />
    </QueryClientProvider>,
  );
}

beforeEach(() => localStorage.clear());
afterEach(() => vi.unstubAllGlobals());

describe('App', () => {
  it("defaults to the first merchant and shows its balance in rupees", async () => {
    stubApi(merchantRoutes());

    renderApp();

    expect(await screen.findByTestId('merchant-switcher')).toHaveValue('1');
    expect(await screen.findByTestId('available-balance')).toHaveTextContent('₹1,23,456.78');
    expect(screen.getByTestId('held-balance')).toHaveTextContent('₹1.00');
  });

  it('uses the chosen merchant key and remembers the choice', async () => {
    const api = stubApi(merchantRoutes());
    const user = userEvent.setup();
    renderApp();

    await user.selectOptions(await screen.findByTestId('merchant-switcher'), '2');

    await waitFor(() => expect(screen.getByTestId('available-balance')).toHaveTextContent('₹0.05'));
    expect(localStorage.getItem('payout-dashboard:merchant-id')).toBe('2');
    expect(api.requests.some((request) => request.headers.Authorization === 'Bearer key-bharat')).toBe(true);
  });

  it('colours ledger credits and debits and offers to load more', async () => {
    stubApi(merchantRoutes());

    renderApp();

    const rows = await screen.findAllByTestId('ledger-row');
    expect(within(rows[0]!).getByText('+₹5,000.00')).toHaveClass('text-credit');
    expect(within(rows[1]!).getByText('-₹1.00')).toHaveClass('text-debit');
    expect(screen.getByRole('button', { name: 'Load more' })).toBeInTheDocument();
  });

  it('says the API is unreachable instead of showing an empty page', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => {
        throw new TypeError('Failed to fetch');
      }),
    );

    renderApp();

    expect(await screen.findByText('Waiting for the payout API')).toBeInTheDocument();
    expect(screen.getByTestId('connection-banner')).toHaveTextContent('Cannot reach the payout API');
  });
});
