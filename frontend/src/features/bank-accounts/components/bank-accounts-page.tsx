import { useId, useState, type FormEvent } from 'react';

import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Card } from '@/components/ui/card';
import { Skeleton } from '@/components/ui/skeleton';
import { ApiError, errorMessage } from '@/lib/api-client';
import { formatDateTime } from '@/lib/format';
import { useSession } from '@/lib/session';
import type { BankAccount } from '@/types/api';

import { anyPendingVerification, useBankAccountsPage } from '../api/bank-accounts';
import { BankAccountStatusBadge } from './bank-account-status';

type Field = 'holder_name' | 'ifsc' | 'account_number';

const controlClass =
  'min-h-10 w-full rounded-lg border border-line px-3 text-sm aria-[invalid=true]:border-rose-500 aria-[invalid=true]:ring-1 aria-[invalid=true]:ring-rose-500';

/**
 * Where payouts go. Every role sees the accounts and what the bank said of
 * each; only the owner adds (the bank then verifies it, the list refreshing
 * by itself meanwhile) and deactivates.
 */
export function BankAccountsPage() {
  const titleId = useId();
  const { role } = useSession();
  const isOwner = role === 'owner';
  const { accounts, add, deactivate } = useBankAccountsPage();
  const list = accounts.data ?? [];

  return (
    <div className="grid gap-4">
      {isOwner ? <AddBankAccountForm add={add} accounts={list} /> : null}
      <Card
        title="Bank accounts"
        titleId={titleId}
        description={
          anyPendingVerification(list)
            ? 'The bank is checking a new account; this list updates by itself.'
            : 'Payouts go only to accounts the bank has verified.'
        }
      >
        <div className="p-4 sm:p-5">
          {accounts.isPending ? <Skeleton className="h-16 w-full" /> : null}
          {accounts.isError ? (
            <Alert tone="error" title="Could not load the bank accounts">
              {errorMessage(accounts.error)}
            </Alert>
          ) : null}
          {deactivate.error ? (
            <p role="alert" className="mb-3 text-sm text-red-700">
              {errorMessage(deactivate.error)}
            </p>
          ) : null}
          {accounts.isSuccess && list.length === 0 ? (
            <p className="text-sm text-ink-muted">No bank account yet.</p>
          ) : null}
          <ul className="divide-y divide-line" aria-label="Bank accounts">
            {list.map((account) => (
              <BankAccountRow
                key={String(account.id)}
                account={account}
                canDeactivate={isOwner}
                busy={deactivate.isPending}
                onDeactivate={() => deactivate.mutate(account.id)}
              />
            ))}
          </ul>
        </div>
      </Card>
    </div>
  );
}

function AddBankAccountForm({
  add,
  accounts,
}: {
  add: ReturnType<typeof useBankAccountsPage>['add'];
  accounts: BankAccount[];
}) {
  const titleId = useId();
  const ids = useId();
  const [holderName, setHolderName] = useState('');
  const [ifsc, setIfsc] = useState('');
  const [accountNumber, setAccountNumber] = useState('');

  const error = add.error;
  const errorField = error instanceof ApiError ? (error.field as Field | null) : null;
  const errorId = `${ids}-error`;
  const invalid = (field: Field) => (errorField === field ? { 'aria-invalid': true, 'aria-describedby': errorId } : {});

  const submit = (event: FormEvent) => {
    event.preventDefault();
    add.mutate(
      { holder_name: holderName, ifsc: ifsc.trim().toUpperCase(), account_number: accountNumber.trim() },
      {
        onSuccess: () => {
          setHolderName('');
          setIfsc('');
          setAccountNumber('');
        },
      },
    );
  };

  const fieldError = (field: Field) =>
    error && errorField === field ? (
      <p id={errorId} role="alert" data-testid="bank-account-error" data-field={field} className="text-sm text-red-700">
        {errorMessage(error)}
      </p>
    ) : null;

  return (
    <Card
      title="Add a bank account"
      titleId={titleId}
      description="The bank checks it with a small test deposit; payouts can go to it once it is verified."
    >
      <form onSubmit={submit} className="grid gap-4 p-4 sm:grid-cols-3 sm:p-5" aria-label="Add a bank account" noValidate>
        <div className="grid content-start gap-1">
          <label htmlFor={`${ids}-holder`} className="text-sm font-medium text-ink">
            Account holder's name
          </label>
          <input
            id={`${ids}-holder`}
            data-testid="bank-account-holder-name"
            maxLength={200}
            autoComplete="name"
            value={holderName}
            onChange={(event) => setHolderName(event.target.value)}
            className={controlClass}
            {...invalid('holder_name')}
          />
          {fieldError('holder_name')}
        </div>
        <div className="grid content-start gap-1">
          <label htmlFor={`${ids}-ifsc`} className="text-sm font-medium text-ink">
            IFSC
          </label>
          <input
            id={`${ids}-ifsc`}
            data-testid="bank-account-ifsc"
            maxLength={11}
            autoCapitalize="characters"
            spellCheck={false}
            placeholder="HDFC0001234"
            value={ifsc}
            onChange={(event) => setIfsc(event.target.value)}
            className={`${controlClass} font-mono uppercase`}
            {...invalid('ifsc')}
          />
          {fieldError('ifsc')}
        </div>
        <div className="grid content-start gap-1">
          <label htmlFor={`${ids}-number`} className="text-sm font-medium text-ink">
            Account number
          </label>
          <input
            id={`${ids}-number`}
            data-testid="bank-account-number"
            inputMode="numeric"
            maxLength={18}
            autoComplete="off"
            spellCheck={false}
            value={accountNumber}
            onChange={(event) => setAccountNumber(event.target.value)}
            className={`${controlClass} font-mono`}
            {...invalid('account_number')}
          />
          {fieldError('account_number')}
        </div>
        <div className="flex flex-wrap items-center gap-3 sm:col-span-3">
          <Button type="submit" data-testid="bank-account-submit" disabled={add.isPending}>
            {add.isPending ? 'Adding…' : 'Add account'}
          </Button>
          {error && !errorField ? (
            <p role="alert" data-testid="bank-account-error" className="text-sm text-red-700">
              {errorMessage(error)}
            </p>
          ) : null}
          {add.isSuccess && !error ? (
            <p role="status" className="text-sm text-ink-muted">
              {addedMessage(accounts.find((account) => account.id === add.data.id) ?? add.data)}
            </p>
          ) : null}
        </div>
      </form>
    </Card>
  );
}

