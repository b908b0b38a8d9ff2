import type { DemoMerchant } from '@/types/api';

const STORAGE_KEY = 'payout-dashboard:merchant-id';

export function readStoredMerchantId(storage: Pick<Storage, 'getItem'> | undefined = globalThis.localStorage): string | null {
  try {
    return storage?.getItem(STORAGE_KEY) ?? null;
  } catch {
    return null; // storage can be blocked (private modes, policies)
  }
}

export function storeMerchantId(id: string, storage: Pick<Storage, 'setItem'> | undefined = globalThis.localStorage): void {
  try {
    storage?.setItem(STORAGE_KEY, id);
  } catch {
    // The choice then lasts for this visit only.
  }
}

/** The remembered merchant if it still exists, else the first one. */
export function resolveMerchant(merchants: readonly DemoMerchant[], chosenId: string | null): DemoMerchant | undefined {
  return merchants.find((merchant) => String(merchant.id) === chosenId) ?? merchants[0];
}
