import { useId, useRef, useState, type FormEvent } from 'react';

import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Card } from '@/components/ui/card';
import { errorMessage } from '@/lib/api-client';
import { cn } from '@/lib/cn';
import { formatDateTime } from '@/lib/format';
import { EVENT_TYPES, type EventType, type WebhookEndpoint, type WebhookEndpointWithSecret } from '@/types/api';

import { useWebhookDeliveries, useWebhookEndpoints } from '../api/webhooks';

/** A secret just received: shown until dismissed or replaced, never fetched again. */
interface ShownSecret {
  endpoint: WebhookEndpointWithSecret;
  why: 'created' | 'rotated';
}

/**
 * Webhook endpoints (owners and developers): add one (its signing secret shown
 * once), enable or disable, rotate the secret, delete, and see each one's
 * recent deliveries with a redeliver per event.
 */
export function WebhooksPage() {
  const titleId = useId();
  const { endpoints, create, update, remove, rotate } = useWebhookEndpoints();
  const [secret, setSecret] = useState<ShownSecret | null>(null);

  const rotateSecret = (endpoint: WebhookEndpoint) =>
    rotate.mutate(endpoint.id, { onSuccess: (rotated) => setSecret({ endpoint: rotated, why: 'rotated' }) });

  return (
    <Card
      title="Webhooks"
      titleId={titleId}
      description="The engine POSTs each event to these URLs, signed per Standard Webhooks."
    >
      <div className="grid gap-4 p-4 sm:p-5">
        <AddEndpointForm
          busy={create.isPending}
          error={create.error}
          onSubmit={(body, done) =>
            create.mutate(body, {
              onSuccess: (created) => {
                setSecret({ endpoint: created, why: 'created' });
                done();
              },
            })
          }
        />
        {secret ? <SecretOnce shown={secret} onDismiss={() => setSecret(null)} /> : null}
        {[update.error, remove.error, rotate.error].map((error, index) =>
          error ? (
            <Alert key={index} tone="error" role="alert" title="That did not work">
              {errorMessage(error)}
            </Alert>
          ) : null,
        )}
        {endpoints.isError ? (
          <Alert tone="error" title="Could not load the endpoints">
            {errorMessage(endpoints.error)}
          </Alert>
        ) : null}
        {endpoints.data && endpoints.data.length === 0 ? (
          <p className="text-sm text-ink-muted">No endpoints yet: add one above to receive events.</p>
        ) : null}
        <ul className="grid gap-3" aria-label="Webhook endpoints">
          {(endpoints.data ?? []).map((endpoint) => (
            <EndpointRow
              key={String(endpoint.id)}
              endpoint={endpoint}
              busy={update.isPending || remove.isPending || rotate.isPending}
              onToggle={() =>
                update.mutate({
                  id: endpoint.id,
                  changes: { status: endpoint.status === 'enabled' ? 'disabled' : 'enabled' },
                })
              }
              onRotate={() => rotateSecret(endpoint)}
              onDelete={() =>
                remove.mutate(endpoint.id, {
                  onSuccess: () => setSecret((shown) => (shown?.endpoint.id === endpoint.id ? null : shown)),
                })
              }
            />
          ))}
        </ul>
      </div>
    </Card>
  );
}

function AddEndpointForm({
  busy,
  error,
  onSubmit,
}: {
  busy: boolean;
  error: unknown;
  onSubmit: (body: { url: string; enabled_events: EventType[] }, done: () => void) => void;
}) {
  const urlId = useId();
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<EventType[]>([...EVENT_TYPES]);

  const toggle = (type: EventType, on: boolean) =>
    setEvents((current) => EVENT_TYPES.filter((candidate) => (candidate === type ? on : current.includes(candidate))));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSubmit({ url: url.trim(), enabled_events: events }, () => {
      setUrl('');
      setEvents([...EVENT_TYPES]);
    });
  };

  return (
    <form onSubmit={submit} className="grid gap-3" aria-label="Add a webhook endpoint">
      <div className="grid gap-1">
        <label htmlFor={urlId} className="text-sm font-medium text-ink">
          Endpoint URL
        </label>
        <input
          id={urlId}
          data-testid="webhook-url"
          type="text"
          inputMode="url"
          required
          maxLength={2000}
          value={url}
          placeholder="https://example.com/webhooks/payouts"
          aria-invalid={error ? true : undefined}
          onChange={(event) => setUrl(event.target.value)}
          className="min-h-10 min-w-0 rounded-lg border border-line px-3 font-mono text-sm"
        />
      </div>
      <fieldset className="grid gap-1.5">
        <legend className="mb-1 text-sm font-medium text-ink">Events to send</legend>
        <div className="flex flex-wrap gap-x-4 gap-y-1.5">
          {EVENT_TYPES.map((type) => (
            <label key={type} className="inline-flex min-h-8 items-center gap-2 text-sm text-ink">
              <input
                type="checkbox"
                data-testid="webhook-event"
                value={type}
                checked={events.includes(type)}
                onChange={(event) => toggle(type, event.target.checked)}
                className="size-4 accent-brand-600"
              />
              <code className="font-mono text-xs">{type}</code>
            </label>
          ))}
        </div>
        {events.length === 0 ? <p className="text-xs text-ink-muted">Choose at least one event.</p> : null}
      </fieldset>
      <div>
        <Button type="submit" data-testid="webhook-submit" disabled={busy || url.trim() === '' || events.length === 0}>
          Add endpoint
        </Button>
      </div>
      {error ? (
        <p role="alert" data-testid="webhook-error" className="text-sm text-red-700">
          {errorMessage(error)}
        </p>
      ) : null}
    </form>
  );
}

