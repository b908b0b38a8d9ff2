import type { Id } from '@/types/api';

/**
 * Every query of a merchant's data starts with this key, so one
 * invalidation refreshes all of it (a payout changes balance, ledger and
 * history at once) and switching merchant never shows another's cache.
 */
export function merchantKey(merchantId: Id) {
  return ['merchant', String(merchantId)] as const;
}
