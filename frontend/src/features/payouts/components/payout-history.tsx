import { useId, useRef, useState } from 'react';

import { Button } from '@/components/ui/button';
import { Card } from '@/components/ui/card';
import { Money } from '@/components/ui/money';
import { Skeleton } from '@/components/ui/skeleton';
import { Spinner } from '@/components/ui/spinner';
import { errorMessage } from '@/lib/api-client';
import { cn } from '@/lib/cn';
import { formatDateTime, formatFullDateTime, shortId } from '@/lib/format';
import { cursorFromLink } from '@/lib/pagination';
import { anyInFlight } from '@/lib/polling';
import type { BankAccount, Payout } from '@/types/api';

import { useBankAccounts } from '../api/get-bank-accounts';
import {
  NEWEST_PAYOUTS,
  PAYOUT_STATUS_FILTERS,
  usePayouts,
  type PayoutStatusFilter,
  type PayoutsPage,
} from '../api/get-payouts';
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

const filterLabel: Record<PayoutStatusFilter, string> = {
  all: 'All statuses',
  pending: 'Pending',
  processing: 'Processing',
  completed: 'Completed',
  failed: 'Failed',
};

/** Which page is on screen; `number` is only for display (cursor pages have no index). */
interface View extends PayoutsPage {
  number: number;
}

const FIRST_PAGE: View = { ...NEWEST_PAYOUTS, number: 1 };

function emptyText(view: View): string {
  if (view.number > 1) return 'No payouts on this page any more.';
  if (view.status !== 'all') return `No ${filterLabel[view.status].toLowerCase()} payouts.`;
  return 'No payouts yet. Request one and it will appear here.';
}

export function PayoutHistory() {
  const filterId = useId();
  const [view, setView] = useState<View>(FIRST_PAGE);
  const payouts = usePayouts({ status: view.status, cursor: view.cursor });
  const bankAccounts = useBankAccounts();
  const [expanded, setExpanded] = useState<string | null>(null);
  const listTop = useRef<HTMLDivElement>(null);

  // While the next page loads, the previous one stays on screen (dimmed), and
  // its links must not be followed: they belong to the page being left.
  const turning = payouts.isPlaceholderData;
  const rows = payouts.data?.results ?? [];
  const live = anyInFlight(rows.map((payout) => payout.status));
  const olderCursor = turning ? undefined : cursorFromLink(payouts.data?.next ?? null);
  const newerCursor = turning ? undefined : cursorFromLink(payouts.data?.previous ?? null);
  const accountsById = new Map((bankAccounts.data ?? []).map((account) => [String(account.id), account]));

  function show(next: View) {
    setView(next);
    listTop.current?.scrollIntoView?.({ block: 'nearest' });
  }

  function showOlder() {
    if (olderCursor) show({ status: view.status, cursor: olderCursor, number: view.number + 1 });
  }

  function showNewer() {
    const number = view.number - 1;
    // Page 1 is the live head of the list, not the page that was first before
    // newer payouts arrived, so it is asked for without a cursor.
    if (number <= 1 || !newerCursor) show({ status: view.status, cursor: null, number: 1 });
    else show({ status: view.status, cursor: newerCursor, number });
  }

  const paged = view.number > 1 || Boolean(payouts.data?.next);
  // Nothing to filter until there is a payout; a chosen filter stays visible so it can be undone.
  const filterable = rows.length > 0 || view.status !== 'all' || view.number > 1;

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
      <div
        ref={listTop}
        hidden={!filterable}
        className="flex flex-wrap items-center justify-between gap-x-4 gap-y-2 border-b border-line px-4 py-2.5 sm:px-5"
      >
        <div className="flex items-center gap-2">
          <label htmlFor={filterId} className="text-sm font-medium text-ink-muted">
            Show
          </label>
          <select
            id={filterId}
            data-testid="payout-status-filter"
            value={view.status}
            onChange={(event) => show({ ...FIRST_PAGE, status: event.target.value as PayoutStatusFilter })}
            className="block min-h-9 rounded-lg border border-slate-300 bg-white px-2.5 pr-8 text-sm text-ink shadow-sm hover:border-slate-400 focus-visible:border-brand-600"
          >
            {PAYOUT_STATUS_FILTERS.map((status) => (
              <option key={status} value={status}>
                {filterLabel[status]}
              </option>
            ))}
          </select>
        </div>
        {paged ? (
          <span data-testid="payouts-page" className="text-sm text-ink-muted tabular-nums">
            Page {view.number}
          </span>
        ) : null}
      </div>
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
        <p className="px-4 py-8 text-center text-sm text-ink-muted sm:px-5">{emptyText(view)}</p>
      ) : (
        <ul
          aria-label={`Payouts, page ${view.number}`}
          aria-busy={turning}
          data-testid="payout-list"
          className={cn('divide-y divide-line transition-opacity', turning && 'opacity-60')}
        >
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
      {payouts.isError && rows.length > 0 ? (
        <p role="alert" className="border-t border-line px-4 py-2 text-sm text-debit sm:px-5">
          Could not refresh this page: {errorMessage(payouts.error)}
        </p>
      ) : null}
      {paged ? (
        <nav aria-label="Payout pages" className="flex items-center justify-between gap-3 border-t border-line px-4 py-3 sm:px-5">
          <Button variant="secondary" data-testid="payouts-previous" onClick={showNewer} disabled={turning || view.number === 1}>
            <span aria-hidden="true">←</span> Newer
          </Button>
          {turning ? <Spinner className="text-ink-muted" /> : null}
          <Button variant="secondary" data-testid="payouts-next" onClick={showOlder} disabled={turning || !olderCursor}>
            Older <span aria-hidden="true">→</span>
          </Button>
        </nav>
      ) : null}
    </Card>
  );
}