function BankAccountRow({
  account,
  canDeactivate,
  busy,
  onDeactivate,
}: {
  account: BankAccount;
  canDeactivate: boolean;
  busy: boolean;
  onDeactivate: () => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const deactivatable = account.status === 'verified' || account.status === 'pending_verification';
  return (
    <li
      data-testid="bank-account-row"
      data-status={account.status}
      data-account-id={String(account.id)}
      className="flex flex-wrap items-center justify-between gap-3 py-3"
    >
      <div className="min-w-0">
        <p className="flex flex-wrap items-center gap-2 font-medium text-ink">
          <span className="font-mono">••{account.account_last4}</span>
          <span className="text-ink-muted">·</span>
          <span className="font-mono text-sm">{account.ifsc}</span>
          <BankAccountStatusBadge status={account.status} />
        </p>
        <p className="mt-0.5 text-sm break-words text-ink">{account.holder_name}</p>
        <p className="text-xs break-words text-ink-muted">
          {account.status === 'verified' || (account.status === 'deactivated' && account.registered_name)
            ? `Name at the bank: ${account.registered_name ?? ''} · `
            : ''}
          {account.status === 'rejected' ? (
            <span data-testid="bank-account-rejection" className="text-rose-700">
              Rejected by the bank: {account.rejection_reason} ·{' '}
            </span>
          ) : null}
          {account.status === 'pending_verification' ? 'The bank is checking it · ' : ''}
          Added {formatDateTime(account.created_at)}
        </p>
      </div>
      {canDeactivate && deactivatable ? (
        confirming ? (
          <div className="flex flex-wrap items-center gap-2" role="group" aria-label="Confirm deactivation">
            <span className="text-sm text-ink">No new payouts will go to it.</span>
            <Button
              variant="secondary"
              data-testid="bank-account-deactivate-confirm"
              className="text-rose-700"
              disabled={busy}
              onClick={() => {
                setConfirming(false);
                onDeactivate();
              }}
            >
              Deactivate
            </Button>
            <Button variant="ghost" onClick={() => setConfirming(false)}>
              Keep
            </Button>
          </div>
        ) : (
          <Button
            variant="secondary"
            data-testid="bank-account-deactivate"
            aria-label={`Deactivate the account ending ${account.account_last4}`}
            disabled={busy}
            onClick={() => setConfirming(true)}
          >
            Deactivate…
          </Button>
        )
      ) : null}
    </li>
  );
}

/** What became of the account just added, as the list (refreshing while the bank checks it) says. */
function addedMessage(account: BankAccount): string {
  switch (account.status) {
    case 'verified':
      return `Added, and verified by the bank as ${account.registered_name ?? account.holder_name}.`;
    case 'rejected':
      return `Added, but the bank rejected it: ${account.rejection_reason ?? 'no reason given'}.`;
    case 'deactivated':
      return 'Added, then deactivated.';
    default:
      return 'Added: the bank is verifying it.';
  }
}
