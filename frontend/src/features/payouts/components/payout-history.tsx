import { useId, useRef, useState } from 'react';

import { Button } from '@/components/ui/button';
import { Card } from '@/components/ui/card';
import { Money } from '@/components/ui/money';
import { Skeleton } from '@/components/ui/skeleton';
import { Spinner } from '@/components/ui/spinner';
import { errorMessage } from '@/lib/api-client';
import { cn } from '@/lib/cn';
import { formatDateTime, formatFullDateTime, shortId } from '@/lib/format';
import { hashFor } from '@/lib/hash-route';
import { cursorFromLink } from '@/lib/pagination';
import { anyInFlight } from '@/lib/polling';
import { useSession } from '@/lib/session';
import type { BankAccount, Payout } from '@/types/api';

import { downloadPayoutsCsv } from '../api/export-payouts';
import { useBankAccounts } from '../api/get-bank-accounts';
import {
  NEWEST_PAYOUTS,
  PAYOUT_STATUS_FILTERS,
  usePayouts,
  type PayoutFilters,
  type PayoutStatusFilter,
  type PayoutsPage,
} from '../api/get-payouts';
import { REFERENCE_ID_PATTERN } from '../lib/attachments';
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
            {payout.reference_id ? (
              <span>
                <span className="sr-only">Reference </span>
                <span className="font-mono">{payout.reference_id}</span>
              </span>
            ) : null}
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
        <div id={panelId} className="space-y-3 border-t border-dashed border-line bg-slate-50/60 px-4 py-3 sm:px-5">
          <PayoutTimeline payout={payout} />
          <a
            href={hashFor(['payouts', payout.id])}
            data-testid="payout-open"
            className="inline-block text-sm font-medium text-brand-700 underline-offset-2 hover:underline"
          >
            Open the payout&apos;s page
          </a>
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

function filtersOf(view: View): PayoutFilters {
  return { status: view.status, reference: view.reference, from: view.from, to: view.to };
}

function narrowed(view: View): boolean {
  return Boolean(view.reference || view.from || view.to);
}

function emptyText(view: View): string {
  if (view.number > 1) return 'No payouts on this page any more.';
  if (narrowed(view)) return 'No payouts match these filters.';
  if (view.status !== 'all') return `No ${filterLabel[view.status].toLowerCase()} payouts.`;
  return 'No payouts yet. Request one and it will appear here.';
}

const filterControl =
  'block min-h-9 rounded-lg border border-slate-300 bg-white px-2.5 text-sm text-ink shadow-sm hover:border-slate-400 focus-visible:border-brand-600 aria-[invalid=true]:border-rose-500';

function ExportButton({ filters }: { filters: PayoutFilters }) {
  const { apiKey } = useSession();
  const [state, setState] = useState<{ busy: boolean; error: string | null }>({ busy: false, error: null });

  async function download() {
    setState({ busy: true, error: null });
    try {
      await downloadPayoutsCsv({ apiKey, filters });
      setState({ busy: false, error: null });
    } catch (error) {
      setState({ busy: false, error: errorMessage(error) });
    }
  }

  return (
    <span className="inline-flex items-center gap-2">
      <Button variant="secondary" data-testid="payouts-export" onClick={() => void download()} disabled={state.busy}>
        {state.busy ? <Spinner /> : null} Download CSV
      </Button>
      {state.error ? (
        <span role="alert" data-testid="payouts-export-error" className="text-sm text-debit">
          {state.error}
        </span>
      ) : null}
    </span>
  );
}

export function PayoutHistory() {
  const filterId = useId();
  const referenceId = `${filterId}-reference`;
  const fromId = `${filterId}-from`;
  const toId = `${filterId}-to`;
  const [view, setView] = useState<View>(FIRST_PAGE);
  const payouts = usePayouts(view);
  // The reference as typed; it filters once it is a reference the API accepts (or is cleared).
  const [reference, setReference] = useState('');
  const referenceInvalid = reference.trim() !== '' && !REFERENCE_ID_PATTERN.test(reference.trim());
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

  function filterBy(change: Partial<PayoutFilters>) {
    show({ ...FIRST_PAGE, ...filtersOf(view), ...change });
  }

  function showOlder() {
    if (olderCursor) show({ ...filtersOf(view), cursor: olderCursor, number: view.number + 1 });
  }

  function showNewer() {
    const number = view.number - 1;
    // Page 1 is the live head of the list, not the page that was first before
    // newer payouts arrived, so it is asked for without a cursor.
    if (number <= 1 || !newerCursor) show({ ...filtersOf(view), cursor: null, number: 1 });
    else show({ ...filtersOf(view), cursor: newerCursor, number });
  }

  const paged = view.number > 1 || Boolean(payouts.data?.next);
  // Nothing to filter until there is a payout; a chosen filter stays visible so it can be undone.
  const filterable = rows.length > 0 || view.status !== 'all' || narrowed(view) || view.number > 1;

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
        <div className="flex flex-wrap items-end gap-x-3 gap-y-2">
          <div className="flex items-center gap-2">
            <label htmlFor={filterId} className="text-sm font-medium text-ink-muted">
              Show
            </label>
            <select
              id={filterId}
              data-testid="payout-status-filter"
              value={view.status}
              onChange={(event) => filterBy({ status: event.target.value as PayoutStatusFilter })}
              className={`${filterControl} pr-8`}
            >
              {PAYOUT_STATUS_FILTERS.map((status) => (
                <option key={status} value={status}>
                  {filterLabel[status]}
                </option>
              ))}
            </select>
          </div>
          <div className="flex items-center gap-2">
            <label htmlFor={referenceId} className="text-sm font-medium text-ink-muted">
              Reference
            </label>
            <input
              id={referenceId}
              data-testid="payout-filter-reference"
              type="search"
              autoComplete="off"
              spellCheck={false}
              value={reference}
              aria-invalid={referenceInvalid || undefined}
              title="Letters, digits, _ - . (up to 40)"
              onChange={(event) => {
                const typed = event.target.value;
                setReference(typed);
                const trimmed = typed.trim();
                if (trimmed === '' || REFERENCE_ID_PATTERN.test(trimmed)) filterBy({ reference: trimmed });
              }}
              className={`${filterControl} w-40 font-mono`}
            />
          </div>
          <div className="flex items-center gap-2">
            <label htmlFor={fromId} className="text-sm font-medium text-ink-muted">
              From
            </label>
            <input
              id={fromId}
              data-testid="payout-filter-from"
              type="date"
              value={view.from ?? ''}
              max={view.to || undefined}
              onChange={(event) => filterBy({ from: event.target.value })}
              className={filterControl}
            />
          </div>
          <div className="flex items-center gap-2">
            <label htmlFor={toId} className="text-sm font-medium text-ink-muted">
              To
            </label>
            <input
              id={toId}
              data-testid="payout-filter-to"
              type="date"
              value={view.to ?? ''}
              min={view.from || undefined}
              onChange={(event) => filterBy({ to: event.target.value })}
              className={filterControl}
            />
          </div>
        </div>
        <ExportButton filters={filtersOf(view)} />
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
