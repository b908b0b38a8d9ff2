import { cn } from '@/lib/cn';
import type { BankAccountStatus } from '@/types/api';

const styles: Record<BankAccountStatus, { label: string; className: string; dot: string }> = {
  pending_verification: {
    label: 'Verifying',
    className: 'bg-amber-50 text-amber-900 ring-amber-200',
    dot: 'bg-amber-500 animate-pulse',
  },
  verified: { label: 'Verified', className: 'bg-emerald-50 text-emerald-800 ring-emerald-200', dot: 'bg-emerald-500' },
  rejected: { label: 'Rejected', className: 'bg-rose-50 text-rose-800 ring-rose-200', dot: 'bg-rose-500' },
  deactivated: { label: 'Deactivated', className: 'bg-slate-100 text-slate-700 ring-slate-200', dot: 'bg-slate-400' },
};

export function BankAccountStatusBadge({ status }: { status: BankAccountStatus }) {
  const style = Object.hasOwn(styles, status)
    ? styles[status]
    : { label: status, className: 'bg-slate-100 text-slate-700 ring-slate-200', dot: 'bg-slate-400' };
  return (
    <span
      data-testid="bank-account-status"
      className={cn(
        'inline-flex items-center gap-1.5 rounded-full px-2 py-0.5 text-xs font-medium whitespace-nowrap ring-1 ring-inset',
        style.className,
      )}
    >
      <span aria-hidden="true" className={cn('size-1.5 rounded-full', style.dot)} />
      {style.label}
    </span>
  );
}
