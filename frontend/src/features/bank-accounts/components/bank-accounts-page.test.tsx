import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { setCsrfToken } from '@/lib/api-client';
import { json, renderWithProviders, stubApi, testSession } from '@/testing/test-utils';
import type { BankAccount } from '@/types/api';

import { anyPendingVerification } from '../api/bank-accounts';
import { BankAccountsPage } from './bank-accounts-page';

const verified: BankAccount = {
  id: 7,
  holder_name: 'Asha Rao',
  ifsc: 'HDFC0001234',
  account_last4: '4321',
  status: 'verified',
  registered_name: 'ASHA RAO',
  rejection_reason: null,
  created_at: '2025-01-01T09:00:00Z',
};
const pending: BankAccount = {
  ...verified,
  id: 8,
  account_last4: '1111',
  status: 'pending_verification',
  registered_name: null,
};
const rejected: BankAccount = {
  ...verified,
  id: 9,
  account_last4: '5555',
  status: 'rejected',
  registered_name: null,
  rejection_reason: 'account closed',
};

afterEach(() => {
  vi.unstubAllGlobals();
  setCsrfToken(null);
});

describe('BankAccountsPage', () => {
  it('lists each account with its status, the bank name or the rejection reason', async () => {
    stubApi({ 'GET /bank-accounts': () => json(200, [verified, pending, rejected]) });
    renderWithProviders(<BankAccountsPage />);

    const rows = await screen.findAllByTestId('bank-account-row');
    expect(rows.map((row) => row.getAttribute('data-status'))).toEqual(['verified', 'pending_verification', 'rejected']);
    expect(rows[0]).toHaveTextContent('Name at the bank: ASHA RAO');
    expect(within(rows[1]!).getByTestId('bank-account-status')).toHaveTextContent('Verifying');
    expect(within(rows[2]!).getByTestId('bank-account-rejection')).toHaveTextContent('account closed');
    // Nothing to deactivate on a rejected account.
    expect(within(rows[2]!).queryByTestId('bank-account-deactivate')).not.toBeInTheDocument();
  });

  it('adds an account with the CSRF token and shows it pending', async () => {
    setCsrfToken('csrf-token');
    let list: BankAccount[] = [verified];
    const api = stubApi({
      'GET /bank-accounts': () => json(200, list),
      'POST /bank-accounts': () => {
        list = [...list, pending];
        return json(201, pending);
      },
    });
    const user = userEvent.setup();
    renderWithProviders(<BankAccountsPage />);

    await user.type(await screen.findByTestId('bank-account-holder-name'), 'Asha Rao');
    await user.type(screen.getByTestId('bank-account-ifsc'), 'hdfc0001234');
    await user.type(screen.getByTestId('bank-account-number'), '111111111111');
    await user.click(screen.getByTestId('bank-account-submit'));

    await waitFor(() => expect(screen.getAllByTestId('bank-account-row')).toHaveLength(2));
    const post = api.requests.find((request) => request.method === 'POST');
    expect(post?.headers['X-CSRFToken']).toBe('csrf-token');
    expect(JSON.parse(post!.body!)).toEqual({
      holder_name: 'Asha Rao',
      ifsc: 'HDFC0001234',
      account_number: '111111111111',
    });
    expect(screen.getAllByTestId('bank-account-row')[1]).toHaveAttribute('data-status', 'pending_verification');
    expect(screen.getByTestId('bank-account-number')).toHaveValue('');
  });

  it('says what the bank decided about the account just added, once the list knows', async () => {
    setCsrfToken('csrf-token');
    let list: BankAccount[] = [];
    stubApi({
      'GET /bank-accounts': () => json(200, list),
      'POST /bank-accounts': () => {
        list = [pending];
        return json(201, pending);
      },
    });
    const user = userEvent.setup();
    const { queryClient } = renderWithProviders(<BankAccountsPage />);

    await user.type(await screen.findByTestId('bank-account-holder-name'), 'Asha Rao');
    await user.type(screen.getByTestId('bank-account-ifsc'), 'HDFC0001234');
    await user.type(screen.getByTestId('bank-account-number'), '111111111111');
    await user.click(screen.getByTestId('bank-account-submit'));
    expect(await screen.findByRole('status')).toHaveTextContent('Added: the bank is verifying it.');

    list = [{ ...pending, status: 'verified', registered_name: 'ASHA RAO' }];
    await queryClient.invalidateQueries();
    await waitFor(() => expect(screen.getByRole('status')).toHaveTextContent('Added, and verified by the bank as ASHA RAO.'));

    list = [{ ...pending, status: 'rejected', rejection_reason: 'account closed' }];
    await queryClient.invalidateQueries();
    await waitFor(() =>
      expect(screen.getByRole('status')).toHaveTextContent('Added, but the bank rejected it: account closed.'),
    );
  });

  it("shows the API's error beside the field it names, and keeps what was typed", async () => {
    stubApi({
      'GET /bank-accounts': () => json(200, [verified]),
      'POST /bank-accounts': () =>
        json(400, {
          error: {
            code: 'invalid_bank_account_details',
            message: 'account_number must be a string of 9 to 18 digits.',
            field: 'account_number',
          },
        }),
    });
    const user = userEvent.setup();
    renderWithProviders(<BankAccountsPage />);

    await user.type(await screen.findByTestId('bank-account-holder-name'), 'Asha Rao');
    await user.type(screen.getByTestId('bank-account-ifsc'), 'HDFC0001234');
    await user.type(screen.getByTestId('bank-account-number'), '1234');
    await user.click(screen.getByTestId('bank-account-submit'));

    const error = await screen.findByTestId('bank-account-error');
    expect(error).toHaveTextContent('account_number must be a string of 9 to 18 digits.');
    expect(error).toHaveAttribute('data-field', 'account_number');
    expect(screen.getByTestId('bank-account-number')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByTestId('bank-account-ifsc')).not.toHaveAttribute('aria-invalid');
    expect(screen.getByTestId('bank-account-number')).toHaveValue('1234');
  });

  it('deactivates only after a confirmation', async () => {
    let list: BankAccount[] = [verified];
    const api = stubApi({
      'GET /bank-accounts': () => json(200, list),
      'DELETE /bank-accounts/7': () => {
        list = [{ ...verified, status: 'deactivated' }];
        return json(200, list[0]);
      },
    });
    const user = userEvent.setup();
    renderWithProviders(<BankAccountsPage />);

    await user.click(await screen.findByTestId('bank-account-deactivate'));
    expect(api.requests.some((request) => request.method === 'DELETE')).toBe(false);
    await user.click(screen.getByTestId('bank-account-deactivate-confirm'));

    await waitFor(() => expect(screen.getByTestId('bank-account-row')).toHaveAttribute('data-status', 'deactivated'));
    expect(api.requests.filter((request) => request.method === 'DELETE').map((request) => request.path)).toEqual([
      '/bank-accounts/7',
    ]);
  });

  it.each(['developer', 'viewer'] as const)('shows a %s the accounts but no way to add or deactivate', async (role) => {
    stubApi({ 'GET /bank-accounts': () => json(200, [verified]) });
    renderWithProviders(<BankAccountsPage />, { session: { ...testSession, role } });

    expect(await screen.findByTestId('bank-account-row')).toHaveAttribute('data-status', 'verified');
    expect(screen.queryByTestId('bank-account-submit')).not.toBeInTheDocument();
    expect(screen.queryByTestId('bank-account-deactivate')).not.toBeInTheDocument();
  });

  it('knows when an account still awaits the bank (the list then refreshes live)', () => {
    expect(anyPendingVerification([verified, rejected])).toBe(false);
    expect(anyPendingVerification([verified, pending])).toBe(true);
    expect(anyPendingVerification(undefined)).toBe(false);
  });
});
