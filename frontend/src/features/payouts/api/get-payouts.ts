import { queryOptions, useQuery } from '@tanstack/react-query';

import { apiRequest } from '@/lib/api-client';
import { payoutsPollInterval } from '@/lib/polling';
import { merchantKey } from '@/lib/query-keys';
import { useSession } from '@/lib/session';
import type { Id, Page, Payout } from '@/types/api';

export const PAYOUTS_PAGE_SIZE = 20;

export function getPayouts({ apiKey, signal }: { apiKey: string; signal?: AbortSignal }): Promise<Page<Payout>> {
  return apiRequest<Page<Payout>>(`/payouts?limit=${PAYOUTS_PAGE_SIZE}`, { apiKey, signal });
}

export function payoutsQueryOptions({ merchantId, apiKey }: { merchantId: Id; apiKey: string }) {
  return queryOptions({
    queryKey: [...merchantKey(merchantId), 'payouts'],
    queryFn: ({ signal }) => getPayouts({ apiKey, signal }),
    // Fast while a visible payout is in flight, slow once all are final.
    refetchInterval: (query) =>
      payoutsPollInterval({
        statuses: query.state.data?.results.map((payout) => payout.status) ?? [],
        failing: query.state.status === 'error',
      }),
    refetchIntervalInBackground: false,
  });
}

export function usePayouts() {
  const { merchantId, apiKey } = useSession();
  return useQuery(payoutsQueryOptions({ merchantId, apiKey }));
}
