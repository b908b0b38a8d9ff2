import { queryOptions, useQuery } from '@tanstack/react-query';

import { apiRequest } from '@/lib/api-client';
import { RECOVERY_INTERVAL_MS } from '@/lib/polling';
import { merchantKey } from '@/lib/query-keys';
import { useSession } from '@/lib/session';
import type { BankAccount, Id } from '@/types/api';

export function getBankAccounts({ apiKey, signal }: { apiKey: string; signal?: AbortSignal }): Promise<BankAccount[]> {
  return apiRequest<BankAccount[]>('/bank-accounts', { apiKey, signal });
}

export function bankAccountsQueryOptions({ merchantId, apiKey }: { merchantId: Id; apiKey: string }) {
  return queryOptions({
    queryKey: [...merchantKey(merchantId), 'bank-accounts'],
    queryFn: ({ signal }) => getBankAccounts({ apiKey, signal }),
    staleTime: 60_000,
    // Bank accounts rarely change; only keep asking while the API is failing.
    refetchInterval: (query) => (query.state.status === 'error' ? RECOVERY_INTERVAL_MS : false),
  });
}

export function useBankAccounts() {
  const { merchantId, apiKey } = useSession();
  return useQuery(bankAccountsQueryOptions({ merchantId, apiKey }));
}
