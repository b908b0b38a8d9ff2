import { infiniteQueryOptions, useInfiniteQuery } from '@tanstack/react-query';

import { apiRequest } from '@/lib/api-client';
import { cursorFromLink } from '@/lib/pagination';
import { pollInterval } from '@/lib/polling';
import { merchantKey } from '@/lib/query-keys';
import { useSession } from '@/lib/session';
import type { Id, LedgerPage } from '@/types/api';

export const LEDGER_PAGE_SIZE = 10;

export function getLedgerPage({
  apiKey,
  cursor,
  signal,
}: {
  apiKey: string;
  cursor: string | null;
  signal?: AbortSignal;
}): Promise<LedgerPage> {
  return apiRequest<LedgerPage>(`/ledger${cursor ?? `?limit=${LEDGER_PAGE_SIZE}`}`, { apiKey, signal });
}

export function ledgerQueryKey(merchantId: Id) {
  return [...merchantKey(merchantId), 'ledger'] as const;
}

export function ledgerQueryOptions({ merchantId, apiKey, live }: { merchantId: Id; apiKey: string; live: boolean }) {
  return infiniteQueryOptions({
    queryKey: ledgerQueryKey(merchantId),
    queryFn: ({ pageParam, signal }) => getLedgerPage({ apiKey, cursor: pageParam, signal }),
    initialPageParam: null as string | null,
    getNextPageParam: (lastPage) => cursorFromLink(lastPage.next),
    refetchInterval: (query) => pollInterval({ live, failing: query.state.status === 'error' }),
    refetchIntervalInBackground: false,
  });
}

export function useLedger({ live }: { live: boolean }) {
  const { merchantId, apiKey } = useSession();
  return useInfiniteQuery(ledgerQueryOptions({ merchantId, apiKey, live }));
}
