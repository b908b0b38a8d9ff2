import { queryOptions, useQuery } from '@tanstack/react-query';

import { apiRequest } from '@/lib/api-client';
import { pollInterval } from '@/lib/polling';
import { merchantKey } from '@/lib/query-keys';
import { useSession } from '@/lib/session';
import type { Balance, Id } from '@/types/api';

export function getBalance({ apiKey, signal }: { apiKey: string; signal?: AbortSignal }): Promise<Balance> {
  return apiRequest<Balance>('/balance', { apiKey, signal });
}

export function balanceQueryKey(merchantId: Id) {
  return [...merchantKey(merchantId), 'balance'] as const;
}

export function balanceQueryOptions({ merchantId, apiKey, live }: { merchantId: Id; apiKey: string; live: boolean }) {
  return queryOptions({
    queryKey: balanceQueryKey(merchantId),
    queryFn: ({ signal }) => getBalance({ apiKey, signal }),
    refetchInterval: (query) => pollInterval({ live, failing: query.state.status === 'error' }),
    refetchIntervalInBackground: false,
  });
}

/** `live`: a payout is in flight, so held and available may change any second. */
export function useBalance({ live }: { live: boolean }) {
  const { merchantId, apiKey } = useSession();
  return useQuery(balanceQueryOptions({ merchantId, apiKey, live }));
}
