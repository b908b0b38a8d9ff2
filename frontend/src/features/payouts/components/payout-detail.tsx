import type { ReactNode } from 'react';

import { Card } from '@/components/ui/card';
import { Money } from '@/components/ui/money';
import { Skeleton } from '@/components/ui/skeleton';
import { ApiError, errorMessage } from '@/lib/api-client';
import { formatFullDateTime } from '@/lib/format';
import { hashFor } from '@/lib/hash-route';

import { useBankAccounts } from '../api/get-bank-accounts';
import { usePayout } from '../api/get-payout';
import { failureCodeText } from '../lib/failure-codes';
import { PayoutTimeline } from './payout-timeline';
import { StatusBadge } from './status-badge';


function Row({ label, testId, children }: { label: string; testId: string; children: ReactNode }) {
  return (
    <div className="grid gap-1 px-4 py-3 sm:grid-cols-[10rem_1fr] sm:px-5">
      <dt className="text-sm font-medium text-ink-muted">{label}</dt>
      <dd data-testid={testId} className="min-w-0 text-sm break-words text-ink">
        {children}
      </dd>
    </div>
  );
}

const none = <span className="text-ink-muted">—</span>;

/** One payout's page (`#/payouts/<id>`): what was asked, what the bank said, and every step in between. */
export function PayoutDetail({ payoutId }: { payoutId: string }) {
  const payout = usePayout(payoutId);
  const accounts = useBankAccounts();
  const back = (
    <a href={hashFor(['payouts'])} data-testid="payout-back" className="text-sm font-medium text-brand-700 hover:underline">
      <span aria-hidden="true">←</span> All payouts
    </a>
  );

  if (payout.isPending) {
    return (
      <Card titleId="payout-detail-title" title={`Payout #${payoutId}`} actions={back}>
        <div className="space-y-2 px-4 py-4 sm:px-5" aria-label="Loading the payout">
          <Skeleton className="h-6 w-1/3" />
          <Skeleton className="h-4 w-2/3" />
        </div>
      </Card>
    );
  }
  if (payout.isError && !payout.data) {
    const missing = payout.error instanceof ApiError && payout.error.status === 404;
    return (
      <Card titleId="payout-detail-title" title={`Payout #${payoutId}`} actions={back}>
        <p role="alert" data-testid="payout-detail-error" className="px-4 py-6 text-sm text-debit sm:px-5">
          {missing ? 'There is no such payout among yours.' : `Could not load the payout: ${errorMessage(payout.error)}`}
        </p>
      </Card>
    );
  }

  const p = payout.data;
  const account = (accounts.data ?? []).find((candidate) => String(candidate.id) === String(p.bank_account_id));
  const notes = Object.entries(p.notes);
  return (
    <div className="space-y-6" data-testid="payout-detail" data-status={p.status} data-payout-id={String(p.id)}>
      <Card titleId="payout-detail-title" title={`Payout #${String(p.id)}`} actions={back}>
        <dl className="divide-y divide-line">
          <Row label="Amount" testId="payout-detail-amount">
            <Money paise={p.amount_paise} className="text-lg font-semibold" />
          </Row>
          <Row label="Status" testId="payout-detail-status">
            <StatusBadge status={p.status} />
          </Row>
          <Row label="To bank account" testId="payout-detail-account">
            {account ? `${account.holder_name} · ${account.ifsc} ••${account.account_last4}` : `Account #${String(p.bank_account_id)}`}
          </Row>
          <Row label="Reference" testId="payout-detail-reference">
            {p.reference_id ? <span className="font-mono">{p.reference_id}</span> : none}
          </Row>
          <Row label="Narration" testId="payout-detail-narration">
            {p.narration ?? none}
          </Row>
          <Row label="UTR" testId="payout-detail-utr">
            {p.utr ? <span className="font-mono">{p.utr}</span> : <span className="text-ink-muted">Once the bank settles it</span>}
          </Row>
          {p.status === 'failed' ? (
            <Row label="Failure" testId="payout-detail-failure">
              <span className="block font-mono text-debit" data-testid="payout-detail-failure-code">
                {p.failure_code ?? 'unknown'}
              </span>
              {p.failure_code ? <span className="block">{failureCodeText[p.failure_code]}</span> : null}
              {p.failure_reason ? <span className="block text-ink-muted">{p.failure_reason}</span> : null}
            </Row>
          ) : null}
          <Row label="Notes" testId="payout-detail-notes">
            {notes.length === 0 ? (
              none
            ) : (
              <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1">
                {notes.map(([key, value]) => (
                  <div key={key} className="contents">
                    <dt className="font-mono text-ink-muted">{key}</dt>
                    <dd className="break-words">{value}</dd>
                  </div>
                ))}
              </dl>
            )}
          </Row>
          <Row label="Requested" testId="payout-detail-created">
            <time dateTime={p.created_at}>{formatFullDateTime(p.created_at)}</time>
          </Row>
          <Row label="Attempts" testId="payout-detail-attempts">
            {p.attempts}
          </Row>
        </dl>
      </Card>
      <Card titleId="payout-events-title" title="Events" description="Every status change, oldest first.">
        <div className="px-4 py-4 sm:px-5" data-testid="payout-detail-events">
          <PayoutTimeline payout={p} />
        </div>
      </Card>
    </div>
  );
}