function SecretOnce({ shown, onDismiss }: { shown: ShownSecret; onDismiss: () => void }) {
  const codeRef = useRef<HTMLElement>(null);
  const [copied, setCopied] = useState<'yes' | 'select' | null>(null);
  const { secret, url } = shown.endpoint;

  // The clipboard API needs a secure context; over plain HTTP the secret is selected for Ctrl-C instead.
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('yes');
    } catch {
      const range = document.createRange();
      if (codeRef.current) range.selectNodeContents(codeRef.current);
      window.getSelection()?.removeAllRanges();
      window.getSelection()?.addRange(range);
      setCopied('select');
    }
  };

  return (
    <Alert
      tone="warning"
      role="status"
      title={shown.why === 'created' ? 'Endpoint added: copy its signing secret now' : 'Secret rotated: copy the new one now'}
    >
      <p>
        You won&apos;t see it again. It signs every delivery to <span className="font-mono break-all">{url}</span>
        {shown.why === 'rotated' ? '; the previous secret keeps signing beside it for 24 hours.' : '.'}
      </p>
      <code ref={codeRef} data-testid="webhook-secret" className="mt-1.5 block font-mono text-sm break-all select-all">
        {secret}
      </code>
      <div className="mt-2 flex flex-wrap items-center gap-2">
        <Button variant="secondary" data-testid="webhook-secret-copy" onClick={() => void copy()}>
          Copy secret
        </Button>
        <Button variant="ghost" onClick={onDismiss}>
          I have saved it
        </Button>
        <span aria-live="polite" className="text-xs">
          {copied === 'yes' ? 'Copied.' : copied === 'select' ? 'Selected: press Ctrl-C (⌘-C) to copy.' : ''}
        </span>
      </div>
    </Alert>
  );
}

function StatusBadge({ status }: { status: WebhookEndpoint['status'] }) {
  return (
    <span
      className={cn(
        'inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset',
        status === 'enabled' ? 'bg-emerald-50 text-emerald-800 ring-emerald-200' : 'bg-rose-50 text-rose-800 ring-rose-200',
      )}
    >
      {status === 'enabled' ? 'Enabled' : 'Disabled'}
    </span>
  );
}

