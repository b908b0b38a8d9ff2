import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { json, renderWithProviders, stubApi, type RecordedRequest } from '@/testing/test-utils';
import type { Payout, PayoutEvent, PayoutPage } from '@/types/api';

import { PayoutHistory } from './payout-history';

function payout(overrides: Partial<Payout>): Payout {
  return {
    id: 1,
    amount_paise: 100,
    bank_account_id: 7,
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
    ...overrides,
  };
}

function page(
  results: Payout[],
  { next = null, previous = null }: { next?: string | null; previous?: string | null } = {},
): PayoutPage {
  return { results, next, previous };
}

function event(from: PayoutEvent['from_status'], to: PayoutEvent['to_status'], second: number): PayoutEvent {
  return { from_status: from, to_status: to, attempt: 1, reason: 'status changed', created_at: `2025-01-01T10:00:0${second}Z` };
}

const query = (request: RecordedRequest) => new URLSearchParams(request.path.split('?')[1] ?? '');
const listRequests = (requests: RecordedRequest[]) => requests.filter((request) => request.path.startsWith('/payouts?'));
const shownIds = async () => (await screen.findAllByTestId('payout-row')).map((row) => row.dataset.payoutId);

// Links as the API builds them: absolute, on its own host, with every parameter of the request.
const API = 'http://api.internal:8000/api/v1';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('PayoutHistory', () => {
  it('lists payouts with their status, amount, attempts and failure reason', async () => {
    stubApi({
      'GET /bank-accounts': () => json(200, [{ id: 7, holder_name: 'Asha', ifsc: 'HDFC0001234', account_last4: '4321', status: 'verified', registered_name: 'ASHA RAO', rejection_reason: null, created_at: '2025-01-01T09:00:00Z' }]),
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
          { from_status: 'pending', to_status: 'processing', attempt: 1, reason: 'attempt 1 sent to the bank', created_at: '2025-01-01T10:00:01Z' },
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

describe('PayoutHistory pages', () => {
  it('reaches older payouts page by page and comes back to the newest', async () => {
    const api = stubApi({
      'GET /bank-accounts': () => json(200, []),
      'GET /payouts': (request) => {
        const cursor = query(request).get('cursor');
        if (cursor === 'older2' || cursor === 'newer1') {
          return json(200, page([payout({ id: 2, status: 'completed' })], {
            next: `${API}/payouts?cursor=older1&limit=20`,
            previous: `${API}/payouts?cursor=newer2&limit=20`,
          }));
        }
        if (cursor === 'older1') {
          return json(200, page([payout({ id: 1, status: 'failed' })], { previous: `${API}/payouts?cursor=newer1&limit=20` }));
        }
        return json(200, page([payout({ id: 3, status: 'completed' })], { next: `${API}/payouts?cursor=older2&limit=20` }));
      },
    });
    const user = userEvent.setup();
    renderWithProviders(<PayoutHistory />);

    expect(await shownIds()).toEqual(['3']);
    expect(listRequests(api.requests)[0]!.path).toBe('/payouts?limit=20');
    expect(screen.getByTestId('payouts-previous')).toBeDisabled();

    await user.click(screen.getByTestId('payouts-next'));
    await waitFor(async () => expect(await shownIds()).toEqual(['2']));
    expect(screen.getByTestId('payouts-page')).toHaveTextContent('Page 2');

    await user.click(screen.getByTestId('payouts-next'));
    await waitFor(async () => expect(await shownIds()).toEqual(['1']));
    expect(screen.getByTestId('payouts-page')).toHaveTextContent('Page 3');
    expect(screen.getByTestId('payouts-next')).toBeDisabled();

    await user.click(screen.getByTestId('payouts-previous'));
    await waitFor(async () => expect(await shownIds()).toEqual(['2']));
    await user.click(screen.getByTestId('payouts-previous'));
    await waitFor(async () => expect(await shownIds()).toEqual(['3']));

    expect(listRequests(api.requests).map((request) => request.path)).toEqual([
      '/payouts?limit=20',
      '/payouts?cursor=older2&limit=20',
      '/payouts?cursor=older1&limit=20',
      '/payouts?cursor=newer1&limit=20',
      // Page 1 is the live head again, asked for without a cursor.
      '/payouts?limit=20',
    ]);
    expect(screen.getByTestId('payouts-previous')).toBeDisabled();
  });

  it('filters by status from the first page, and keeps the filter on later pages', async () => {
    const api = stubApi({
      'GET /bank-accounts': () => json(200, []),
      'GET /payouts': (request) => {
        const params = query(request);
        if (params.get('cursor') === 'failed2') return json(200, page([payout({ id: 1, status: 'failed' })]));
        if (params.get('status') === 'failed') {
          const next = `${API}/payouts?cursor=failed2&limit=20&status=failed`;
          return json(200, page([payout({ id: 4, status: 'failed' })], { next }));
        }
        return json(200, page([payout({ id: 5, status: 'completed' }), payout({ id: 4, status: 'failed' })]));
      },
    });
    const user = userEvent.setup();
    renderWithProviders(<PayoutHistory />);
    expect(await shownIds()).toEqual(['5', '4']);

    await user.selectOptions(screen.getByTestId('payout-status-filter'), 'failed');
    await waitFor(async () => expect(await shownIds()).toEqual(['4']));
    await user.click(screen.getByTestId('payouts-next'));
    await waitFor(async () => expect(await shownIds()).toEqual(['1']));

    const paths = listRequests(api.requests).map((request) => request.path);
    expect(paths).toContain('/payouts?limit=20&status=failed');
    expect(paths.at(-1)).toBe('/payouts?cursor=failed2&limit=20&status=failed');
    for (const row of screen.getAllByTestId('payout-row')) expect(row).toHaveAttribute('data-status', 'failed');
  });

  it('names the filter when it matches nothing', async () => {
    stubApi({
      'GET /bank-accounts': () => json(200, []),
      'GET /payouts': (request) =>
        json(200, page(query(request).get('status') === 'processing' ? [] : [payout({ id: 1, status: 'completed' })])),
    });
    const user = userEvent.setup();
    renderWithProviders(<PayoutHistory />);
    await shownIds();

    await user.selectOptions(screen.getByTestId('payout-status-filter'), 'processing');

    expect(await screen.findByText('No processing payouts.')).toBeInTheDocument();
  });

  it('updates the statuses of an older page while it is on screen', async () => {
    let polls = 0;
    stubApi({
      'GET /bank-accounts': () => json(200, []),
      'GET /payouts': (request) => {
        if (query(request).get('cursor') !== 'older') {
          return json(200, page([payout({ id: 9, status: 'completed' })], { next: `${API}/payouts?cursor=older&limit=20` }));
        }
        polls += 1;
        const status = polls === 1 ? 'processing' : 'completed';
        return json(200, page([payout({ id: 2, status })], { previous: `${API}/payouts?cursor=newer&limit=20` }));
      },
    });
    const user = userEvent.setup();
    renderWithProviders(<PayoutHistory />);
    await shownIds();

    await user.click(screen.getByTestId('payouts-next'));
    await waitFor(async () => expect(await shownIds()).toEqual(['2']));
    const row = screen.getByTestId('payout-row');
    expect(row).toHaveAttribute('data-status', 'processing');

    // The page on screen polls every 1.5 s while a payout on it is in flight (the contract
    // asks for 2 s); the rest of the wait is margin for a busy test machine.
    await waitFor(() => expect(row).toHaveAttribute('data-status', 'completed'), { timeout: 3_000 });
  });
});

describe('PayoutHistory timeline', () => {
  it('shows the final event once the list sees the payout finish', async () => {
    let status: Payout['status'] = 'processing';
    const api = stubApi({
      'GET /bank-accounts': () => json(200, []),
      'GET /payouts': () => json(200, page([payout({ id: 5, status, attempts: 1 })])),
      'GET /payouts/5/events': () =>
        json(
          200,
          status === 'processing'
            ? [event(null, 'pending', 0), event('pending', 'processing', 1)]
            : [event(null, 'pending', 0), event('pending', 'processing', 1), event('processing', 'completed', 2)],
        ),
    });
    const user = userEvent.setup();
    const { queryClient } = renderWithProviders(<PayoutHistory />);
    const row = await screen.findByTestId('payout-row');
    await user.click(within(row).getByRole('button'));
    expect(await within(row).findAllByRole('listitem')).toHaveLength(2);

    // The bank answers; the list's next poll sees it (here: at once).
    status = 'completed';
    await queryClient.refetchQueries({ predicate: (candidate) => candidate.queryKey.at(-1) !== 'events' });
    await waitFor(() => expect(row).toHaveAttribute('data-status', 'completed'));

    // Polling stops once the payout is final; the final event is fetched anyway, at once.
    await waitFor(() => expect(within(row).getAllByRole('listitem')).toHaveLength(3), { timeout: 1_000 });
    expect(within(row).getAllByRole('listitem')[2]).toHaveTextContent(/Processing\s*→\s*to\s*Completed/);
    expect(api.requests.filter((request) => request.path === '/payouts/5/events')).toHaveLength(2);
  });

  it('filters by reference and dates, keeps the filters when paging, and downloads the CSV with them', async () => {
    const api = stubApi({
      'GET /bank-accounts': () => json(200, []),
      'GET /payouts': (request) => {
        const params = query(request);
        if (params.get('cursor') === 'older') return json(200, page([payout({ id: 1, reference_id: 'INV-1' })]));
        const next = params.get('reference_id') ? `${API}/payouts?cursor=older&limit=20&reference_id=INV-1` : null;
        return json(200, page([payout({ id: 2, reference_id: 'INV-1' })], { next }));
      },
      'GET /payouts/export.csv': () => new Response('id\r\n2\r\n', { status: 200, headers: { 'Content-Type': 'text/csv' } }),
    });
    const created = vi.fn((blob: Blob) => blob);
    vi.stubGlobal(
      'URL',
      Object.assign(URL, { createObjectURL: (blob: Blob) => `blob:${String(created(blob).size)}`, revokeObjectURL: () => undefined }),
    );
    const user = userEvent.setup();
    renderWithProviders(<PayoutHistory />);

    await shownIds();
    await user.type(screen.getByLabelText('Reference'), 'INV-1');
    await user.type(screen.getByLabelText('From'), '2026-01-30');
    await user.type(screen.getByLabelText('To'), '2026-01-31');
    await waitFor(() => {
      const last = listRequests(api.requests).at(-1);
      expect(last && query(last).get('created_lt')).toBe('2026-02-01');
    });
    const last = listRequests(api.requests).at(-1);
    expect(last?.path).toBe('/payouts?limit=20&reference_id=INV-1&created_gte=2026-01-30&created_lt=2026-02-01');
    await user.click(await screen.findByTestId('payouts-next'));
    expect(await shownIds()).toEqual(['1']);
    expect(screen.getByLabelText('Reference')).toHaveValue('INV-1');

    await user.click(screen.getByTestId('payouts-export'));

    await waitFor(() => expect(created).toHaveBeenCalledTimes(1));
    const download = api.requests.find((request) => request.path.startsWith('/payouts/export.csv'));
    expect(download?.path).toBe('/payouts/export.csv?reference_id=INV-1&created_gte=2026-01-30&created_lt=2026-02-01');
    expect(download?.headers.Authorization).toBe('Bearer sk_test_asha');
  });

  it("links an opened row to the payout's page", async () => {
    stubApi({
      'GET /bank-accounts': () => json(200, []),
      'GET /payouts': () => json(200, page([payout({ id: 5, reference_id: 'INV-5' })])),
      'GET /payouts/5/events': () => json(200, []),
    });
    const user = userEvent.setup();
    renderWithProviders(<PayoutHistory />);

    const [row] = await screen.findAllByTestId('payout-row');
    expect(row).toHaveTextContent('INV-5');
    await user.click(within(row as HTMLElement).getByRole('button'));

    expect(await screen.findByTestId('payout-open')).toHaveAttribute('href', '#/payouts/5');
  });
});
