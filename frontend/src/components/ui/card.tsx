import type { ReactNode } from 'react';

import { cn } from '@/lib/cn';

export function Card({
  title,
  description,
  actions,
  children,
  className,
  titleId,
}: {
  title: ReactNode;
  description?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
  titleId: string;
}) {
  return (
    <section
      aria-labelledby={titleId}
      className={cn('min-w-0 rounded-2xl border border-line bg-surface shadow-sm shadow-slate-900/5', className)}
    >
      <header className="flex flex-wrap items-start justify-between gap-x-4 gap-y-2 border-b border-line px-4 py-3 sm:px-5">
        <div className="min-w-0">
          <h2 id={titleId} className="text-base font-semibold text-ink">
            {title}
          </h2>
          {description ? <p className="mt-0.5 text-sm text-ink-muted">{description}</p> : null}
        </div>
        {actions ? <div className="flex shrink-0 items-center gap-2">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}
