import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { stubInsecureContext } from '@/testing/insecure-context';
import { json, renderWithProviders, stubApi, type RecordedRequest } from '@/testing/test-utils';
import type { BankAccount, Payout } from '@/types/api';

import { PayoutForm } from './payout-form';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const verified = {
  status: 'verified',
  registered_name: 'ASHA TRADERS',
  rejection_reason: null,
  created_at: '2025-01-01T09:00:00Z',
} as const;

const accounts: BankAccount[] = [
  { id: 7, holder_name: 'Asha Traders', ifsc: 'HDFC0001234', account_last4: '4321', ...verified },
  { id: 8, holder_name: 'Asha Traders Savings', ifsc: 'ICIC0005678', account_last4: '8765', ...verified },
];

const created: Payout = {
  id: 41,
  amount_paise: 150050,
  bank_account_id: 8,
  status: 'pending',
  attempts: 0,
  failure_reason: null,
  failure_code: null,
  reference_id: null,
  narration: null,
  notes: {},
  utr: null,
  created_at: '2025-01-01T10:00:00Z',
  updated_at: '2025-01-01T10:00:00Z',
};

const posts = (requests: RecordedRequest[]) => requests.filter((request) => request.method === 'POST');

const networkDown = () => Promise.reject(new TypeError('Failed to fetch'));

