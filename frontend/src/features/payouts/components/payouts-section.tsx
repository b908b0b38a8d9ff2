import { PayoutDetail } from './payout-detail';
import { PayoutHistory } from './payout-history';

/** `#/payouts`: the whole history, filterable and exportable; `#/payouts/<id>`: one payout's page. */
export function PayoutsSection({ rest }: { rest: string[] }) {
  const [payoutId] = rest;
  if (payoutId) return <PayoutDetail key={payoutId} payoutId={payoutId} />;
  return <PayoutHistory />;
}
