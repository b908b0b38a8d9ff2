import { useId, useState, type FormEvent } from 'react';

import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Card } from '@/components/ui/card';
import { errorMessage } from '@/lib/api-client';
import { formatDateTime } from '@/lib/format';
import type { ApiKey } from '@/types/api';

import { useApiKeys } from '../api/api-keys';

/** The merchant's API keys: make one (its secret shown once), see when each was used, revoke. */
export function ApiKeysPage() {
  const titleId = useId();
  const nameId = useId();
  const [name, setName] = useState('');
  const { keys, create, revoke } = useApiKeys();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(name.trim(), { onSuccess: () => setName('') });
  };

  return (
    <Card title="API keys" titleId={titleId} description="Keys let your servers call the payout API.">
      <div className="grid gap-4 p-4 sm:p-5">
        <form onSubmit={submit} className="flex flex-wrap items-end gap-3" aria-label="Create an API key">
          <div className="grid min-w-0 flex-1 gap-1">
            <label htmlFor={nameId} className="text-sm font-medium text-ink">
              Key name
            </label>
            <input
              id={nameId}
              data-testid="api-key-name"
              required
              maxLength={100}
              value={name}
              placeholder="Billing server"
              onChange={(event) => setName(event.target.value)}
              className="min-h-10 rounded-lg border border-line px-3 text-sm"
            />
          </div>
          <Button type="submit" data-testid="api-key-create" disabled={create.isPending || name.trim() === ''}>
            Create key
          </Button>
        </form>
        {create.error ? (
          <p role="alert" data-testid="api-key-error" className="text-sm text-red-700">
            {errorMessage(create.error)}
          </p>
        ) : null}
        {create.data ? (
          <Alert tone="warning" title={`Key "${create.data.name}" created: copy its secret now`}>
            <p>It is shown only this once.</p>
            <code data-testid="api-key-secret" className="mt-1 block font-mono text-sm break-all select-all">
              {create.data.secret}
            </code>
          </Alert>
        ) : null}
        {keys.isError ? <Alert tone="error" title="Could not load the keys">{errorMessage(keys.error)}</Alert> : null}
        <ul className="divide-y divide-line" aria-label="API keys">
          {(keys.data ?? []).map((key) => (
            <KeyRow key={String(key.id)} apiKey={key} onRevoke={() => revoke.mutate(key.id)} busy={revoke.isPending} />
          ))}
        </ul>
      </div>
    </Card>
  );
}

function KeyRow({ apiKey, onRevoke, busy }: { apiKey: ApiKey; onRevoke: () => void; busy: boolean }) {
  const revoked = apiKey.revoked_at !== null;
  return (
    <li
      data-testid="api-key-row"
      data-key-id={String(apiKey.id)}
      data-revoked={revoked ? 'true' : 'false'}
      className="flex flex-wrap items-center justify-between gap-2 py-3"
    >
      <div className="min-w-0">
        <p className="font-medium text-ink">
          {apiKey.name || 'Unnamed key'} <code className="font-mono text-xs text-ink-muted">{apiKey.prefix}…</code>
        </p>
        <p className="text-xs text-ink-muted">
          Created {formatDateTime(apiKey.created_at)} ·{' '}
          {apiKey.last_used_at ? `last used ${formatDateTime(apiKey.last_used_at)}` : 'never used'}
          {revoked && apiKey.revoked_at ? ` · revoked ${formatDateTime(apiKey.revoked_at)}` : ''}
        </p>
      </div>
      {revoked ? (
        <span className="text-sm text-ink-muted">Revoked</span>
      ) : (
        <Button
          variant="secondary"
          data-testid="api-key-revoke"
          aria-label={`Revoke the key ${apiKey.name || apiKey.prefix}`}
          disabled={busy}
          onClick={onRevoke}
        >
          Revoke
        </Button>
      )}
    </li>
  );
}
