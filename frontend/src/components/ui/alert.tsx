import type { ReactNode } from 'react';

import { cn } from '@/lib/cn';

type Tone = 'error' | 'warning' | 'success' | 'info';

const tones: Record<Tone, string> = {
  error: 'border-rose-200 bg-rose-50 text-rose-900',
  warning: 'border-amber-200 bg-amber-50 text-amber-950',
  success: 'border-emerald-200 bg-emerald-50 text-emerald-900',
  info: 'border-brand-100 bg-brand-50 text-brand-900',
};

export function Alert({
  tone,
  title,
  children,
  className,
  role,
  ...rest
}: {
  tone: Tone;
  title?: ReactNode;
  children?: ReactNode;
  className?: string;
  role?: 'alert' | 'status';
  'data-testid'?: string;
}) {
  return (
    <div role={role} className={cn('rounded-lg border px-3 py-2.5 text-sm', tones[tone], className)} {...rest}>
      {title ? <p className="font-semibold">{title}</p> : null}
      {children ? <div className={cn(title ? 'mt-0.5' : undefined, 'break-words')}>{children}</div> : null}
    </div>
  );
}
