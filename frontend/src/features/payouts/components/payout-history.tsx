import { useState } from 'react';

import { Card } from '@/components/ui/card';
import { Money } from '@/components/ui/money';
import { Skeleton } from '@/components/ui/skeleton';
import { errorMessage } from '@/lib/api-client';
import { cn } from '@/lib/cn';
import { formatDateTime, formatFullDateTime, shortId } from '@/lib/format';
import { anyInFlight } from '@/lib/polling';
import type { BankAccount, Payout } from '@/types/api';

import { useBankAccounts } from '../api/get-bank-accounts';
import { usePayouts } from '../api/get-payouts';
import { PayoutTimeline } from './payout-timeline';
import { StatusBadge } from './status-badge';

function PayoutRow({
  payout,
  account,
  expanded,
  onToggle,
}: {
  payout: Payout;
  account: BankAccount | undefined;
  expanded: boolean;
  onToggle: () => void;
}) {
  const panelId = `payout-${String(payout.id)}-events`;
  return (
    <li data-testid="payout-row" data-status={payout.status} data-payout-id={String(payout.id)}>
      <button
        type="button"
        onClick={onToggle}
        aria-expanded={expanded}
        aria-controls={panelId}
        className="grid w-full grid-cols-[1fr_auto] items-start gap-x-4 gap-y-1 px-4 py-3 text-left transition-colors hover:bg-slate-50 focus-visible:-outline-offset-2 sm:px-5"
      >
        <span className="min-w-0">
          <span className="flex flex-wrap items-center gap-2">
            <Money paise={payout.amount_paise} className="text-base font-semibold text-ink" />
            <StatusBadge status={payout.status} />
          </span>
          <span className="mt-1 flex flex-wrap gap-x-3 gap-y-0.5 text-xs text-ink-muted">
            <span>
              <span className="sr-only">Payout </span>
              <span className="font-mono">{shortId(payout.id)}</span>
            </span>
            <span>
              {account ? `${account.ifsc} ••${account.account_last4}` : `Account ${shortId(payout.bank_account_id)}`}
            </span>
            <time dateTime={payout.created_at} title={formatFullDateTime(payout.created_at)}>
              {formatDateTime(payout.created_at)}
            </time>
            <span>
              {payout.attempts} {payout.attempts === 1 ? 'attempt' : 'attempts'}
            </span>
          </span>
          {payout.failure_reason ? (
            <span className="mt-1 block text-sm break-words text-debit">{payout.failure_reason}</span>
          ) : null}
        </span>
        <span className="mt-1 flex items-center gap-1 text-xs font-medium text-brand-700">
          <span className="hidden sm:inline">{expanded ? 'Hide history' : 'History'}</span>
          <svg
            aria-hidden="true"
            viewBox="0 0 20 20"
            className={cn('size-4 transition-transform', expanded && 'rotate-180')}
            fill="currentColor"
          >
            <path
              fillRule="evenodd"
              d="M5.23 7.21a.75.75 0 0 1 1.06.02L10 11.17l3.71-3.94a.75.75 0 1 1 1.08 1.04l-4.25 4.5a.75.75 0 0 1-1.08 0l-4.25-4.5a.75.75 0 0 1 .02-1.06Z"
              clipRule="evenodd"
            />
          </svg>
          <span className="sr-only">{expanded ? 'Hide status history' : 'Show status history'}</span>
        </span>
      </button>
      {expanded ? (
        <div id={panelId} className="border-t border-dashed border-line bg-slate-50/60 px-4 py-3 sm:px-5">
          <PayoutTimeline payout={payout} />
        </div>
      ) : null}
    </li>
  );
}

export function PayoutHistory() {
  const payouts = usePayouts();
  const bankAccounts = useBankAccounts();
  const [expanded, setExpanded] = useState<string | null>(null);

  const rows = payouts.data?.results ?? [];
  const live = anyInFlight(rows.map((payout) => payout.status));
  const accountsById = new Map((bankAccounts.data ?? []).map((account) => [String(account.id), account]));

  return (
    <Card
      titleId="payout-history-title"
      title="Payouts"
      description="Most recent first. Select a payout to see its status history."
      actions={
        rows.length > 0 ? (
          <span className="inline-flex items-center gap-1.5 text-xs font-medium text-ink-muted" aria-live="polite">
            <span
              aria-hidden="true"
              className={cn('size-2 rounded-full', live ? 'animate-pulse bg-sky-500' : 'bg-emerald-500')}
            />
            {live ? 'Updating live' : 'All settled'}
          </span>
        ) : null
      }
    >
      {payouts.isPending ? (
        <ul aria-label="Loading payouts" className="divide-y divide-line">
          {[0, 1, 2].map((i) => (
            <li key={i} className="space-y-2 px-4 py-3 sm:px-5">
              <Skeleton className="h-5 w-1/3" />
              <Skeleton className="h-4 w-2/3" />
            </li>
          ))}
        </ul>
      ) : payouts.isError && rows.length === 0 ? (
        <p role="alert" className="px-4 py-6 text-sm text-debit sm:px-5">
          Could not load payouts: {errorMessage(payouts.error)}
        </p>
      ) : rows.length === 0 ? (
        <p className="px-4 py-8 text-center text-sm text-ink-muted sm:px-5">
          No payouts yet. Request one and it will appear here.
        </p>
      ) : (
        <ul className="divide-y divide-line">
          {rows.map((payout) => {
            const id = String(payout.id);
            return (
              <PayoutRow
                key={id}
                payout={payout}
                account={accountsById.get(String(payout.bank_account_id))}
                expanded={expanded === id}
                onToggle={() => setExpanded((current) => (current === id ? null : id))}
              />
            );
          })}
        </ul>
      )}
    </Card>
  );
}
