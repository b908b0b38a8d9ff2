import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { apiRequest } from '@/lib/api-client';
import { merchantKey } from '@/lib/query-keys';
import { useSession } from '@/lib/session';
import type { ApiKey, Id, NewApiKey } from '@/types/api';

export function apiKeysQueryKey(merchantId: Id) {
  return [...merchantKey(merchantId), 'api-keys'] as const;
}

export function getApiKeys({ signal }: { signal?: AbortSignal } = {}): Promise<ApiKey[]> {
  return apiRequest<ApiKey[]>('/api-keys', { signal });
}

export function createApiKey(name: string): Promise<NewApiKey> {
  return apiRequest<NewApiKey>('/api-keys', { method: 'POST', body: { name } });
}

export function revokeApiKey(id: Id): Promise<ApiKey> {
  return apiRequest<ApiKey>(`/api-keys/${String(id)}`, { method: 'DELETE' });
}

export function useApiKeys() {
  const { merchantId } = useSession();
  const queryClient = useQueryClient();
  const queryKey = apiKeysQueryKey(merchantId);
  const refresh = () => queryClient.invalidateQueries({ queryKey });
  return {
    keys: useQuery({ queryKey, queryFn: ({ signal }) => getApiKeys({ signal }) }),
    create: useMutation({ mutationFn: createApiKey, onSettled: refresh }),
    revoke: useMutation({ mutationFn: revokeApiKey, onSettled: refresh }),
  };
}
