import { Skeleton } from '@/components/ui/skeleton';
import { errorMessage } from '@/lib/api-client';
import { formatDateTime, formatFullDateTime } from '@/lib/format';
import type { Payout, PayoutStatus } from '@/types/api';

import { usePayoutEvents } from '../api/get-payout-events';

const statusWord: Record<PayoutStatus, string> = {
  pending: 'Pending',
  processing: 'Processing',
  completed: 'Completed',
  failed: 'Failed',
};

const dotColour: Record<PayoutStatus, string> = {
  pending: 'bg-amber-500',
  processing: 'bg-sky-500',
  completed: 'bg-emerald-500',
  failed: 'bg-rose-500',
};

function word(status: PayoutStatus | null): string {
  if (status === null) return 'Created';
  return Object.hasOwn(statusWord, status) ? statusWord[status] : status;
}

/** The audit trail of one payout, oldest first, refreshed while it is in flight and when its status changes. */
export function PayoutTimeline({ payout }: { payout: Payout }) {
  const events = usePayoutEvents({ payoutId: payout.id, status: payout.status });

  if (events.isPending) {
    return (
      <div className="space-y-2" aria-label="Loading history">
        <Skeleton className="h-4 w-1/2" />
        <Skeleton className="h-4 w-2/3" />
      </div>
    );
  }
  if (events.isError && !events.data) {
    return <p className="text-sm text-debit">Could not load the history: {errorMessage(events.error)}</p>;
  }
  if (events.data.length === 0) {
    return <p className="text-sm text-ink-muted">No status changes recorded yet.</p>;
  }

  return (
    <ol className="relative space-y-3 border-l border-line pl-5">
      {events.data.map((event, index) => (
        <li key={`${event.created_at}-${index}`} className="relative">
          <span
            aria-hidden="true"
            className={`absolute top-1.5 -left-[1.6rem] size-2.5 rounded-full ring-4 ring-white ${
              Object.hasOwn(dotColour, event.to_status) ? dotColour[event.to_status] : 'bg-slate-400'
            }`}
          />
          <p className="text-sm text-ink">
            <span className="font-medium">{word(event.from_status)}</span>
            <span aria-hidden="true"> → </span>
            <span className="sr-only"> to </span>
            <span className="font-medium">{word(event.to_status)}</span>
            {event.attempt ? <span className="text-ink-muted"> · attempt {event.attempt}</span> : null}
          </p>
          {event.reason ? <p className="text-sm text-ink-muted break-words">{event.reason}</p> : null}
          <time className="text-xs text-ink-muted" dateTime={event.created_at} title={formatFullDateTime(event.created_at)}>
            {formatDateTime(event.created_at)}
          </time>
        </li>
      ))}
    </ol>
  );
}
