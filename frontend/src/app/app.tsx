import { Alert } from '@/components/ui/alert';
import { Skeleton } from '@/components/ui/skeleton';
import { API_DISPLAY_URL } from '@/config/env';
import { MerchantSwitcher } from '@/features/merchants/components/merchant-switcher';
import { useCurrentMerchant } from '@/features/merchants/hooks/use-current-merchant';
import { ApiError, NetworkError, errorMessage } from '@/lib/api-client';
import { SessionContext } from '@/lib/session';

import { useHashRoute } from '@/lib/hash-route';

import { ConnectionBanner } from './connection-banner';
import { SectionNav } from './section-nav';
import { SECTIONS, sectionFor } from './sections';

function Logo() {
  return (
    <span aria-hidden="true" className="grid size-8 place-items-center rounded-lg bg-white/10 ring-1 ring-white/20">
      <svg viewBox="0 0 24 24" className="size-5 text-white" fill="none" stroke="currentColor" strokeWidth="2">
        <path d="M4 7h16M4 12h10M4 17h6" strokeLinecap="round" />
        <path d="m16 14 3 3-3 3" strokeLinecap="round" strokeLinejoin="round" />
      </svg>
    </span>
  );
}

function MerchantsUnavailable({ error }: { error: unknown }) {
  if (error instanceof NetworkError) {
    return (
      <Alert tone="warning" title="Waiting for the payout API">
        Nothing answers at {API_DISPLAY_URL}. Start the API (<code className="font-mono">make run</code>); this page connects by
        itself once it is up.
      </Alert>
    );
  }
  if (error instanceof ApiError && error.status === 404) {
    return (
      <Alert tone="warning" title="Demo merchants are not available">
        The API at {API_DISPLAY_URL} has demo mode switched off, so there are no merchants to choose from.
      </Alert>
    );
  }
  return <Alert tone="error" title="Could not load merchants">{errorMessage(error)}</Alert>;
}

export function App() {
  const { merchantsQuery, merchants, current, choose } = useCurrentMerchant();
  const { section, rest } = sectionFor(useHashRoute());

  let body;
  if (merchantsQuery.isPending) {
    body = (
      <div className="space-y-6" aria-label="Loading">
        <div className="grid gap-3 sm:grid-cols-2">
          <Skeleton className="h-28" />
          <Skeleton className="h-28" />
        </div>
        <Skeleton className="h-72" />
      </div>
    );
  } else if (merchantsQuery.isError && !current) {
    body = <MerchantsUnavailable error={merchantsQuery.error} />;
  } else if (!current) {
    body = (
      <Alert tone="info" title="No merchants yet">
        Seed the demo data (<code className="font-mono">manage.py seed</code>) and reload.
      </Alert>
    );
  } else {
    body = (
      <SessionContext.Provider
        value={{ merchantId: current.id, merchantName: current.name, apiKey: current.api_key }}
      >
        <SectionNav sections={SECTIONS} current={section.id} />
        {/* Keyed by merchant so form state and its idempotency key never carry across merchants. */}
        <div key={String(current.id)}>{section.render(rest)}</div>
      </SessionContext.Provider>
    );
  }

  return (
    <div className="min-h-dvh">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:fixed focus:top-2 focus:left-2 focus:z-50 focus:rounded-md focus:bg-white focus:px-3 focus:py-2 focus:text-sm focus:text-ink focus:shadow"
      >
        Skip to content
      </a>
      <header className="bg-brand-900 text-white">
        <div className="mx-auto flex max-w-6xl flex-col gap-3 px-4 py-4 sm:flex-row sm:items-center sm:justify-between sm:px-6">
          <div className="flex items-center gap-3">
            <Logo />
            <div>
              <p className="text-base leading-tight font-semibold">Payouts</p>
              <p className="text-xs text-brand-200">Merchant dashboard</p>
            </div>
          </div>
          {merchants.length > 0 && current ? (
            <MerchantSwitcher merchants={merchants} value={String(current.id)} onChange={choose} />
          ) : null}
        </div>
      </header>
      <ConnectionBanner />
      <main id="main" className="mx-auto max-w-6xl px-4 py-6 sm:px-6 sm:py-8">
        {current ? (
          <h1 className="mb-4 text-xl font-semibold tracking-tight text-ink sm:text-2xl">{current.name}</h1>
        ) : (
          <h1 className="sr-only">Payouts</h1>
        )}
        {body}
      </main>
    </div>
  );
}
