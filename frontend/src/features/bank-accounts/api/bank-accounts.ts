import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { apiRequest } from '@/lib/api-client';
import { LIVE_INTERVAL_MS, RECOVERY_INTERVAL_MS } from '@/lib/polling';
import { useSession } from '@/lib/session';
import type { BankAccount, BankAccountRequest, Id } from '@/types/api';

import { bankAccountsQueryOptions } from '@/features/payouts/api/get-bank-accounts';

export function addBankAccount(body: BankAccountRequest): Promise<BankAccount> {
  return apiRequest<BankAccount>('/bank-accounts', { method: 'POST', body });
}

export function deactivateBankAccount(id: Id): Promise<BankAccount> {
  return apiRequest<BankAccount>(`/bank-accounts/${String(id)}`, { method: 'DELETE' });
}

/** True while the bank has not answered about some account: the list then refreshes by itself. */
export function anyPendingVerification(accounts: readonly BankAccount[] | undefined): boolean {
  return (accounts ?? []).some((account) => account.status === 'pending_verification');
}

/**
 * The merchant's accounts (the same query the payout form reads, so both see
 * a change at once), refreshed every 1.5 s while one awaits the bank's check,
 * and the owner's two writes.
 */
export function useBankAccountsPage() {
  const { merchantId, apiKey } = useSession();
  const queryClient = useQueryClient();
  const options = bankAccountsQueryOptions({ merchantId, apiKey });
  const refresh = () => queryClient.invalidateQueries({ queryKey: options.queryKey });
  return {
    accounts: useQuery({
      ...options,
      staleTime: 0,
      refetchInterval: (query) => {
        if (query.state.status === 'error') return RECOVERY_INTERVAL_MS;
        return anyPendingVerification(query.state.data) ? LIVE_INTERVAL_MS : false;
      },
    }),
    add: useMutation({ mutationFn: addBankAccount, onSettled: refresh }),
    deactivate: useMutation({ mutationFn: deactivateBankAccount, onSettled: refresh }),
  };
}
