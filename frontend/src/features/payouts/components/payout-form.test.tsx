import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { json, renderWithProviders, stubApi } from '@/testing/test-utils';
import type { BankAccount, Payout } from '@/types/api';

import { PayoutForm } from './payout-form';

const accounts: BankAccount[] = [
  { id: 7, holder_name: 'Asha Traders', ifsc: 'HDFC0001234', account_last4: '4321' },
  { id: 8, holder_name: 'Asha Traders', ifsc: 'ICIC0005678', account_last4: '8765' },
];

const created: Payout = {
  id: 'c3b7a0b2-0d8e-4d7e-9f0a-2a9d4a0e6f11',
  amount_paise: 150050,
  bank_account_id: 8,
  status: 'pending',
  attempts: 0,
  failure_reason: null,
  created_at: '2025-01-01T10:00:00Z',
  updated_at: '2025-01-01T10:00:00Z',
};

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('PayoutForm', () => {
  it('sends the amount in exact paise to the chosen account with an idempotency key', async () => {
    const api = stubApi({
      'GET /bank-accounts': () => json(200, accounts),
      'POST /payouts': () => json(201, created),
    });
    const user = userEvent.setup();
    renderWithProviders(<PayoutForm />);

    await user.selectOptions(await screen.findByTestId('payout-bank-account'), '8');
    await user.type(screen.getByTestId('payout-amount'), '1,500.50');
    await user.click(screen.getByTestId('payout-submit'));

    expect(await screen.findByRole('status')).toHaveTextContent('₹1,500.50 requested');
    const post = api.requests.find((request) => request.method === 'POST');
    expect(post?.body).toBe('{"amount_paise":150050,"bank_account_id":8}');
    expect(post?.headers['Idempotency-Key']).toMatch(/^[0-9a-f-]{36}$/);
    expect(post?.headers.Authorization).toBe('Bearer sk_test_asha');
    expect(screen.getByTestId('payout-amount')).toHaveValue('');
  });

  it("shows the API's error message in payout-error", async () => {
    stubApi({
      'GET /bank-accounts': () => json(200, accounts),
      'POST /payouts': () =>
        json(422, {
          error: { code: 'insufficient_funds', message: 'Insufficient available balance for this payout.', field: 'amount_paise' },
        }),
    });
    const user = userEvent.setup();
    renderWithProviders(<PayoutForm />);
    await screen.findByTestId('payout-bank-account');

    await user.type(screen.getByTestId('payout-amount'), '99999999');
    await user.click(screen.getByTestId('payout-submit'));

    const error = await screen.findByTestId('payout-error');
    expect(error).toHaveAttribute('role', 'alert');
    expect(error).toHaveTextContent('Insufficient available balance for this payout.');
    expect(screen.getByTestId('payout-amount')).toHaveValue('99999999');
  });

  it('refuses an invalid amount without calling the API', async () => {
    const api = stubApi({ 'GET /bank-accounts': () => json(200, accounts) });
    const user = userEvent.setup();
    renderWithProviders(<PayoutForm />);
    await screen.findByTestId('payout-bank-account');

    await user.type(screen.getByTestId('payout-amount'), '12.345');
    await user.click(screen.getByTestId('payout-submit'));

    expect(screen.getByText(/at most two decimal places/i)).toBeInTheDocument();
    expect(screen.getByTestId('payout-amount')).toHaveAttribute('aria-invalid', 'true');
    expect(api.requests.some((request) => request.method === 'POST')).toBe(false);
  });

  it('disables the button while a payout is in flight, so it cannot be sent twice', async () => {
    let answer: (response: Response) => void = () => {};
    const api = stubApi({
      'GET /bank-accounts': () => json(200, accounts),
      'POST /payouts': () => new Promise<Response>((resolve) => (answer = resolve)),
    });
    const user = userEvent.setup();
    renderWithProviders(<PayoutForm />);
    await screen.findByTestId('payout-bank-account');

    await user.type(screen.getByTestId('payout-amount'), '1');
    await user.click(screen.getByTestId('payout-submit'));

    await waitFor(() => expect(screen.getByTestId('payout-submit')).toBeDisabled());
    await user.click(screen.getByTestId('payout-submit'));
    answer(json(201, { ...created, amount_paise: 100 }));
    await waitFor(() => expect(screen.getByTestId('payout-submit')).toBeEnabled());
    expect(api.requests.filter((request) => request.method === 'POST')).toHaveLength(1);
  });

  it('uses a new key for the next payout after a definite answer', async () => {
    const api = stubApi({
      'GET /bank-accounts': () => json(200, accounts),
      'POST /payouts': () => json(201, created),
    });
    const user = userEvent.setup();
    renderWithProviders(<PayoutForm />);
    await screen.findByTestId('payout-bank-account');

    await user.type(screen.getByTestId('payout-amount'), '10');
    await user.click(screen.getByTestId('payout-submit'));
    await screen.findByRole('status');
    await user.type(screen.getByTestId('payout-amount'), '10');
    await user.click(screen.getByTestId('payout-submit'));
    await waitFor(() => expect(api.requests.filter((request) => request.method === 'POST')).toHaveLength(2));

    const [first, second] = api.requests.filter((request) => request.method === 'POST');
    expect(first!.headers['Idempotency-Key']).not.toBe(second!.headers['Idempotency-Key']);
  });
});

describe('PayoutForm while a payout is in flight', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('keeps an amount typed during the request instead of clearing it on success', async () => {
    let answer: (response: Response) => void = () => {};
    stubApi({
      'GET /bank-accounts': () => json(200, accounts),
      'POST /payouts': () => new Promise<Response>((resolve) => (answer = resolve)),
    });
    const user = userEvent.setup();
    renderWithProviders(<PayoutForm />);
    await screen.findByTestId('payout-bank-account');

    await user.type(screen.getByTestId('payout-amount'), '25');
    await user.click(screen.getByTestId('payout-submit'));
    await user.clear(screen.getByTestId('payout-amount'));
    await user.type(screen.getByTestId('payout-amount'), '1.5');
    answer(json(201, { ...created, amount_paise: 2500 }));

    await screen.findByRole('status');
    expect(screen.getByTestId('payout-amount')).toHaveValue('1.5');
  });
});
