import { queryOptions, useQuery } from '@tanstack/react-query';

import { apiRequest } from '@/lib/api-client';
import { LIVE_INTERVAL_MS, RECOVERY_INTERVAL_MS, isInFlight } from '@/lib/polling';
import { merchantKey } from '@/lib/query-keys';
import { useSession } from '@/lib/session';
import type { Id, Payout } from '@/types/api';

export function getPayout({ apiKey, payoutId, signal }: { apiKey: string; payoutId: Id | string; signal?: AbortSignal }) {
  return apiRequest<Payout>(`/payouts/${encodeURIComponent(String(payoutId))}`, { apiKey, signal });
}

export function payoutQueryKey({ merchantId, payoutId }: { merchantId: Id; payoutId: Id | string }) {
  return [...merchantKey(merchantId), 'payouts', String(payoutId)] as const;
}

/** One payout; polled while it is in flight, so its page shows the bank's answer when it comes. */
export function usePayout(payoutId: Id | string) {
  const { merchantId, apiKey } = useSession();
  return useQuery(
    queryOptions({
      queryKey: payoutQueryKey({ merchantId, payoutId }),
      queryFn: ({ signal }) => getPayout({ apiKey, payoutId, signal }),
      refetchInterval: (query) => {
        const status = query.state.data?.status;
        if (status && isInFlight(status)) return LIVE_INTERVAL_MS;
        return query.state.status === 'error' ? RECOVERY_INTERVAL_MS : false;
      },
      refetchIntervalInBackground: false,
    }),
  );
}
