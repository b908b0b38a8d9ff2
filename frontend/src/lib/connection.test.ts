import { QueryClient, QueryObserver } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';

import { ApiError, NetworkError } from './api-client';
import { isApiUnreachable } from './connection';

async function cacheAfter(queryFn: () => Promise<unknown>) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const observer = new QueryObserver(client, { queryKey: ['probe'], queryFn });
  const unsubscribe = observer.subscribe(() => {});
  await observer.refetch();
  return { queries: client.getQueryCache().getAll(), unsubscribe };
}

describe('isApiUnreachable', () => {
  it('is true when a watched query got no answer', async () => {
    const { queries } = await cacheAfter(() => Promise.reject(new NetworkError('down')));
    expect(isApiUnreachable(queries)).toBe(true);
  });

  it('is false when the API answered, even with an error', async () => {
    const { queries } = await cacheAfter(() => Promise.reject(new ApiError(500, 'boom', 'Boom.')));
    expect(isApiUnreachable(queries)).toBe(false);
  });

  it('ignores queries nobody is watching', async () => {
    const { queries, unsubscribe } = await cacheAfter(() => Promise.reject(new NetworkError('down')));
    unsubscribe();
    expect(isApiUnreachable(queries)).toBe(false);
  });
});
