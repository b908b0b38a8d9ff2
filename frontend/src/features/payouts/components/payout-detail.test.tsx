import { screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { json, renderWithProviders, stubApi } from '@/testing/test-utils';
import type { Payout } from '@/types/api';

import { PayoutDetail } from './payout-detail';

const base: Payout = {
  id: 42,
  amount_paise: 150050,
  bank_account_id: 7,
  status: 'completed',
  attempts: 1,
  failure_reason: null,
  failure_code: null,
  reference_id: 'INV-0042',
  narration: 'March retainer',
  notes: { invoice: '42', project: 'Website' },
  utr: 'UTR1A2B3C4D5E6F7A8B',
  created_at: '2026-03-01T10:00:00Z',
  updated_at: '2026-03-01T10:00:05Z',
};

const events = [
  { from_status: null, to_status: 'pending', attempt: 0, reason: 'payout requested; funds held', created_at: '2026-03-01T10:00:00Z' },
  { from_status: 'processing', to_status: 'completed', attempt: 1, reason: 'the bank settled the transfer', created_at: '2026-03-01T10:00:05Z' },
];

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('PayoutDetail', () => {
  it('shows the reference, narration, notes, UTR and events of a completed payout', async () => {
    stubApi({
      'GET /payouts/42': () => json(200, base),
      'GET /payouts/42/events': () => json(200, events),
      'GET /bank-accounts': () => json(200, [{ id: 7, holder_name: 'Asha Rao', ifsc: 'HDFC0001234', account_last4: '4321', status: 'verified', registered_name: 'ASHA RAO', rejection_reason: null, created_at: '2025-01-01T09:00:00Z' }]),
    });

    renderWithProviders(<PayoutDetail payoutId="42" />);

    expect(await screen.findByTestId('payout-detail')).toHaveAttribute('data-status', 'completed');
    expect(screen.getByTestId('payout-detail-amount')).toHaveTextContent('₹1,500.50');
    expect(screen.getByTestId('payout-detail-reference')).toHaveTextContent('INV-0042');
    expect(screen.getByTestId('payout-detail-narration')).toHaveTextContent('March retainer');
    expect(screen.getByTestId('payout-detail-utr')).toHaveTextContent('UTR1A2B3C4D5E6F7A8B');
    expect(screen.getByTestId('payout-detail-notes')).toHaveTextContent('invoice42projectWebsite');
    expect(await screen.findByTestId('payout-detail-account')).toHaveTextContent('Asha Rao · HDFC0001234 ••4321');
    expect(screen.queryByTestId('payout-detail-failure')).not.toBeInTheDocument();
    expect(await screen.findByText('the bank settled the transfer')).toBeInTheDocument();
    expect(screen.getByTestId('payout-back')).toHaveAttribute('href', '#/payouts');
  });

  it('shows the failure code, in words too, and no UTR for a failed payout', async () => {
    stubApi({
      'GET /payouts/42': () =>
        json(200, {
          ...base,
          status: 'failed',
          utr: null,
          reference_id: null,
          narration: null,
          notes: {},
          failure_code: 'beneficiary_account_closed',
          failure_reason: 'declined by the bank: beneficiary account closed',
        }),
      'GET /payouts/42/events': () => json(200, []),
      'GET /bank-accounts': () => json(200, []),
    });

    renderWithProviders(<PayoutDetail payoutId="42" />);

    expect(await screen.findByTestId('payout-detail-failure-code')).toHaveTextContent('beneficiary_account_closed');
    expect(screen.getByTestId('payout-detail-failure')).toHaveTextContent("The beneficiary's account is closed");
    expect(screen.getByTestId('payout-detail-failure')).toHaveTextContent('declined by the bank: beneficiary account closed');
    expect(screen.getByTestId('payout-detail-utr')).toHaveTextContent('Once the bank settles it');
    expect(screen.getByTestId('payout-detail-reference')).toHaveTextContent('—');
  });

  it("says so when the payout is not the merchant's", async () => {
    stubApi({
      'GET /payouts/9': () => json(404, { error: { code: 'not_found', message: 'No such payout.', field: null } }),
      'GET /bank-accounts': () => json(200, []),
    });

    renderWithProviders(<PayoutDetail payoutId="9" />);

    expect(await screen.findByTestId('payout-detail-error')).toHaveTextContent('There is no such payout among yours.');
  });
});