/** Types the amount, picks the account and presses "Review payout". */
async function review(user: ReturnType<typeof userEvent.setup>, amount: string, accountId?: string) {
  const account = await screen.findByTestId('payout-bank-account');
  if (accountId) await user.selectOptions(account, accountId);
  await user.type(screen.getByTestId('payout-amount'), amount);
  await user.click(screen.getByTestId('payout-submit'));
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('PayoutForm', () => {
  it('offers only verified bank accounts', async () => {
    stubApi({
      'GET /bank-accounts': () =>
        json(200, [
          ...accounts,
          { ...accounts[0], id: 9, account_last4: '1111', status: 'pending_verification', registered_name: null },
          { ...accounts[0], id: 10, account_last4: '5555', status: 'rejected', registered_name: null, rejection_reason: 'account closed' },
          { ...accounts[0], id: 11, account_last4: '9999', status: 'deactivated' },
        ]),
    });
    renderWithProviders(<PayoutForm />);

    const select = await screen.findByTestId('payout-bank-account');
    const offered = Array.from(select.querySelectorAll('option')).map((option) => option.value);
    expect(offered).toEqual(['7', '8']);
  });

  it('shows the amount in rupees and the bank account before anything is sent', async () => {
    const api = stubApi({
      'GET /bank-accounts': () => json(200, accounts),
      'POST /payouts': () => json(201, created),
    });
    const user = userEvent.setup();
    renderWithProviders(<PayoutForm />);

    await review(user, '1234567.8', '8');

    expect(screen.getByTestId('payout-confirm-amount')).toHaveTextContent('₹12,34,567.80');
    const account = screen.getByTestId('payout-confirm-account');
    expect(account).toHaveTextContent('Asha Traders Savings');
    expect(account).toHaveTextContent('8765');
    expect(account).toHaveTextContent('ICIC0005678');
    expect(screen.getByRole('heading', { name: /check the payout/i })).toHaveFocus();
    expect(screen.getByTestId('payout-confirm')).toBeEnabled();
    expect(posts(api.requests)).toHaveLength(0);
  });

  it('sends the amount in exact paise to the chosen account once confirmed', async () => {
    const api = stubApi({
      'GET /bank-accounts': () => json(200, accounts),
      'POST /payouts': () => json(201, created),
    });
    const user = userEvent.setup();
    renderWithProviders(<PayoutForm />);

    await review(user, '1,500.50', '8');
    await user.click(screen.getByTestId('payout-confirm'));

    expect(await screen.findByRole('status')).toHaveTextContent('₹1,500.50 requested');
    const [post] = posts(api.requests);
    expect(post?.body).toBe('{"amount_paise":150050,"bank_account_id":8}');
    expect(post?.headers['Idempotency-Key']).toMatch(UUID_V4);
    expect(post?.headers.Authorization).toBe('Bearer sk_test_asha');
    expect(screen.queryByTestId('payout-confirm')).not.toBeInTheDocument();
    expect(screen.getByTestId('payout-amount')).toHaveValue('');
  });

  it('sends the reference and narration it showed on the confirm step', async () => {
    const api = stubApi({
      'GET /bank-accounts': () => json(200, accounts),
      'POST /payouts': () => json(201, { ...created, reference_id: 'INV-0042', narration: 'March retainer' }),
    });
    const user = userEvent.setup();
    renderWithProviders(<PayoutForm />);

    await user.type(await screen.findByLabelText(/^Reference/), ' INV-0042 ');
    await user.type(screen.getByLabelText(/^Narration/), 'March retainer');
    await review(user, '100');

    expect(screen.getByTestId('payout-confirm-reference')).toHaveTextContent('INV-0042');
    expect(screen.getByTestId('payout-confirm-narration')).toHaveTextContent('March retainer');
    await user.click(screen.getByTestId('payout-confirm'));
    await screen.findByRole('status');
    const [post] = posts(api.requests);
    expect(post?.body).toBe(
      '{"amount_paise":10000,"bank_account_id":7,"reference_id":"INV-0042","narration":"March retainer"}',
    );
    expect(screen.getByTestId('payout-reference')).toHaveValue('');
    expect(screen.getByTestId('payout-narration')).toHaveValue('');
  });

  it('refuses a reference or narration the API would refuse, before anything is sent', async () => {
    const api = stubApi({ 'GET /bank-accounts': () => json(200, accounts) });
    const user = userEvent.setup();
    renderWithProviders(<PayoutForm />);

    await user.type(await screen.findByTestId('payout-reference'), 'INV 42');
    await user.type(screen.getByTestId('payout-narration'), 'Rent ₹');
    await review(user, '100');

    expect(screen.queryByTestId('payout-confirm')).not.toBeInTheDocument();
    expect(screen.getByTestId('payout-reference')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByText('A reference uses only letters, digits and _ - . (no spaces).')).toBeInTheDocument();
    expect(screen.getByTestId('payout-narration')).toHaveAttribute('aria-invalid', 'true');
    expect(posts(api.requests)).toHaveLength(0);
  });

  it('uses a new key when only the reference changes: it is another payout', async () => {
    const api = stubApi({
      'GET /bank-accounts': () => json(200, accounts),
      'POST /payouts': () => json(201, created),
    });
    const user = userEvent.setup();
    renderWithProviders(<PayoutForm />);

    await user.type(await screen.findByTestId('payout-reference'), 'A-1');
    await review(user, '100');
    await user.click(screen.getByTestId('payout-confirm'));
    await screen.findByRole('status');
    await user.type(screen.getByTestId('payout-reference'), 'A-2');
    await review(user, '100');
    await user.click(screen.getByTestId('payout-confirm'));
    await waitFor(() => expect(posts(api.requests)).toHaveLength(2));

    const [first, second] = posts(api.requests);
    expect(first?.headers['Idempotency-Key']).not.toBe(second?.headers['Idempotency-Key']);
    expect(JSON.parse(second?.body ?? '{}')).toMatchObject({ reference_id: 'A-2' });
  });

  it('goes back without sending, keeping the amount and the account', async () => {
    const api = stubApi({ 'GET /bank-accounts': () => json(200, accounts) });
    const user = userEvent.setup();
    renderWithProviders(<PayoutForm />);

    await review(user, '250', '8');
    await user.click(screen.getByRole('button', { name: 'Back' }));

    expect(screen.queryByTestId('payout-confirm')).not.toBeInTheDocument();
    expect(screen.getByTestId('payout-amount')).toHaveValue('250');
    expect(screen.getByTestId('payout-amount')).toHaveFocus();
    expect(screen.getByTestId('payout-bank-account')).toHaveValue('8');
    expect(posts(api.requests)).toHaveLength(0);
  });

  it('sends a v4 Idempotency-Key over plain HTTP, where crypto.randomUUID is missing', async () => {
    stubInsecureContext();
    const api = stubApi({
      'GET /bank-accounts': () => json(200, accounts),
      'POST /payouts': () => json(201, created),
    });
    const user = userEvent.setup();
    renderWithProviders(<PayoutForm />);

    await review(user, '1,500.50');
    await user.click(screen.getByTestId('payout-confirm'));

    expect(await screen.findByRole('status')).toHaveTextContent('requested');
    expect(screen.queryByTestId('payout-error')).not.toBeInTheDocument();
    expect(posts(api.requests)[0]?.headers['Idempotency-Key']).toMatch(UUID_V4);
  });

  it("shows the API's error message in payout-error and returns to the form", async () => {
    stubApi({
      'GET /bank-accounts': () => json(200, accounts),
      'POST /payouts': () =>
        json(422, {
          error: { code: 'insufficient_funds', message: 'Insufficient available balance for this payout.', field: 'amount_paise' },
        }),
    });
    const user = userEvent.setup();
    renderWithProviders(<PayoutForm />);

    await review(user, '99999999');
    await user.click(screen.getByTestId('payout-confirm'));

    const error = await screen.findByTestId('payout-error');
    expect(error).toHaveAttribute('role', 'alert');
    expect(error).toHaveTextContent('Insufficient available balance for this payout.');
    expect(screen.queryByTestId('payout-confirm')).not.toBeInTheDocument();
    expect(screen.getByTestId('payout-amount')).toHaveValue('99999999');
  });

  it('refuses an invalid amount without asking for confirmation', async () => {
    const api = stubApi({ 'GET /bank-accounts': () => json(200, accounts) });
    const user = userEvent.setup();
    renderWithProviders(<PayoutForm />);

    await review(user, '12.345');

    expect(screen.getByText(/at most two decimal places/i)).toBeInTheDocument();
    expect(screen.getByTestId('payout-amount')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.queryByTestId('payout-confirm')).not.toBeInTheDocument();
    expect(posts(api.requests)).toHaveLength(0);
  });

  it('disables confirm and back while the payout is in flight, so it cannot be sent twice', async () => {
    let answer: (response: Response) => void = () => {};
    const api = stubApi({
      'GET /bank-accounts': () => json(200, accounts),
      'POST /payouts': () => new Promise<Response>((resolve) => (answer = resolve)),
    });
    const user = userEvent.setup();
    renderWithProviders(<PayoutForm />);

    await review(user, '1');
    await user.click(screen.getByTestId('payout-confirm'));

    await waitFor(() => expect(screen.getByTestId('payout-confirm')).toBeDisabled());
    expect(screen.getByRole('button', { name: 'Back' })).toBeDisabled();
    await user.click(screen.getByTestId('payout-confirm'));
    answer(json(201, { ...created, amount_paise: 100 }));
    await screen.findByRole('status');
    expect(posts(api.requests)).toHaveLength(1);
  });

  it('uses a new key for the next payout after a definite answer', async () => {
    const api = stubApi({
      'GET /bank-accounts': () => json(200, accounts),
      'POST /payouts': () => json(201, created),
    });
    const user = userEvent.setup();
    renderWithProviders(<PayoutForm />);

    await review(user, '10');
    await user.click(screen.getByTestId('payout-confirm'));
    await screen.findByRole('status');
    await review(user, '10');
    await user.click(screen.getByTestId('payout-confirm'));
    await waitFor(() => expect(posts(api.requests)).toHaveLength(2));

    const [first, second] = posts(api.requests);
    expect(first!.headers['Idempotency-Key']).not.toBe(second!.headers['Idempotency-Key']);
  });
});

describe('PayoutForm after a network error', () => {
  // Each unanswered confirm is tried three times (0.5 s and 1.5 s apart).
  const RETRIES_MS = 5_000;

  it('stays on the confirm step, and confirming again reuses the same key', { timeout: 15_000 }, async () => {
    const answers = [networkDown, networkDown, networkDown, () => Promise.resolve(json(201, created))];
    const api = stubApi({
      'GET /bank-accounts': () => json(200, accounts),
      'POST /payouts': () => answers.shift()!(),
    });
    const user = userEvent.setup();
    renderWithProviders(<PayoutForm />);

    await review(user, '1,500.50');
    await user.click(screen.getByTestId('payout-confirm'));

    const error = await screen.findByTestId('payout-error', undefined, { timeout: RETRIES_MS });
    expect(error).toHaveTextContent('Press "Confirm payout" again');
    expect(screen.getByTestId('payout-confirm-amount')).toHaveTextContent('₹1,500.50');

    await user.click(screen.getByTestId('payout-confirm'));

    expect(await screen.findByRole('status')).toHaveTextContent('₹1,500.50 requested');
    const keys = posts(api.requests).map((request) => request.headers['Idempotency-Key']);
    expect(keys).toHaveLength(4);
    expect(new Set(keys).size).toBe(1);
  });

  it('reuses the key after going back without changes, and uses a new one after an edit', { timeout: 20_000 }, async () => {
    const api = stubApi({
      'GET /bank-accounts': () => json(200, accounts),
      'POST /payouts': networkDown,
    });
    const user = userEvent.setup();
    renderWithProviders(<PayoutForm />);
    const keys = () => posts(api.requests).map((request) => request.headers['Idempotency-Key']);

    await review(user, '5');
    await user.click(screen.getByTestId('payout-confirm'));
    await screen.findByTestId('payout-error', undefined, { timeout: RETRIES_MS });
    await user.click(screen.getByRole('button', { name: 'Back' }));
    await user.click(screen.getByTestId('payout-submit'));
    await user.click(screen.getByTestId('payout-confirm'));
    await waitFor(() => expect(keys()).toHaveLength(4));
    await screen.findByTestId('payout-error', undefined, { timeout: RETRIES_MS });
    await user.click(screen.getByRole('button', { name: 'Back' }));
    await review(user, '0');
    await user.click(screen.getByTestId('payout-confirm'));
    await waitFor(() => expect(keys()).toHaveLength(7));

    expect(new Set(keys().slice(0, 4)).size).toBe(1);
    expect(keys()[6]).not.toBe(keys()[0]);
    expect(posts(api.requests)[6]!.body).toBe('{"amount_paise":5000,"bank_account_id":7}');
  });
});
