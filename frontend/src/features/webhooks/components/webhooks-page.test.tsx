import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { setCsrfToken } from '@/lib/api-client';
import type { EventType, WebhookDeliveryAttempt, WebhookEndpoint } from '@/types/api';
import { json, renderWithProviders, stubApi, testSession } from '@/testing/test-utils';

import { WebhooksPage } from './webhooks-page';

const EVERY = ['payout.created', 'payout.processing', 'payout.completed', 'payout.failed', 'payment.credited'];

const live: WebhookEndpoint = {
  id: 4,
  url: 'https://hooks.example.com/payouts',
  enabled_events: ['payout.created', 'payout.processing', 'payout.completed', 'payout.failed', 'payment.credited'],
  status: 'enabled',
  disabled_reason: null,
  created_at: '2025-01-01T09:00:00Z',
};

const attempt: WebhookDeliveryAttempt = {
  event_id: 'evt_aaaaaaaaaaaaaaaaaaaaaaaaaa',
  attempt: 2,
  status_code: 500,
  error: 'HTTP 500 from the receiver',
  response_body: 'oops',
  duration_ms: 37,
  created_at: '2025-01-01T09:05:00Z',
};

afterEach(() => {
  vi.unstubAllGlobals();
  setCsrfToken(null);
});

describe('WebhooksPage', () => {
  it('adds an endpoint for the chosen events, shows its secret once, and sends the CSRF token', async () => {
    setCsrfToken('csrf-token');
    let endpoints: WebhookEndpoint[] = [];
    const api = stubApi({
      'GET /webhook-endpoints': () => json(200, endpoints),
      'POST /webhook-endpoints': ({ body }) => {
        const sent = JSON.parse(body!) as { url: string; enabled_events: EventType[] };
        const created = { ...live, id: 9, url: sent.url, enabled_events: sent.enabled_events };
        endpoints = [created];
        return json(201, { ...created, secret: 'whsec_c2VjcmV0LW9ubHktb25jZQ==' });
      },
    });
    const user = userEvent.setup();
    const { queryClient } = renderWithProviders(<WebhooksPage />);
    const invalidate = vi.spyOn(queryClient, 'invalidateQueries');

    expect(await screen.findByText(/No endpoints yet/)).toBeInTheDocument();
    await user.type(screen.getByLabelText('Endpoint URL'), '  https://shop.example.com/hooks ');
    await user.click(screen.getByRole('checkbox', { name: 'payment.credited' }));
    await user.click(screen.getByTestId('webhook-submit'));

    const secret = await screen.findByTestId('webhook-secret');
    expect(secret).toHaveTextContent('whsec_c2VjcmV0LW9ubHktb25jZQ==');
    expect(screen.getByRole('status')).toHaveTextContent("You won't see it again");
    const post = api.requests.find((request) => request.method === 'POST');
    expect(post?.headers['X-CSRFToken']).toBe('csrf-token');
    expect(JSON.parse(post!.body!)).toEqual({ url: 'https://shop.example.com/hooks', enabled_events: EVERY.slice(0, 4) });
    const row = await screen.findByTestId('webhook-row');
    expect(row).toHaveAttribute('data-status', 'enabled');
    expect(row).toHaveTextContent('https://shop.example.com/hooks');
    expect(row).not.toHaveTextContent('whsec_');
    expect(screen.getByLabelText('Endpoint URL')).toHaveValue('');
    // The session (its count of disabled endpoints drives the banner) is refreshed too.
    expect(invalidate).toHaveBeenCalledWith({ queryKey: ['auth', 'session'] });

    // Dismissed, the secret is gone for good: nothing on the page can show it again.
    await user.click(screen.getByRole('button', { name: 'I have saved it' }));
    expect(screen.queryByTestId('webhook-secret')).not.toBeInTheDocument();
    expect(document.body).not.toHaveTextContent('whsec_');
  });

  it("shows the API's message for a refused URL and keeps what was typed", async () => {
    const api = stubApi({
      'GET /webhook-endpoints': () => json(200, []),
      'POST /webhook-endpoints': () =>
        json(400, {
          error: { code: 'invalid_url', message: 'The URL must use https.', field: 'url' },
        }),
    });
    const user = userEvent.setup();
    renderWithProviders(<WebhooksPage />);

    await user.type(await screen.findByLabelText('Endpoint URL'), 'http://10.0.0.1/hook');
    await user.click(screen.getByTestId('webhook-submit'));

    expect(await screen.findByTestId('webhook-error')).toHaveTextContent('The URL must use https.');
    expect(screen.getByLabelText('Endpoint URL')).toHaveValue('http://10.0.0.1/hook');
    expect(screen.getByLabelText('Endpoint URL')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.queryByTestId('webhook-secret')).not.toBeInTheDocument();
    expect(api.requests.filter((request) => request.method === 'POST')).toHaveLength(1);
  });

  it('will not send an endpoint with no event chosen', async () => {
    stubApi({ 'GET /webhook-endpoints': () => json(200, []) });
    const user = userEvent.setup();
    renderWithProviders(<WebhooksPage />);

    await user.type(await screen.findByLabelText('Endpoint URL'), 'https://shop.example.com/hooks');
    for (const type of EVERY) await user.click(screen.getByRole('checkbox', { name: type }));

    expect(screen.getByTestId('webhook-submit')).toBeDisabled();
    expect(screen.getByText('Choose at least one event.')).toBeInTheDocument();
  });

  it('disables and enables an endpoint with PATCH', async () => {
    let endpoint = live;
    const api = stubApi({
      'GET /webhook-endpoints': () => json(200, [endpoint]),
      'PATCH /webhook-endpoints/4': ({ body }) => {
        endpoint = { ...endpoint, ...(JSON.parse(body!) as Partial<WebhookEndpoint>) };
        return json(200, endpoint);
      },
    });
    const user = userEvent.setup();
    renderWithProviders(<WebhooksPage />);

    await user.click(await screen.findByRole('button', { name: `Disable the endpoint ${live.url}` }));
    await waitFor(() => expect(screen.getByTestId('webhook-row')).toHaveAttribute('data-status', 'disabled'));
    await user.click(screen.getByRole('button', { name: `Enable the endpoint ${live.url}` }));
    await waitFor(() => expect(screen.getByTestId('webhook-row')).toHaveAttribute('data-status', 'enabled'));

    const patches = api.requests.filter((request) => request.method === 'PATCH').map((request) => JSON.parse(request.body!));
    expect(patches).toEqual([{ status: 'disabled' }, { status: 'enabled' }]);
  });

  it('rotates the secret and shows the new one once', async () => {
    stubApi({
      'GET /webhook-endpoints': () => json(200, [live]),
      'POST /webhook-endpoints/4/rotate-secret': () => json(200, { ...live, secret: 'whsec_bmV3LXNlY3JldA==' }),
    });
    const user = userEvent.setup();
    renderWithProviders(<WebhooksPage />);

    await user.click(await screen.findByRole('button', { name: `Rotate the signing secret of ${live.url}` }));

    expect(await screen.findByTestId('webhook-secret')).toHaveTextContent('whsec_bmV3LXNlY3JldA==');
    expect(screen.getByRole('status')).toHaveTextContent('the previous secret keeps signing beside it for 24 hours');
  });

  it('deletes an endpoint only after the confirmation', async () => {
    let endpoints = [live];
    const api = stubApi({
      'GET /webhook-endpoints': () => json(200, endpoints),
      'DELETE /webhook-endpoints/4': () => {
        endpoints = [];
        return new Response(null, { status: 204 });
      },
    });
    const user = userEvent.setup();
    renderWithProviders(<WebhooksPage />);

    await user.click(await screen.findByRole('button', { name: `Delete the endpoint ${live.url}` }));
    expect(api.requests.some((request) => request.method === 'DELETE')).toBe(false);
    await user.click(screen.getByRole('button', { name: 'Keep it' }));
    expect(screen.queryByTestId('webhook-delete-confirm')).not.toBeInTheDocument();
    await user.click(screen.getByTestId('webhook-delete'));
    await user.click(screen.getByTestId('webhook-delete-confirm'));

    await waitFor(() => expect(screen.queryByTestId('webhook-row')).not.toBeInTheDocument());
    expect(api.requests.filter((request) => request.method === 'DELETE').map((request) => request.path)).toEqual([
      '/webhook-endpoints/4',
    ]);
  });

  it("lists an endpoint's recent deliveries and redelivers an event to that endpoint", async () => {
    setCsrfToken('csrf-token');
    const api = stubApi({
      'GET /webhook-endpoints': () => json(200, [live]),
      'GET /webhook-endpoints/4/deliveries': () => json(200, { results: [attempt], next: null, previous: null }),
      'POST /events/evt_aaaaaaaaaaaaaaaaaaaaaaaaaa/redeliver': () => json(202, { deliveries: 1 }),
    });
    const user = userEvent.setup();
    renderWithProviders(<WebhooksPage />);

    await user.click(await screen.findByRole('button', { name: 'Show recent deliveries' }));
    const row = await screen.findByTestId('webhook-delivery-row');
    expect(row).toHaveTextContent('evt_aaaaaaaaaaaaaaaaaaaaaaaaaa');
    expect(row).toHaveTextContent('HTTP 500');
    expect(row).toHaveTextContent('Attempt 2 · 37 ms');
    expect(row).toHaveTextContent('HTTP 500 from the receiver');
    await user.click(within(row).getByRole('button', { name: 'Redeliver the event evt_aaaaaaaaaaaaaaaaaaaaaaaaaa' }));

    expect(await screen.findByText('Event evt_aaaaaaaaaaaaaaaaaaaaaaaaaa queued to send again.')).toBeInTheDocument();
    const redeliver = api.requests.find((request) => request.path.endsWith('/redeliver'));
    expect(JSON.parse(redeliver!.body!)).toEqual({ endpoint_id: 4 });
    expect(redeliver?.headers['X-CSRFToken']).toBe('csrf-token');
    expect(api.requests.some((request) => request.path === '/webhook-endpoints/4/deliveries?limit=20')).toBe(true);
  });

  it('works the same for a developer, who manages endpoints too', async () => {
    stubApi({
      'GET /webhook-endpoints': () => json(200, [live]),
      'POST /webhook-endpoints/4/rotate-secret': () => json(200, { ...live, secret: 'whsec_ZGV2' }),
    });
    const user = userEvent.setup();
    renderWithProviders(<WebhooksPage />, { session: { ...testSession, role: 'developer' } });

    expect(await screen.findByTestId('webhook-row')).toBeInTheDocument();
    expect(screen.getByTestId('webhook-submit')).toBeInTheDocument();
    await user.click(screen.getByTestId('webhook-rotate'));
    expect(await screen.findByTestId('webhook-secret')).toHaveTextContent('whsec_ZGV2');
  });
});
