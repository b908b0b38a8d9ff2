import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { Dashboard } from '@/app/dashboard';
import { BalanceSummary } from '@/features/balance/components/balance-summary';
import { setCsrfToken } from '@/lib/api-client';
import type { Role } from '@/types/api';
import { json, renderWithProviders, stubApi, testSession } from '@/testing/test-utils';

import { DemoPaymentForm } from './demo-payment-form';

function credit(amountPaise: number | string) {
  return {
    id: 41,
    merchant_id: 1,
    amount_paise: amountPaise,
    reference: 'demo_3f2a9c0d4b5e4f60a1b2c3d4e5f60718',
    description: 'Simulated customer payment (demo)',
    ledger_entry_id: 77,
    created_at: '2025-01-01T09:00:00Z',
  };
}

/** The raw JSON body text: amounts beyond 2^53 must go out as exact integers. */
function rawAmount(body: string | undefined): string | undefined {
  return /"amount_paise":(-?\d+)/.exec(body ?? '')?.[1];
}

afterEach(() => {
  vi.unstubAllGlobals();
  setCsrfToken(null);
});

describe('DemoPaymentForm', () => {
  it('sends the rupees typed as exact paise with the CSRF token, shows the credit, and the balance updates', async () => {
    setCsrfToken('csrf-token');
    let available = 100_000;
    const api = stubApi({
      'GET /balance': () => json(200, { available_paise: available, held_paise: 0, currency: 'INR' }),
      'POST /demo/payments': ({ body }) => {
        available += Number(rawAmount(body));
        return json(201, credit(Number(rawAmount(body))));
      },
    });
    const user = userEvent.setup();
    renderWithProviders(
      <>
        <BalanceSummary live={false} />
        <DemoPaymentForm />
      </>,
    );
    expect(await screen.findByTestId('available-balance')).toHaveTextContent('₹1,000.00');

    await user.type(screen.getByTestId('demo-payment-amount'), '2,500.29');
    await user.click(screen.getByTestId('demo-payment-submit'));

    expect(await screen.findByTestId('demo-payment-result')).toHaveTextContent(
      '₹2,500.29 credited, reference demo_3f2a9c0d4b5e4f60a1b2c3d4e5f60718.',
    );
    const post = api.requests.find((request) => request.method === 'POST');
    expect(post?.path).toBe('/demo/payments');
    expect(post?.headers['X-CSRFToken']).toBe('csrf-token');
    expect(rawAmount(post?.body)).toBe('250029');
    expect(JSON.parse(post!.body!)).toEqual({ amount_paise: 250029 });
    await waitFor(() => expect(screen.getByTestId('available-balance')).toHaveTextContent('₹3,500.29'));
    expect(screen.getByTestId('demo-payment-amount')).toHaveValue('');
  });

  it('sends the largest amount exactly, never through a float', async () => {
    const api = stubApi({
      'POST /demo/payments': () => new Response(`{"id":41,"merchant_id":1,"amount_paise":9223372036854775807,"reference":"demo_x","description":"d","ledger_entry_id":77,"created_at":"2025-01-01T09:00:00Z"}`, { status: 201, headers: { 'Content-Type': 'application/json' } }),
    });
    const user = userEvent.setup();
    renderWithProviders(<DemoPaymentForm />);

    await user.type(screen.getByTestId('demo-payment-amount'), '92233720368547758.07');
    await user.click(screen.getByTestId('demo-payment-submit'));

    expect(await screen.findByTestId('demo-payment-result')).toHaveTextContent('₹92,23,37,20,36,85,47,758.07 credited');
    expect(rawAmount(api.requests[0]?.body)).toBe('9223372036854775807');
  });

  it.each([
    ['', 'Enter an amount.'],
    ['-5', 'The amount must be greater than zero.'],
    ['1,5', ''],
    ['0.001', ''],
  ])('refuses %j without sending anything', async (typed, message) => {
    const api = stubApi({});
    const user = userEvent.setup();
    renderWithProviders(<DemoPaymentForm />);

    if (typed) await user.type(screen.getByTestId('demo-payment-amount'), typed);
    await user.click(screen.getByTestId('demo-payment-submit'));

    expect(screen.getByTestId('demo-payment-amount')).toHaveAttribute('aria-invalid', 'true');
    if (message) expect(screen.getByText(message)).toBeInTheDocument();
    expect(api.requests).toHaveLength(0);
    expect(screen.queryByTestId('demo-payment-result')).not.toBeInTheDocument();
  });

  it("shows the API's error message", async () => {
    stubApi({
      'POST /demo/payments': () =>
        json(422, {
          error: {
            code: 'balance_limit_exceeded',
            message: 'This credit would take the available balance beyond 9223372036854775807 paise.',
            field: 'amount_paise',
          },
        }),
    });
    const user = userEvent.setup();
    renderWithProviders(<DemoPaymentForm />);

    await user.type(screen.getByTestId('demo-payment-amount'), '10');
    await user.click(screen.getByTestId('demo-payment-submit'));

    expect(await screen.findByTestId('demo-payment-result')).toHaveTextContent(
      'This credit would take the available balance beyond 9223372036854775807 paise.',
    );
  });
});

describe('the Overview page', () => {
  function renderDashboard(role: Role, demoMode: boolean) {
    const api = stubApi({
      'GET /demo/merchants': () =>
        demoMode
          ? json(200, [{ id: 1, name: 'Asha Traders', api_key: 'key-asha' }])
          : json(404, { error: { code: 'not_found', message: 'Not found.', field: null } }),
      'GET /balance': () => json(200, { available_paise: 5, held_paise: 0, currency: 'INR' }),
      'GET /ledger': () => json(200, { results: [], next: null, previous: null }),
      'GET /payouts': () => json(200, { results: [], next: null, previous: null }),
      'GET /bank-accounts': () => json(200, []),
    });
    const { queryClient } = renderWithProviders(<Dashboard />, { session: { ...testSession, role } });
    return { api, queryClient };
  }

  it('offers the simulated payment to an owner in demo mode', async () => {
    renderDashboard('owner', true);

    expect(await screen.findByTestId('demo-payment-submit')).toBeInTheDocument();
  });

  it.each<[Role, boolean]>([
    ['developer', true],
    ['viewer', true],
    ['owner', false],
  ])('does not offer it to a %s (demo mode: %s)', async (role, demoMode) => {
    const { api, queryClient } = renderDashboard(role, demoMode);

    expect(await screen.findByTestId('available-balance')).toBeInTheDocument();
    // Once the API has said whether this is demo mode, the control is still absent.
    await waitFor(() => expect(api.requests.some((request) => request.path === '/demo/merchants')).toBe(true));
    await waitFor(() => expect(queryClient.getQueryState(['demo-merchants'])?.status).toBe(demoMode ? 'success' : 'error'));
    expect(screen.queryByTestId('demo-payment-amount')).not.toBeInTheDocument();
    expect(screen.queryByTestId('demo-payment-submit')).not.toBeInTheDocument();
  });
});
