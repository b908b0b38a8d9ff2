import { API_DISPLAY_URL } from '@/config/env';
import { useApiUnreachable } from '@/lib/connection';

export function ConnectionBanner() {
  const unreachable = useApiUnreachable();
  if (!unreachable) return null;
  return (
    <div role="alert" data-testid="connection-banner" className="border-b border-amber-300 bg-amber-50 text-amber-950">
      <p className="mx-auto flex max-w-6xl items-start gap-2 px-4 py-2.5 text-sm sm:px-6">
        <svg aria-hidden="true" viewBox="0 0 20 20" fill="currentColor" className="mt-0.5 size-4 shrink-0 text-amber-600">
          <path
            fillRule="evenodd"
            d="M8.49 2.8c.66-1.14 2.36-1.14 3.02 0l6.28 10.88c.66 1.14-.16 2.57-1.5 2.57H3.71c-1.34 0-2.16-1.43-1.5-2.57L8.49 2.8ZM10 7a.75.75 0 0 1 .75.75v3.5a.75.75 0 0 1-1.5 0v-3.5A.75.75 0 0 1 10 7Zm0 7.5a1 1 0 1 0 0-2 1 1 0 0 0 0 2Z"
            clipRule="evenodd"
          />
        </svg>
        <span className="min-w-0 break-words">
          <strong className="font-semibold">Cannot reach the payout API</strong> at {API_DISPLAY_URL}. Anything shown may be out of
          date. Retrying; the page updates by itself when the API is back.
        </span>
      </p>
    </div>
  );
}
