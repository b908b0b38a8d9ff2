import type { ReactNode } from 'react';

import { Money } from '@/components/ui/money';
import { Skeleton } from '@/components/ui/skeleton';
import { errorMessage } from '@/lib/api-client';
import type { Paise } from '@/lib/money';

import { useBalance } from '../api/get-balance';

function Figure({
  label,
  hint,
  paise,
  testId,
  emphasis,
  loading,
}: {
  label: string;
  hint: ReactNode;
  paise: Paise | undefined;
  testId: string;
  emphasis?: boolean;
  loading: boolean;
}) {
  return (
    <div
      className={
        emphasis
          ? 'min-w-0 rounded-2xl bg-brand-900 px-5 py-4 text-white shadow-sm'
          : 'min-w-0 rounded-2xl border border-line bg-surface px-5 py-4 shadow-sm shadow-slate-900/5'
      }
    >
      <dt className={emphasis ? 'text-sm font-medium text-brand-100' : 'text-sm font-medium text-ink-muted'}>{label}</dt>
      <dd className="mt-1">
        {paise === undefined ? (
          loading ? (
            <Skeleton className={emphasis ? 'h-9 w-48 bg-white/20' : 'h-9 w-40'} />
          ) : (
            <span className="text-3xl font-semibold">—</span>
          )
        ) : (
          <Money
            paise={paise}
            data-testid={testId}
            className="block truncate text-2xl font-semibold tracking-tight sm:text-3xl"
          />
        )}
      </dd>
      <dd className={emphasis ? 'mt-1 text-xs text-brand-200' : 'mt-1 text-xs text-ink-muted'}>{hint}</dd>
    </div>
  );
}

/** Available and held balance. `live` polls faster while payouts are in flight. */
export function BalanceSummary({ live }: { live: boolean }) {
  const balance = useBalance({ live });
  const data = balance.data;

  return (
    <section aria-label="Balance">
      <dl className="grid gap-3 sm:grid-cols-2">
        <Figure
          label="Available balance"
          hint="Ready to pay out"
          paise={data?.available_paise}
          testId="available-balance"
          emphasis
          loading={balance.isPending}
        />
        <Figure
          label="Held"
          hint="Reserved for payouts in progress"
          paise={data?.held_paise}
          testId="held-balance"
          loading={balance.isPending}
        />
      </dl>
      {balance.isError && !data ? (
        <p role="alert" className="mt-2 text-sm text-debit">
          Could not load the balance: {errorMessage(balance.error)}
        </p>
      ) : null}
    </section>
  );
}
