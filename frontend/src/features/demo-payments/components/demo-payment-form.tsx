import { useId, useState, type FormEvent } from 'react';

import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Card } from '@/components/ui/card';
import { controlClass, labelClass } from '@/components/ui/form';
import { Spinner } from '@/components/ui/spinner';
import { errorMessage } from '@/lib/api-client';
import { formatPaise, parseRupeesToPaise } from '@/lib/money';
import type { PaymentCredit } from '@/types/api';

import { useCreateDemoPayment } from '../api/create-demo-payment';

/**
 * Demo mode only, for the owner: credit a made-up customer payment, so money
 * can come in after the first day. The amount is typed in rupees and sent as
 * exact paise; the balance and the ledger are read again once it is credited.
 */
export function DemoPaymentForm() {
  const ids = useId();
  const amountId = `${ids}-amount`;
  const hintId = `${ids}-hint`;
  const create = useCreateDemoPayment();
  const [amount, setAmount] = useState('');
  const [showValidation, setShowValidation] = useState(false);
  const [credited, setCredited] = useState<PaymentCredit | null>(null);

  const parsed = parseRupeesToPaise(amount);
  const validationMessage = showValidation && !parsed.ok ? parsed.message : null;

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (create.isPending) return;
    setShowValidation(true);
    setCredited(null);
    if (!parsed.ok) return;
    create.mutate(parsed.paise, {
      onSuccess: (payment) => {
        setCredited(payment);
        setAmount('');
        setShowValidation(false);
      },
    });
  }

  return (
    <Card
      titleId="demo-payment-title"
      title="Simulate a customer payment"
      description="Demo mode: credit a payment from a made-up customer to your available balance."
    >
      <form noValidate onSubmit={onSubmit} className="flex flex-col gap-3 px-4 py-4 sm:flex-row sm:items-end sm:px-5">
        <div className="min-w-0 flex-1">
          <label htmlFor={amountId} className={labelClass}>
            Amount
          </label>
          <div className="relative mt-1.5">
            <span aria-hidden="true" className="pointer-events-none absolute inset-y-0 left-3 flex items-center text-ink-muted">
              ₹
            </span>
            <input
              id={amountId}
              data-testid="demo-payment-amount"
              type="text"
              inputMode="decimal"
              autoComplete="off"
              spellCheck={false}
              placeholder="0.00"
              value={amount}
              onChange={(event) => {
                setAmount(event.target.value);
                if (!create.isPending) create.reset();
              }}
              aria-invalid={validationMessage ? true : undefined}
              aria-describedby={hintId}
              className={`${controlClass} pl-7 tabular-nums`}
            />
          </div>
          <p id={hintId} className={`mt-1 text-xs ${validationMessage ? 'font-medium text-debit' : 'text-ink-muted'}`}>
            {validationMessage ?? 'In rupees, up to two decimals, e.g. 2,500.75'}
          </p>
        </div>
        <Button
          type="submit"
          data-testid="demo-payment-submit"
          disabled={create.isPending}
          aria-busy={create.isPending || undefined}
          className="sm:mb-5"
        >
          {create.isPending ? (
            <>
              <Spinner /> Crediting…
            </>
          ) : (
            'Credit payment'
          )}
        </Button>
      </form>
      {credited ? (
        <Alert tone="success" role="status" data-testid="demo-payment-result" className="mx-4 mb-4 sm:mx-5">
          {formatPaise(credited.amount_paise)} credited, reference{' '}
          <span className="font-mono break-all">{credited.reference}</span>.
        </Alert>
      ) : null}
      {create.isError ? (
        <Alert tone="error" role="alert" data-testid="demo-payment-result" className="mx-4 mb-4 sm:mx-5">
          {errorMessage(create.error)}
        </Alert>
      ) : null}
    </Card>
  );
}
