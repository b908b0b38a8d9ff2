import { Button } from '@/components/ui/button';
import { Card } from '@/components/ui/card';
import { Money } from '@/components/ui/money';
import { Skeleton } from '@/components/ui/skeleton';
import { Spinner } from '@/components/ui/spinner';
import { errorMessage } from '@/lib/api-client';
import { cn } from '@/lib/cn';
import { formatDateTime, formatFullDateTime, shortId } from '@/lib/format';
import type { LedgerEntry, LedgerKind } from '@/types/api';

import { useLedger } from '../api/get-ledger';

const kindLabel: Record<LedgerKind, string> = {
  payment: 'Payment',
  payout: 'Payout',
  reversal: 'Reversal',
};

const kindStyle: Record<LedgerKind, string> = {
  payment: 'bg-emerald-50 text-emerald-800 ring-emerald-200',
  payout: 'bg-slate-100 text-slate-700 ring-slate-200',
  reversal: 'bg-amber-50 text-amber-900 ring-amber-200',
};

function LedgerRow({ entry }: { entry: LedgerEntry }) {
  const known = Object.hasOwn(kindLabel, entry.kind);
  return (
    <li
      data-testid="ledger-row"
      data-kind={entry.kind}
      data-payout-id={entry.payout_id === null ? undefined : String(entry.payout_id)}
      className="grid grid-cols-[1fr_auto] items-start gap-x-4 gap-y-1 px-4 py-3 sm:px-5"
    >
      <div className="min-w-0">
        <div className="flex flex-wrap items-center gap-2">
          <span className={cn(
              'rounded-md px-1.5 py-0.5 text-xs font-medium ring-1 ring-inset',
              known ? kindStyle[entry.kind] : kindStyle.payout,
            )}>
            {known ? kindLabel[entry.kind] : entry.kind}
          </span>
          <span className="min-w-0 text-sm font-medium break-words text-ink">{entry.description || '—'}</span>
        </div>
        <p className="mt-1 flex flex-wrap gap-x-3 text-xs text-ink-muted">
          <time dateTime={entry.created_at} title={formatFullDateTime(entry.created_at)}>
            {formatDateTime(entry.created_at)}
          </time>
          {entry.payout_id !== null ? (
            <span>
              Payout <span className="font-mono">{shortId(entry.payout_id)}</span>
            </span>
          ) : null}
        </p>
      </div>
      <Money paise={entry.amount_paise} signed className="text-sm font-semibold sm:text-base" />
    </li>
  );
}

export function LedgerList({ live }: { live: boolean }) {
  const ledger = useLedger({ live });
  const entries = ledger.data?.pages.flatMap((page) => page.results) ?? [];

  return (
    <Card titleId="ledger-title" title="Recent activity" description="Credits and debits on your balance, newest first.">
      {ledger.isPending ? (
        <ul aria-label="Loading activity" className="divide-y divide-line">
          {[0, 1, 2].map((i) => (
            <li key={i} className="flex justify-between gap-4 px-4 py-3 sm:px-5">
              <Skeleton className="h-5 w-2/3" />
              <Skeleton className="h-5 w-20" />
            </li>
          ))}
        </ul>
      ) : ledger.isError && entries.length === 0 ? (
        <p role="alert" className="px-4 py-6 text-sm text-debit sm:px-5">
          Could not load activity: {errorMessage(ledger.error)}
        </p>
      ) : entries.length === 0 ? (
        <p className="px-4 py-8 text-center text-sm text-ink-muted sm:px-5">No activity yet.</p>
      ) : (
        <>
          <ul className="divide-y divide-line">
            {entries.map((entry) => (
              <LedgerRow key={String(entry.id)} entry={entry} />
            ))}
          </ul>
          {ledger.hasNextPage ? (
            <div className="border-t border-line px-4 py-3 text-center sm:px-5">
              <Button
                variant="secondary"
                onClick={() => void ledger.fetchNextPage()}
                disabled={ledger.isFetchingNextPage}
                className="w-full sm:w-auto"
              >
                {ledger.isFetchingNextPage ? (
                  <>
                    <Spinner /> Loading…
                  </>
                ) : (
                  'Load more'
                )}
              </Button>
              {ledger.isFetchNextPageError ? (
                <p role="alert" className="mt-2 text-sm text-debit">
                  {errorMessage(ledger.error)}
                </p>
              ) : null}
            </div>
          ) : null}
        </>
      )}
    </Card>
  );
}
