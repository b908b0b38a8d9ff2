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
 * One page of the history: a status filter, and the query string of the
 * API's `next` or `previous` link (which carries the cursor, the limit and the
 * filter). A null cursor is the newest page.
 */
export interface PayoutsPage {
  status: PayoutStatusFilter;
  cursor: string | null;
}

export const NEWEST_PAYOUTS: PayoutsPage = { status: 'all', cursor: null };

export function payoutsPath({ status, cursor }: PayoutsPage): string {
  if (cursor) return `/payouts${cursor}`;
  const params = new URLSearchParams({ limit: String(PAYOUTS_PAGE_SIZE) });
  if (status !== 'all') params.set('status', status);
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

export function payoutsQueryKey(merchantId: Id, { status, cursor }: PayoutsPage = NEWEST_PAYOUTS) {
  return [...merchantKey(merchantId), 'payouts', 'list', status, cursor ?? 'newest'] as const;
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
