import { queryOptions, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';

import { apiRequest } from '@/lib/api-client';
import { LIVE_INTERVAL_MS, RECOVERY_INTERVAL_MS, isInFlight } from '@/lib/polling';
import { merchantKey } from '@/lib/query-keys';
import { useSession } from '@/lib/session';
import type { Id, PayoutEvent, PayoutStatus } from '@/types/api';

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

export function payoutEventsQueryKey({ merchantId, payoutId }: { merchantId: Id; payoutId: Id }) {
  return [...merchantKey(merchantId), 'payouts', String(payoutId), 'events'] as const;
}

export function payoutEventsQueryOptions({
  merchantId,
  apiKey,
  payoutId,
  status,
}: {
  merchantId: Id;
  apiKey: string;
  payoutId: Id;
  /** The payout's status as the list last saw it. */
  status: PayoutStatus;
}) {
  return queryOptions({
    queryKey: payoutEventsQueryKey({ merchantId, payoutId }),
    queryFn: ({ signal }) => getPayoutEvents({ apiKey, payoutId, signal }),
    refetchInterval: (query) => {
      if (isInFlight(status)) return LIVE_INTERVAL_MS;
      return query.state.status === 'error' ? RECOVERY_INTERVAL_MS : false;
    },
    refetchIntervalInBackground: false,
  });
}

/**
 * The audit trail of one payout; polled while the payout is in flight, and
 * re-read at once whenever the list reports a new status for it. Without the
 * re-read, the poll stops the moment the status turns final, and the event
 * that made it final (written after the last poll) would never be shown.
 */
export function usePayoutEvents({ payoutId, status }: { payoutId: Id; status: PayoutStatus }) {
  const { merchantId, apiKey } = useSession();
  const queryClient = useQueryClient();

  const seenStatus = useRef(status);
  useEffect(() => {
    if (seenStatus.current === status) return;
    seenStatus.current = status;
    void queryClient.invalidateQueries({ queryKey: payoutEventsQueryKey({ merchantId, payoutId }), exact: true });
  }, [status, merchantId, payoutId, queryClient]);

  return useQuery(payoutEventsQueryOptions({ merchantId, apiKey, payoutId, status }));
}
