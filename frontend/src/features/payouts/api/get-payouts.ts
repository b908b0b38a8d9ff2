import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';

import { apiRequest } from '@/lib/api-client';
import { payoutsPollInterval } from '@/lib/polling';
import { merchantKey } from '@/lib/query-keys';
import { useSession } from '@/lib/session';
import { PAYOUT_STATUSES, type Id, type PayoutPage } from '@/types/api';

export const PAYOUTS_PAGE_SIZE = 20;

export const PAYOUT_STATUS_FILTERS = ['all', ...PAYOUT_STATUSES] as const;
export type PayoutStatusFilter = (typeof PAYOUT_STATUS_FILTERS)[number];

/**
 * What the history is filtered by. Dates are calendar days (`YYYY-MM-DD`, as
 * a date input gives them), both included, in UTC as the API reads a date;
 * empty strings filter nothing.
 */
export interface PayoutFilters {
  status: PayoutStatusFilter;
  reference?: string;
  from?: string;
  to?: string;
}

/**
 * One page of the history: its filters, and the query string of the API's
 * `next` or `previous` link (which carries the cursor, the limit and the
 * filters). A null cursor is the newest page.
 */
export interface PayoutsPage extends PayoutFilters {
  cursor: string | null;
}

export const NEWEST_PAYOUTS: PayoutsPage = { status: 'all', cursor: null };

/** The day after `YYYY-MM-DD`: `created_lt` of a range that includes its last day. */
export function dayAfter(day: string): string {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + 1);
  return date.toISOString().slice(0, 10);
}

/** The API's query parameters for these filters (GET /payouts and GET /payouts/export.csv take the same). */
export function payoutFilterParams({ status, reference, from, to }: PayoutFilters): URLSearchParams {
  const params = new URLSearchParams();
  if (status !== 'all') params.set('status', status);
  if (reference?.trim()) params.set('reference_id', reference.trim());
  if (from) params.set('created_gte', from);
  if (to) params.set('created_lt', dayAfter(to));
  return params;
}

export function payoutsPath(page: PayoutsPage): string {
  if (page.cursor) return `/payouts${page.cursor}`;
  const params = new URLSearchParams({ limit: String(PAYOUTS_PAGE_SIZE) });
  for (const [name, value] of payoutFilterParams(page)) params.set(name, value);
  return `/payouts?${params.toString()}`;
}

export function getPayouts({
  apiKey,
  page,
  signal,
}: {
  apiKey: string;
  page: PayoutsPage;
  signal?: AbortSignal;
}): Promise<PayoutPage> {
  return apiRequest<PayoutPage>(payoutsPath(page), { apiKey, signal });
}

export function payoutsQueryKey(merchantId: Id, page: PayoutsPage = NEWEST_PAYOUTS) {
  const filters = payoutFilterParams(page).toString();
  return [...merchantKey(merchantId), 'payouts', 'list', page.status, filters, page.cursor ?? 'newest'] as const;
}

export function payoutsQueryOptions({
  merchantId,
  apiKey,
  page = NEWEST_PAYOUTS,
}: {
  merchantId: Id;
  apiKey: string;
  page?: PayoutsPage;
}) {
  return queryOptions({
    queryKey: payoutsQueryKey(merchantId, page),
    queryFn: ({ signal }) => getPayouts({ apiKey, page, signal }),
    // Turning a page keeps the rows on screen until the next ones arrive.
    placeholderData: keepPreviousData,
    // Each page polls on its own: fast while a payout it shows is in flight, slow once all are final.
    refetchInterval: (query) =>
      payoutsPollInterval({
        statuses: query.state.data?.results.map((payout) => payout.status) ?? [],
        failing: query.state.status === 'error',
      }),
    refetchIntervalInBackground: false,
  });
}

/** A page of the payout history; without arguments, the newest payouts of every status. */
export function usePayouts(page: PayoutsPage = NEWEST_PAYOUTS) {
  const { merchantId, apiKey } = useSession();
  return useQuery(payoutsQueryOptions({ merchantId, apiKey, page }));
}
