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

function sessionOf(merchantId: number, role: 'owner' | 'developer' | 'viewer' = 'owner', webhooksDisabled = 0) {
  const merchant = merchants.find((candidate) => candidate.id === merchantId)!;
  return {
    user: { id: 10 + merchantId, email: `owner@${merchantId}.example` },
    merchant: { id: merchant.id, name: merchant.name },
    role,
    csrf_token: `csrf-${merchantId}`,
    webhook_endpoints_disabled: webhooksDisabled,
  };
}

/** The API with a session cookie the stub keeps: `signedIn` is the merchant signed in, or null. */
function merchantRoutes(start: { signedIn: number | null; role?: 'owner' | 'developer' | 'viewer'; webhooksDisabled?: number }) {
  const state = { ...start };
  return {
    state,
    routes: {
      'GET /demo/merchants': () => json(200, merchants),
      'GET /auth/session': () =>
        state.signedIn === null
          ? json(401, { error: { code: 'unauthenticated', message: 'Nobody is signed in.', field: null } })
          : json(200, sessionOf(state.signedIn, state.role, state.webhooksDisabled)),
      'POST /auth/demo-login': ({ body }: { body: string | undefined }) => {
        state.signedIn = (JSON.parse(body ?? '{}') as { merchant_id: number }).merchant_id;
        return json(200, sessionOf(state.signedIn, state.role));
      },
      'POST /auth/login': () =>
        json(401, { error: { code: 'invalid_credentials', message: 'The email or the password is not right.', field: null } }),
      'POST /auth/logout': () => {
        state.signedIn = null;
        return new Response(null, { status: 204 });
      },
      'GET /balance': () =>
        json(200, {
          available_paise: state.signedIn === 1 ? 12345678 : 5,
          held_paise: state.signedIn === 1 ? 100 : 0,
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
    },
  };
}

function renderApp() {
  return render(
    <QueryClientProvider client={createTestQueryClient()}>
      <App />
    </QueryClientProvider>,
  );
}

beforeEach(() => {
  localStorage.clear();
  window.location.hash = '';
});
afterEach(() => vi.unstubAllGlobals());

describe('App', () => {
  it('asks to sign in, with one demo button per demo merchant, and shows a refused sign-in', async () => {
    const { routes } = merchantRoutes({ signedIn: null });
    const api = stubApi(routes);
    const user = userEvent.setup();
    renderApp();

    expect(await screen.findAllByTestId('demo-login')).toHaveLength(2);
    await user.type(screen.getByLabelText('Email'), 'asha@example.com');
    await user.type(screen.getByLabelText('Password'), 'wrong password');
    await user.click(screen.getByTestId('login-submit'));

    expect(await screen.findByTestId('login-error')).toHaveTextContent('The email or the password is not right.');
    const sent = api.requests.find((request) => request.path === '/auth/login');
    expect(JSON.parse(sent!.body!)).toEqual({ email: 'asha@example.com', password: 'wrong password' });
  });

  it('signs in as a demo merchant in one click and shows its balance in rupees', async () => {
    const { routes } = merchantRoutes({ signedIn: null });
    stubApi(routes);
    const user = userEvent.setup();
    renderApp();

    await user.click((await screen.findAllByTestId('demo-login'))[0]!);

    expect(await screen.findByTestId('merchant-switcher')).toHaveValue('1');
    expect(await screen.findByTestId('available-balance')).toHaveTextContent('₹1,23,456.78');
    expect(screen.getByTestId('held-balance')).toHaveTextContent('₹1.00');
    expect(screen.getByRole('link', { name: 'Security events' })).toBeInTheDocument();
  });

  it('switches merchant by signing in as its owner, with the CSRF token and the cookie', async () => {
    const { routes } = merchantRoutes({ signedIn: 1 });
    const api = stubApi(routes);
    const user = userEvent.setup();
    renderApp();

    await user.selectOptions(await screen.findByTestId('merchant-switcher'), '2');

    await waitFor(() => expect(screen.getByTestId('available-balance')).toHaveTextContent('₹0.05'));
    expect(localStorage.getItem('payout-dashboard:merchant-id')).toBe('2');
    const switched = api.requests.find((request) => request.path === '/auth/demo-login');
    expect(switched?.headers['X-CSRFToken']).toBe('csrf-1');
    expect(api.requests.every((request) => request.headers.Authorization === undefined)).toBe(true);
  });

  it('signs out back to the sign-in page', async () => {
    const { routes } = merchantRoutes({ signedIn: 1 });
    stubApi(routes);
    const user = userEvent.setup();
    renderApp();

    await user.click(await screen.findByTestId('sign-out'));

    expect(await screen.findByTestId('login-submit')).toBeInTheDocument();
  });

  it('offers a viewer neither the payout form nor the keys and security pages', async () => {
    const { routes } = merchantRoutes({ signedIn: 1, role: 'viewer' });
    stubApi(routes);
    renderApp();

    expect(await screen.findByTestId('available-balance')).toBeInTheDocument();
    expect(screen.queryByTestId('payout-submit')).not.toBeInTheDocument();
    expect(screen.queryByRole('link', { name: 'API keys' })).not.toBeInTheDocument();
    expect(screen.queryByRole('link', { name: 'Security events' })).not.toBeInTheDocument();
  });

  it('shows every role, viewers included, a banner on every page when a webhook endpoint is disabled', async () => {
    const { routes } = merchantRoutes({ signedIn: 1, role: 'viewer', webhooksDisabled: 2 });
    stubApi(routes);
    renderApp();

    const banner = await screen.findByTestId('webhook-disabled-banner');
    expect(banner).toHaveTextContent('2 webhook endpoints are disabled');
    expect(banner).toHaveTextContent('Ask an owner or developer');
    // A viewer cannot open the page, so the banner offers no link to it.
    expect(within(banner).queryByRole('link')).not.toBeInTheDocument();
    expect(screen.queryByRole('link', { name: 'Webhooks' })).not.toBeInTheDocument();
  });

  it('links a developer from the banner to the Webhooks page', async () => {
    const { routes } = merchantRoutes({ signedIn: 1, role: 'developer', webhooksDisabled: 1 });
    stubApi({
      ...routes,
      'GET /webhook-endpoints': () =>
        json(200, [
          {
            id: 3,
            url: 'https://hooks.example.com/a',
            enabled_events: ['payout.completed'],
            status: 'disabled',
            disabled_reason: 'Every delivery failed for 3 days.',
            created_at: '2025-01-01T09:00:00Z',
          },
        ]),
    });
    const user = userEvent.setup();
    renderApp();

    const banner = await screen.findByTestId('webhook-disabled-banner');
    expect(banner).toHaveTextContent('A webhook endpoint is disabled');
    await user.click(within(banner).getByRole('link', { name: 'Review webhooks' }));

    expect(await screen.findByTestId('webhook-row')).toHaveAttribute('data-status', 'disabled');
    expect(screen.getByTestId('webhook-row')).toHaveTextContent('Every delivery failed for 3 days.');
    expect(screen.getByTestId('webhook-disabled-banner')).toBeInTheDocument();
  });

  it('shows no webhook banner while every endpoint is enabled', async () => {
    stubApi(merchantRoutes({ signedIn: 1 }).routes);
    renderApp();

    expect(await screen.findByTestId('available-balance')).toBeInTheDocument();
    expect(screen.queryByTestId('webhook-disabled-banner')).not.toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Webhooks' })).toBeInTheDocument();
  });

  it('colours ledger credits and debits and offers to load more', async () => {
    stubApi(merchantRoutes({ signedIn: 1 }).routes);

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
