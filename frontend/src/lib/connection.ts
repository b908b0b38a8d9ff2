import { useQueryClient, type Query } from '@tanstack/react-query';
import { useCallback, useSyncExternalStore } from 'react';

import { NetworkError } from './api-client';

/**
 * True while some query on screen cannot reach the API at all (as opposed to
 * the API answering with an error). It clears itself on the next successful
 * read, because a success resets the query's error state.
 */
export function isApiUnreachable(queries: readonly Query[]): boolean {
  return queries.some((query) => {
    if (query.getObserversCount() === 0) return false;
    const { state } = query;
    const failingNow = state.fetchFailureCount > 0 && state.fetchFailureReason instanceof NetworkError;
    const failedLast = state.status === 'error' && state.error instanceof NetworkError;
    return failingNow || failedLast;
  });
}

export function useApiUnreachable(): boolean {
  const cache = useQueryClient().getQueryCache();
  const subscribe = useCallback((onChange: () => void) => cache.subscribe(onChange), [cache]);
  const snapshot = useCallback(() => isApiUnreachable(cache.getAll()), [cache]);
  return useSyncExternalStore(subscribe, snapshot, snapshot);
}
