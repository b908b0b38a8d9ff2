import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useMemo } from 'react';

import { apiRequest } from '@/lib/api-client';
import { merchantKey } from '@/lib/query-keys';
import { useSession } from '@/lib/session';
import type { Payout, PayoutRequest } from '@/types/api';

import { createPayoutSubmitter, type PayoutIntent } from '../lib/idempotent-submit';

export interface CreatePayoutRequest {
  apiKey: string;
  idempotencyKey: string;
  intent: PayoutIntent;
  fetch?: typeof fetch;
}

export function createPayout({ apiKey, idempotencyKey, intent, fetch }: CreatePayoutRequest): Promise<Payout> {
  const body: PayoutRequest = { amount_paise: intent.amountPaise, bank_account_id: intent.bankAccountId };
  if (intent.referenceId) body.reference_id = intent.referenceId;
  if (intent.narration) body.narration = intent.narration;
  return apiRequest<Payout>('/payouts', {
    apiKey,
    method: 'POST',
    headers: { 'Idempotency-Key': idempotencyKey },
    // amount_paise goes out as a JSON integer, exact even beyond 2^53.
    body,
    fetch,
  });
}

/** Submits payouts for the current merchant with one key per intended payout. */
export function useCreatePayout() {
  const { apiKey, merchantId } = useSession();
  const queryClient = useQueryClient();

  const submitter = useMemo(
    () => createPayoutSubmitter({ send: ({ idempotencyKey, intent }) => createPayout({ apiKey, idempotencyKey, intent }) }),
    [apiKey],
  );

  const mutation = useMutation({
    mutationFn: (intent: PayoutIntent) => submitter.submit(intent),
    // Even a failed attempt may have moved money (a lost response), so re-read either way.
    onSettled: () => queryClient.invalidateQueries({ queryKey: merchantKey(merchantId) }),
  });

  return { ...mutation, forgetKey: submitter.reset };
}
