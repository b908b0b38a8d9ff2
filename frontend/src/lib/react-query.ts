import { QueryClient } from '@tanstack/react-query';

import { isTransientError } from './api-client';

const MAX_RETRIES = 3;

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // A 401 or 404 will not fix itself; an unreachable API may.
        retry: (failureCount, error) => failureCount < MAX_RETRIES && isTransientError(error),
        refetchIntervalInBackground: false,
        refetchOnWindowFocus: true,
        refetchOnReconnect: true,
        staleTime: 1_000,
      },
      mutations: { retry: false },
    },
  });
}
