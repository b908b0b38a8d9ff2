import { queryOptions, useQuery } from '@tanstack/react-query';

import { apiRequest } from '@/lib/api-client';
import { RECOVERY_INTERVAL_MS } from '@/lib/polling';
import type { DemoMerchant } from '@/types/api';

/** Demo merchants and their keys; needs no auth and exists only in demo mode. */
export function getDemoMerchants({ signal }: { signal?: AbortSignal } = {}): Promise<DemoMerchant[]> {
  return apiRequest<DemoMerchant[]>('/demo/merchants', { signal });
}

export function demoMerchantsQueryOptions() {
  return queryOptions({
    queryKey: ['demo-merchants'],
    queryFn: ({ signal }) => getDemoMerchants({ signal }),
    staleTime: 5 * 60_000,
    // Without merchants the page can show nothing; keep asking until the API is back.
    refetchInterval: (query) => (query.state.status === 'error' ? RECOVERY_INTERVAL_MS : false),
  });
}

export function useDemoMerchants() {
  return useQuery(demoMerchantsQueryOptions());
}
