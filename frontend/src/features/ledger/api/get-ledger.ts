import { infiniteQueryOptions, useInfiniteQuery } from '@tanstack/react-query';

import { apiRequest } from '@/lib/api-client';
import { pollInterval } from '@/lib/polling';
import { merchantKey } from '@/lib/query-keys';
import { useSession } from '@/lib/session';
import type { Id, LedgerEntry, Page } from '@/types/api';

export const LEDGER_PAGE_SIZE = 10;

/**
 * The query string of the API's `next` link (it carries the cursor).
 * The link is re-based on our own API URL: behind a proxy the server may
 * build it with an internal host or plain http.
 */
export function cursorFromNext(next: string | null): string | undefined {
  if (!next) return undefined;
  try {
    const search = new URL(next, 'http://placeholder.invalid').search;
    return search || undefined;
  } catch {
    return undefined;
  }
}

export function getLedgerPage({
  apiKey,
  cursor,
  signal,
}: {
  apiKey: string;
  cursor: string | null;
  signal?: AbortSignal;
}): Promise<Page<LedgerEntry>> {
  return apiRequest<Page<LedgerEntry>>(`/ledger${cursor ?? `?limit=${LEDGER_PAGE_SIZE}`}`, { apiKey, signal });
}

export function ledgerQueryKey(merchantId: Id) {
  return [...merchantKey(merchantId), 'ledger'] as const;
}

export function ledgerQueryOptions({ merchantId, apiKey, live }: { merchantId: Id; apiKey: string; live: boolean }) {
  return infiniteQueryOptions({
    queryKey: ledgerQueryKey(merchantId),
    queryFn: ({ pageParam, signal }) => getLedgerPage({ apiKey, cursor: pageParam, signal }),
    initialPageParam: null as string | null,
    getNextPageParam: (lastPage) => cursorFromNext(lastPage.next),
    refetchInterval: (query) => pollInterval({ live, failing: query.state.status === 'error' }),
    refetchIntervalInBackground: false,
  });
}

export function useLedger({ live }: { live: boolean }) {
  const { merchantId, apiKey } = useSession();
  return useInfiniteQuery(ledgerQueryOptions({ merchantId, apiKey, live }));
}
