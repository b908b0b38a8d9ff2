import { cn } from '@/lib/cn';
import { formatPaise, type Paise } from '@/lib/money';

/** An amount of paise shown as rupees; signed amounts are coloured as credit or debit. */
export function Money({
  paise,
  signed = false,
  className,
  ...rest
}: {
  paise: Paise;
  signed?: boolean;
  className?: string;
  'data-testid'?: string;
}) {
  const tone = !signed ? undefined : BigInt(paise) > 0n ? 'text-credit' : BigInt(paise) < 0n ? 'text-debit' : undefined;
  return (
    <span className={cn('tabular-nums', tone, className)} {...rest}>
      {formatPaise(paise, { sign: signed ? 'always' : 'auto' })}
    </span>
  );
}
