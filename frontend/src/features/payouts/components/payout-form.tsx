import { useId, useState, type FormEvent } from 'react';

import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Card } from '@/components/ui/card';
import { controlClass, labelClass } from '@/components/ui/form';
import { Skeleton } from '@/components/ui/skeleton';
import { Spinner } from '@/components/ui/spinner';
import { NetworkError, errorMessage } from '@/lib/api-client';
import { formatPaise, parseRupeesToPaise } from '@/lib/money';
import { shortId } from '@/lib/format';
import type { Payout } from '@/types/api';

import { useCreatePayout } from '../api/create-payout';
import { useBankAccounts } from '../api/get-bank-accounts';
import { bankAccountLabel } from '../lib/bank-account-label';
import { isOutcomeUnknown } from '../lib/idempotent-submit';

function submitErrorText(error: unknown): string {
  if (isOutcomeUnknown(error)) {
    const reason = error instanceof NetworkError ? error.message : errorMessage(error);
    return `${reason} We could not confirm the payout. Press "Request payout" again: it reuses the same idempotency key, so it cannot be paid twice.`;
  }
  return errorMessage(error);
}

export function PayoutForm() {
  const ids = useId();
  const amountId = `${ids}-amount`;
  const amountHintId = `${ids}-amount-hint`;
  const amountErrorId = `${ids}-amount-error`;
  const accountId = `${ids}-account`;

  const bankAccounts = useBankAccounts();
  const create = useCreatePayout();

  const [amount, setAmount] = useState('');
  const [chosenAccount, setChosenAccount] = useState<string | null>(null);
  const [showValidation, setShowValidation] = useState(false);
  const [created, setCreated] = useState<Payout | null>(null);

  const accounts = bankAccounts.data ?? [];
  const account = accounts.find((candidate) => String(candidate.id) === chosenAccount) ?? accounts[0];
  const parsed = parseRupeesToPaise(amount);
  const validationMessage = showValidation && !parsed.ok ? parsed.message : null;

  function edited() {
    // A changed amount or account is a different intended payout: new key.
    create.forgetKey();
    if (!create.isPending) create.reset();
    setCreated(null);
  }

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (create.isPending) return;
    setShowValidation(true);
    setCreated(null);
    if (!parsed.ok || !account) return;
    const submittedText = amount;
    create.mutate(
      { amountPaise: parsed.paise, bankAccountId: account.id },
      {
        onSuccess: (payout) => {
          // Typed something new while this one was in flight? Keep it.
          setAmount((current) => (current === submittedText ? '' : current));
          setShowValidation(false);
          setCreated(payout);
        },
      },
    );
  }

  const describedBy = [amountHintId, validationMessage ? amountErrorId : null].filter(Boolean).join(' ');

  return (
    <Card titleId="payout-form-title" title="New payout" description="Send money from your available balance to a bank account.">
      <form noValidate onSubmit={onSubmit} className="space-y-4 px-4 py-4 sm:px-5">
        <div>
          <label htmlFor={amountId} className={labelClass}>
            Amount
          </label>
          <div className="relative mt-1.5">
            <span aria-hidden="true" className="pointer-events-none absolute inset-y-0 left-3 flex items-center text-ink-muted">
              ₹
            </span>
            <input
              id={amountId}
              data-testid="payout-amount"
              type="text"
              inputMode="decimal"
              autoComplete="off"
              spellCheck={false}
              placeholder="0.00"
              value={amount}
              onChange={(event) => {
                setAmount(event.target.value);
                edited();
              }}
              aria-invalid={validationMessage ? true : undefined}
              aria-describedby={describedBy}
              className={`${controlClass} pl-7 tabular-nums`}
            />
          </div>
          <p id={amountHintId} className="mt-1 text-xs text-ink-muted">
            In rupees, up to two decimals, e.g. 1,500.50
          </p>
          {validationMessage ? (
            <p id={amountErrorId} className="mt-1 text-sm font-medium text-debit">
              {validationMessage}
            </p>
          ) : null}
        </div>

        <div>
          <label htmlFor={accountId} className={labelClass}>
            To bank account
          </label>
          {bankAccounts.isPending ? (
            <Skeleton className="mt-1.5 h-11 w-full" />
          ) : (
            <select
              id={accountId}
              data-testid="payout-bank-account"
              value={account ? String(account.id) : ''}
              onChange={(event) => {
                setChosenAccount(event.target.value);
                edited();
              }}
              disabled={accounts.length === 0}
              className={`${controlClass} mt-1.5 pr-8`}
            >
              {accounts.length === 0 ? <option value="">No bank account on file</option> : null}
              {accounts.map((candidate) => (
                <option key={String(candidate.id)} value={String(candidate.id)}>
                  {bankAccountLabel(candidate)}
                </option>
              ))}
            </select>
          )}
          {bankAccounts.isError && accounts.length === 0 ? (
            <p className="mt-1 text-sm text-debit">Could not load bank accounts: {errorMessage(bankAccounts.error)}</p>
          ) : null}
        </div>

        <Button
          type="submit"
          data-testid="payout-submit"
          disabled={create.isPending || !account}
          aria-busy={create.isPending || undefined}
          className="w-full"
        >
          {create.isPending ? (
            <>
              <Spinner /> Sending…
            </>
          ) : (
            'Request payout'
          )}
        </Button>

        {create.isError ? (
          <Alert tone="error" role="alert" data-testid="payout-error">
            {submitErrorText(create.error)}
          </Alert>
        ) : null}
        {created ? (
          <Alert tone="success" role="status">
            Payout <span className="font-mono">{shortId(created.id)}</span> of {formatPaise(created.amount_paise)} requested.
            It will update below as the bank answers.
          </Alert>
        ) : null}
      </form>
    </Card>
  );
}
