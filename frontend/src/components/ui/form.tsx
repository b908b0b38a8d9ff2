/** Shared look of form controls, so every input and select shows the same focus ring. */
export const controlClass =
  'block w-full min-h-11 rounded-lg border border-slate-300 bg-white px-3 text-base text-ink shadow-sm transition-colors ' +
  'placeholder:text-slate-400 hover:border-slate-400 focus-visible:border-brand-600 focus-visible:outline-2 ' +
  'focus-visible:outline-offset-0 focus-visible:outline-brand-600/40 disabled:bg-slate-100 disabled:text-ink-muted ' +
  'aria-[invalid=true]:border-rose-500';

export const labelClass = 'block text-sm font-medium text-ink';
