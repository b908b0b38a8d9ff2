import { useEffect, useId, useRef, useState, type FormEvent } from 'react';

import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Card } from '@/components/ui/card';
import { controlClass, labelClass } from '@/components/ui/form';
import { Skeleton } from '@/components/ui/skeleton';
import { Spinner } from '@/components/ui/spinner';
import { NetworkError, errorMessage } from '@/lib/api-client';
import { formatPaise, parseRupeesToPaise } from '@/lib/money';
import { shortId } from '@/lib/format';
import type { BankAccount, Payout } from '@/types/api';

import { useCreatePayout } from '../api/create-payout';
import { useBankAccounts } from '../api/get-bank-accounts';
import { checkNarration, checkReference } from '../lib/attachments';
import { bankAccountLabel } from '../lib/bank-account-label';
import { isOutcomeUnknown } from '../lib/idempotent-submit';

function submitErrorText(error: unknown): string {
  if (isOutcomeUnknown(error)) {
    const reason = error instanceof NetworkError ? error.message : errorMessage(error);
    return `${reason} We could not confirm the payout. Press "Confirm payout" again: it reuses the same idempotency key, so it cannot be paid twice.`;
  }
  return errorMessage(error);
}

/** What the person is about to send, fixed when they asked to review it. */
interface Review {
  paise: bigint;
  account: BankAccount;
  referenceId?: string;
  narration?: string;
}

function ConfirmStep({
  review,
  sending,
  onConfirm,
  onBack,
}: {
  review: Review;
  sending: boolean;
  onConfirm: () => void;
  onBack: () => void;
}) {
  const headingId = useId();
  const heading = useRef<HTMLHeadingElement>(null);
  // Focus the summary, not the confirm button: a second Enter pressed out of
  // habit must not send the money.
  useEffect(() => heading.current?.focus(), []);

  return (
    <div role="group" aria-labelledby={headingId} className="space-y-4">
      <h3 id={headingId} ref={heading} tabIndex={-1} className="text-sm font-semibold text-ink focus:outline-none">
        Check the payout before sending it
      </h3>
      <dl className="divide-y divide-line rounded-xl border border-line bg-slate-50/70">
        <div className="px-4 py-3">
          <dt className="text-xs font-medium tracking-wide text-ink-muted uppercase">Amount</dt>
          <dd data-testid="payout-confirm-amount" className="mt-0.5 text-2xl font-semibold tracking-tight break-all text-ink tabular-nums">
            {formatPaise(review.paise)}
          </dd>
        </div>
        <div className="px-4 py-3">
          <dt className="text-xs font-medium tracking-wide text-ink-muted uppercase">To bank account</dt>
          <dd data-testid="payout-confirm-account" className="mt-0.5 text-sm text-ink">
            <span className="block font-medium break-words">{review.account.holder_name}</span>
            <span className="block text-ink-muted">
              Account ending <span className="font-mono text-ink">{review.account.account_last4}</span> · IFSC{' '}
              <span className="font-mono text-ink">{review.account.ifsc}</span>
            </span>
          </dd>
        </div>
        {review.referenceId ? (
          <div className="px-4 py-3">
            <dt className="text-xs font-medium tracking-wide text-ink-muted uppercase">Reference</dt>
            <dd data-testid="payout-confirm-reference" className="mt-0.5 font-mono text-sm break-all text-ink">
              {review.referenceId}
            </dd>
          </div>
        ) : null}
        {review.narration ? (
          <div className="px-4 py-3">
            <dt className="text-xs font-medium tracking-wide text-ink-muted uppercase">Narration</dt>
            <dd data-testid="payout-confirm-narration" className="mt-0.5 text-sm break-words text-ink">
              {review.narration}
            </dd>
          </div>
        ) : null}
      </dl>
      <p className="text-xs text-ink-muted">The amount leaves your available balance as soon as you confirm.</p>
      <div className="flex flex-col-reverse gap-2 sm:flex-row">
        <Button variant="secondary" onClick={onBack} disabled={sending} className="sm:flex-1">
          Back
        </Button>
        <Button
          data-testid="payout-confirm"
          onClick={onConfirm}
          disabled={sending}
          aria-busy={sending || undefined}
          className="sm:flex-[2]"
        >
          {sending ? (
            <>
              <Spinner /> Sending…
            </>
          ) : (
            'Confirm payout'
          )}
        </Button>
      </div>
    </div>
  );
}