function EndpointRow({
  endpoint,
  busy,
  onToggle,
  onRotate,
  onDelete,
}: {
  endpoint: WebhookEndpoint;
  busy: boolean;
  onToggle: () => void;
  onRotate: () => void;
  onDelete: () => void;
}) {
  const deliveriesId = useId();
  const [confirming, setConfirming] = useState(false);
  const [open, setOpen] = useState(false);
  const enabled = endpoint.status === 'enabled';
  const every = endpoint.enabled_events.length === EVENT_TYPES.length;

  return (
    <li
      data-testid="webhook-row"
      data-status={endpoint.status}
      data-endpoint-id={String(endpoint.id)}
      className="min-w-0 rounded-xl border border-line p-3 sm:p-4"
    >
      <div className="flex flex-wrap items-start justify-between gap-2">
        <div className="min-w-0 flex-1">
          <p className="flex flex-wrap items-center gap-2">
            <span className="min-w-0 font-mono text-sm break-all text-ink">{endpoint.url}</span>
            <StatusBadge status={endpoint.status} />
          </p>
          <p className="mt-1 text-xs text-ink-muted">
            Added {formatDateTime(endpoint.created_at)} ·{' '}
            {every ? 'every event' : endpoint.enabled_events.map((type) => <code key={type} className="mr-1 font-mono">{type}</code>)}
          </p>
          {!enabled && endpoint.disabled_reason ? (
            <p className="mt-1 text-xs text-rose-800">{endpoint.disabled_reason}</p>
          ) : null}
        </div>
        <div className="flex flex-wrap gap-2">
          <Button
            variant="secondary"
            data-testid="webhook-toggle"
            aria-label={`${enabled ? 'Disable' : 'Enable'} the endpoint ${endpoint.url}`}
            disabled={busy}
            onClick={onToggle}
          >
            {enabled ? 'Disable' : 'Enable'}
          </Button>
          <Button
            variant="secondary"
            data-testid="webhook-rotate"
            aria-label={`Rotate the signing secret of ${endpoint.url}`}
            disabled={busy}
            onClick={onRotate}
          >
            Rotate secret
          </Button>
          <Button
            variant="secondary"
            data-testid="webhook-delete"
            aria-label={`Delete the endpoint ${endpoint.url}`}
            aria-expanded={confirming}
            disabled={busy}
            onClick={() => setConfirming(true)}
          >
            Delete
          </Button>
        </div>
      </div>
      {confirming ? (
        <div role="group" aria-label="Confirm deletion" className="mt-3 flex flex-wrap items-center gap-2 rounded-lg bg-rose-50 p-2.5 text-sm text-rose-900">
          <span className="min-w-0 flex-1">Delete this endpoint? Its pending deliveries stop; this cannot be undone.</span>
          <Button data-testid="webhook-delete-confirm" className="bg-rose-700 hover:bg-rose-800" disabled={busy} onClick={onDelete}>
            Delete endpoint
          </Button>
          <Button variant="ghost" onClick={() => setConfirming(false)}>
            Keep it
          </Button>
        </div>
      ) : null}
      <div className="mt-3">
        <Button
          variant="ghost"
          data-testid="webhook-deliveries-toggle"
          aria-expanded={open}
          aria-controls={deliveriesId}
          className="px-2"
          onClick={() => setOpen((value) => !value)}
        >
          {open ? 'Hide recent deliveries' : 'Show recent deliveries'}
        </Button>
        <div id={deliveriesId}>{open ? <Deliveries endpoint={endpoint} /> : null}</div>
      </div>
    </li>
  );
}

function Deliveries({ endpoint }: { endpoint: WebhookEndpoint }) {
  const { deliveries, redeliver } = useWebhookDeliveries(endpoint.id);
  const [queued, setQueued] = useState<string | null>(null);
  const rows = deliveries.data?.results ?? [];

  const send = (eventId: string) => redeliver.mutate(eventId, { onSuccess: () => setQueued(eventId) });

  return (
    <div className="mt-2 grid gap-2">
      {deliveries.isError ? (
        <Alert tone="error" title="Could not load the deliveries">
          {errorMessage(deliveries.error)}
        </Alert>
      ) : null}
      {redeliver.error ? (
        <p role="alert" className="text-sm text-red-700">
          {errorMessage(redeliver.error)}
        </p>
      ) : null}
      <p aria-live="polite" className="text-xs text-ink-muted">
        {queued ? `Event ${queued} queued to send again.` : ''}
      </p>
      {deliveries.data && rows.length === 0 ? <p className="text-sm text-ink-muted">No deliveries yet.</p> : null}
      {rows.length > 0 ? (
        <ul className="divide-y divide-line rounded-lg border border-line" aria-label={`Recent deliveries to ${endpoint.url}`}>
          {rows.map((attempt) => {
            const ok = attempt.status_code !== null && attempt.status_code >= 200 && attempt.status_code < 300;
            return (
              <li
                key={`${attempt.event_id}-${attempt.attempt}-${attempt.created_at}`}
                data-testid="webhook-delivery-row"
                data-event-id={attempt.event_id}
                data-ok={ok ? 'true' : 'false'}
                className="flex flex-wrap items-center justify-between gap-2 px-3 py-2"
              >
                <div className="min-w-0 text-sm">
                  <p className="flex flex-wrap items-center gap-x-2">
                    <code className="font-mono text-xs break-all text-ink">{attempt.event_id}</code>
                    <span className={cn('text-xs font-medium', ok ? 'text-emerald-700' : 'text-rose-700')}>
                      {attempt.status_code === null ? 'no answer' : `HTTP ${attempt.status_code}`}
                    </span>
                  </p>
                  <p className="text-xs text-ink-muted">
                    Attempt {attempt.attempt} · {attempt.duration_ms} ms · {formatDateTime(attempt.created_at)}
                    {attempt.error ? <span className="break-words text-rose-800"> · {attempt.error}</span> : null}
                  </p>
                </div>
                <Button
                  variant="secondary"
                  data-testid="webhook-redeliver"
                  aria-label={`Redeliver the event ${attempt.event_id}`}
                  disabled={redeliver.isPending}
                  onClick={() => send(attempt.event_id)}
                >
                  Redeliver
                </Button>
              </li>
            );
          })}
        </ul>
      ) : null}
    </div>
  );
}
