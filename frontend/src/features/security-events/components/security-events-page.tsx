import { useId, useState } from 'react';

import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Card } from '@/components/ui/card';
import { errorMessage } from '@/lib/api-client';
import { formatDateTime } from '@/lib/format';
import type { SecurityEvent } from '@/types/api';

import { useSecurityEvents } from '../api/security-events';

const KIND_LABELS: Record<SecurityEvent['kind'], string> = {
  login_succeeded: 'Signed in',
  login_failed: 'Sign-in refused',
  api_key_created: 'API key created',
  api_key_revoked: 'API key revoked',
  bank_account_added: 'Bank account added',
  bank_account_verified: 'Bank account verified',
  bank_account_rejected: 'Bank account rejected',
  bank_account_deactivated: 'Bank account deactivated',
  payment_credited: 'Payment credited',
};

/** Sign-ins, keys, bank accounts and credits, newest first, page by page (owners). */
export function SecurityEventsPage() {
  const titleId = useId();
  const [pageUrl, setPageUrl] = useState<string | null>(null);
  const events = useSecurityEvents(pageUrl);
  const page = events.data;

  return (
    <Card title="Security events" titleId={titleId} description="Who signed in, and what changed in your account.">
      <div className="grid gap-3 p-4 sm:p-5">
        {events.isError ? <Alert tone="error" title="Could not load the events">{errorMessage(events.error)}</Alert> : null}
        <ul className="divide-y divide-line" aria-label="Security events" aria-busy={events.isFetching}>
          {(page?.results ?? []).map((event) => (
            <li key={String(event.id)} data-testid="security-event-row" data-kind={event.kind} className="py-2.5">
              <p className="font-medium text-ink">{KIND_LABELS[event.kind] ?? event.kind}</p>
              <p className="text-xs text-ink-muted">
                {formatDateTime(event.created_at)}
                {event.email ? ` · ${event.email}` : ''}
                {event.client_address ? ` · from ${event.client_address}` : ''}
              </p>
              {event.description ? <p className="text-sm text-ink-muted">{event.description}</p> : null}
            </li>
          ))}
        </ul>
        {page && page.results.length === 0 ? <p className="text-sm text-ink-muted">No events yet.</p> : null}
        <div className="flex justify-between gap-2">
          <Button variant="secondary" disabled={!page?.previous} onClick={() => setPageUrl(page?.previous ?? null)}>
            Newer
          </Button>
          <Button variant="secondary" disabled={!page?.next} onClick={() => setPageUrl(page?.next ?? null)}>
            Older
          </Button>
        </div>
      </div>
    </Card>
  );
}
