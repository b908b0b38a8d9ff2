import { useId } from 'react';

import type { DemoMerchant } from '@/types/api';

export function MerchantSwitcher({
  merchants,
  value,
  onChange,
}: {
  merchants: readonly DemoMerchant[];
  value: string;
  onChange: (merchantId: string) => void;
}) {
  const id = useId();
  return (
    <div className="flex min-w-0 items-center gap-2">
      <label htmlFor={id} className="shrink-0 text-sm font-medium text-brand-100">
        Merchant
      </label>
      <select
        id={id}
        data-testid="merchant-switcher"
        value={value}
        onChange={(event) => onChange(event.target.value)}
        className="block min-h-10 w-full min-w-0 rounded-lg border border-white/20 bg-white/10 px-3 pr-8 text-sm font-medium text-white sm:w-64 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-white [&>option]:text-ink"
      >
        {merchants.map((merchant) => (
          <option key={String(merchant.id)} value={String(merchant.id)}>
            {merchant.name}
          </option>
        ))}
      </select>
    </div>
  );
}
