import { useCallback, useState } from 'react';

import { useDemoMerchants } from '../api/get-demo-merchants';
import { readStoredMerchantId, resolveMerchant, storeMerchantId } from '../lib/merchant-choice';

export function useCurrentMerchant() {
  const merchantsQuery = useDemoMerchants();
  const [chosenId, setChosenId] = useState<string | null>(readStoredMerchantId);

  const choose = useCallback((id: string) => {
    setChosenId(id);
    storeMerchantId(id);
  }, []);

  const merchants = merchantsQuery.data ?? [];
  return { merchantsQuery, merchants, current: resolveMerchant(merchants, chosenId), choose };
}