export function PayoutForm() {
  const ids = useId();
  const amountId = `${ids}-amount`;
  const amountHintId = `${ids}-amount-hint`;
  const amountErrorId = `${ids}-amount-error`;
  const accountId = `${ids}-account`;
  const referenceId = `${ids}-reference`;
  const referenceHintId = `${ids}-reference-hint`;
  const narrationId = `${ids}-narration`;
  const narrationHintId = `${ids}-narration-hint`;

  const bankAccounts = useBankAccounts();
  const create = useCreatePayout();

  const [amount, setAmount] = useState('');
  const [reference, setReference] = useState('');
  const [narration, setNarration] = useState('');
  const [chosenAccount, setChosenAccount] = useState<string | null>(null);
  const [showValidation, setShowValidation] = useState(false);
  const [created, setCreated] = useState<Payout | null>(null);
  // Set while the person checks amount and account; nothing is sent before they confirm.
  const [review, setReview] = useState<Review | null>(null);
  const [backFromReview, setBackFromReview] = useState(false);

  // Payouts go to verified accounts only: the others are not offered.
  const accounts = (bankAccounts.data ?? []).filter((candidate) => candidate.status === 'verified');
  const account = accounts.find((candidate) => String(candidate.id) === chosenAccount) ?? accounts[0];
  const parsed = parseRupeesToPaise(amount);
  const validationMessage = showValidation && !parsed.ok ? parsed.message : null;
  const referenceCheck = checkReference(reference);
  const narrationCheck = checkNarration(narration);
  const referenceMessage = showValidation && !referenceCheck.ok ? referenceCheck.message : null;
  const narrationMessage = showValidation && !narrationCheck.ok ? narrationCheck.message : null;

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
    if (!parsed.ok || !account || !referenceCheck.ok || !narrationCheck.ok) return;
    // The previous answer belongs to the previous try; the key is kept (see idempotent-submit).
    create.reset();
    setReview({ paise: parsed.paise, account, referenceId: referenceCheck.value, narration: narrationCheck.value });
  }

  function onConfirm() {
    if (!review || create.isPending) return;
    create.mutate(
      {
        amountPaise: review.paise,
        bankAccountId: review.account.id,
        referenceId: review.referenceId,
        narration: review.narration,
      },
      {
        onSuccess: (payout) => {
          setReview(null);
          setBackFromReview(false);
          setAmount('');
          setReference('');
          setNarration('');
          setShowValidation(false);
          setCreated(payout);
        },
        onError: (error) => {
          // Unknown outcome: stay here, so confirming again retries with the same key.
          // A definite refusal (insufficient funds, say): back to the form to change it.
          if (!isOutcomeUnknown(error)) setReview(null);
        },
      },
    );
  }

  function onBack() {
    setReview(null);
    setBackFromReview(true);
    if (!create.isPending) create.reset();
  }

  const describedBy = [amountHintId, validationMessage ? amountErrorId : null].filter(Boolean).join(' ');

  return (
    <Card titleId="payout-form-title" title="New payout" description="Send money from your available balance to a bank account.">
      <form noValidate onSubmit={onSubmit} className="space-y-4 px-4 py-4 sm:px-5">
        {review ? (
          <ConfirmStep review={review} sending={create.isPending} onConfirm={onConfirm} onBack={onBack} />
        ) : (
          <>
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
                  // Back from the review: the person most likely wants to change the amount.
                  autoFocus={backFromReview}
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
                  {accounts.length === 0 ? <option value="">No verified bank account</option> : null}
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

            <div className="grid gap-4 sm:grid-cols-2">
              <div>
                <label htmlFor={referenceId} className={labelClass}>
                  Reference <span className="font-normal text-ink-muted">(optional)</span>
                </label>
                <input
                  id={referenceId}
                  data-testid="payout-reference"
                  type="text"
                  autoComplete="off"
                  spellCheck={false}
                  maxLength={40}
                  value={reference}
                  onChange={(event) => {
                    setReference(event.target.value);
                    edited();
                  }}
                  aria-invalid={referenceMessage ? true : undefined}
                  aria-describedby={referenceHintId}
                  className={`${controlClass} mt-1.5 font-mono`}
                />
                <p id={referenceHintId} className={`mt-1 text-xs ${referenceMessage ? 'font-medium text-debit' : 'text-ink-muted'}`}>
                  {referenceMessage ?? 'Your own id, e.g. INV-0042. Unique per payout.'}
                </p>
              </div>
              <div>
                <label htmlFor={narrationId} className={labelClass}>
                  Narration <span className="font-normal text-ink-muted">(optional)</span>
                </label>
                <input
                  id={narrationId}
                  data-testid="payout-narration"
                  type="text"
                  autoComplete="off"
                  maxLength={30}
                  value={narration}
                  onChange={(event) => {
                    setNarration(event.target.value);
                    edited();
                  }}
                  aria-invalid={narrationMessage ? true : undefined}
                  aria-describedby={narrationHintId}
                  className={`${controlClass} mt-1.5`}
                />
                <p id={narrationHintId} className={`mt-1 text-xs ${narrationMessage ? 'font-medium text-debit' : 'text-ink-muted'}`}>
                  {narrationMessage ?? "On the beneficiary's statement; up to 30 characters."}
                </p>
              </div>
            </div>

            <Button type="submit" data-testid="payout-submit" disabled={!account} className="w-full">
              Review payout
            </Button>
          </>
        )}

        {create.isError ? (
          <Alert tone="error" role="alert" data-testid="payout-error">
            {submitErrorText(create.error)}
          </Alert>
        ) : null}
        {created ? (
          <Alert tone="success" role="status">
            Payout <span className="font-mono">{shortId(created.id)}</span> of {formatPaise(created.amount_paise)} requested.
            It will update in the list as the bank answers.
          </Alert>
        ) : null}
      </form>
    </Card>
  );
}
