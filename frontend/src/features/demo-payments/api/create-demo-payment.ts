import { useMutation, useQueryClient } from '@tanstack/react-query';

import { apiRequest } from '@/lib/api-client';
import { merchantKey } from '@/lib/query-keys';
import { useSession } from '@/lib/session';
import type { PaymentCredit } from '@/types/api';

/** Demo mode only: a simulated customer payment to the signed-in owner's merchant. */
export function createDemoPayment(amountPaise: bigint): Promise<PaymentCredit> {
  return apiRequest<PaymentCredit>('/demo/payments', { method: 'POST', body: { amount_paise: amountPaise } });
}

/** The credit changes balance and ledger: every query of the merchant is read again. */
export function useCreateDemoPayment() {
  const { merchantId } = useSession();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: createDemoPayment,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: merchantKey(merchantId) }),
  });
}
