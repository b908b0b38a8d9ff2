import { queryOptions, useQuery } from '@tanstack/react-query';

import { apiRequest } from '@/lib/api-client';
import { LIVE_INTERVAL_MS } from '@/lib/polling';
import { merchantKey } from '@/lib/query-keys';
import { useSession } from '@/lib/session';
import type { Id, PayoutEvent } from '@/types/api';

export function getPayoutEvents({
  apiKey,
  payoutId,
  signal,
}: {
  apiKey: string;
  payoutId: Id;
  signal?: AbortSignal;
}): Promise<PayoutEvent[]> {
  return apiRequest<PayoutEvent[]>(`/payouts/${encodeURIComponent(String(payoutId))}/events`, { apiKey, signal });
}

export function payoutEventsQueryOptions({
  merchantId,
  apiKey,
  payoutId,
  live,
}: {
  merchantId: Id;
  apiKey: string;
  payoutId: Id;
  live: boolean;
}) {
  return queryOptions({
    queryKey: [...merchantKey(merchantId), 'payouts', String(payoutId), 'events'],
    queryFn: ({ signal }) => getPayoutEvents({ apiKey, payoutId, signal }),
    refetchInterval: live ? LIVE_INTERVAL_MS : false,
    refetchIntervalInBackground: false,
  });
}

/** The audit trail of one payout; polled while the payout is still in flight. */
export function usePayoutEvents({ payoutId, live }: { payoutId: Id; live: boolean }) {
  const { merchantId, apiKey } = useSession();
  return useQuery(payoutEventsQueryOptions({ merchantId, apiKey, payoutId, live }));
}
