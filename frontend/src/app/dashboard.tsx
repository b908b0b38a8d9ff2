import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';

import { balanceQueryKey } from '@/features/balance/api/get-balance';
import { BalanceSummary } from '@/features/balance/components/balance-summary';
import { DemoPaymentForm } from '@/features/demo-payments/components/demo-payment-form';
import { ledgerQueryKey } from '@/features/ledger/api/get-ledger';
import { useDemoMerchants } from '@/features/merchants/api/get-demo-merchants';
import { LedgerList } from '@/features/ledger/components/ledger-list';
import { usePayouts } from '@/features/payouts/api/get-payouts';
import { PayoutForm } from '@/features/payouts/components/payout-form';
import { PayoutHistory } from '@/features/payouts/components/payout-history';
import { anyInFlight } from '@/lib/polling';
import { useSession } from '@/lib/session';

/**
 * One merchant's dashboard. Balance and ledger poll fast while any payout is
 * in flight, and are re-read as soon as a payout changes status: completion
 * releases the hold and failure returns the funds in the same transaction.
 */
export function Dashboard() {
  const { merchantId, role } = useSession();
  const queryClient = useQueryClient();
  const payouts = usePayouts();
  // /demo/merchants answers only in demo mode: then an owner may simulate customer payments.
  const demoMode = useDemoMerchants().isSuccess;
  const rows = payouts.data?.results ?? [];
  const live = anyInFlight(rows.map((payout) => payout.status));
  const statusSignature = payouts.data
    ? rows.map((payout) => `${String(payout.id)}:${payout.status}`).join(',')
    : null;

  const seenSignature = useRef<string | null>(null);
  useEffect(() => {
    if (statusSignature === null) return;
    const previous = seenSignature.current;
    seenSignature.current = statusSignature;
    if (previous === null || previous === statusSignature) return;
    void queryClient.invalidateQueries({ queryKey: balanceQueryKey(merchantId) });
    void queryClient.invalidateQueries({ queryKey: ledgerQueryKey(merchantId) });
  }, [statusSignature, merchantId, queryClient]);

  return (
    <div className="space-y-6">
      <BalanceSummary live={live} />
      {demoMode && role === 'owner' ? <DemoPaymentForm /> : null}
      <div className="grid items-start gap-6 lg:grid-cols-[minmax(0,24rem)_minmax(0,1fr)]">
        {/* Payouts from the dashboard are the owner's; other roles read the history. */}
        {role === 'owner' ? <PayoutForm /> : null}
        <PayoutHistory />
      </div>
      <LedgerList live={live} />
    </div>
  );
}
