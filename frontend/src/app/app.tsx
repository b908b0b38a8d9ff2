import { Alert } from '@/components/ui/alert';
import { Skeleton } from '@/components/ui/skeleton';
import { API_DISPLAY_URL } from '@/config/env';
import { useAuthSession, useSignIn } from '@/features/auth/api/auth';
import { LoginPage } from '@/features/auth/components/login-page';
import { useDemoMerchants } from '@/features/merchants/api/get-demo-merchants';
import { MerchantSwitcher } from '@/features/merchants/components/merchant-switcher';
import { WebhookDisabledBanner } from '@/features/webhooks/components/webhook-disabled-banner';
import { storeMerchantId } from '@/features/merchants/lib/merchant-choice';
import { NetworkError, errorMessage } from '@/lib/api-client';
import { SessionContext } from '@/lib/session';
import type { AuthSession } from '@/types/api';

import { useHashRoute } from '@/lib/hash-route';

import { ConnectionBanner } from './connection-banner';
import { SectionNav } from './section-nav';
import { SECTIONS, sectionFor, sectionsFor } from './sections';

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

function ApiUnavailable({ error }: { error: unknown }) {
  if (error instanceof NetworkError) {
    return (
      <Alert tone="warning" title="Waiting for the payout API">
        Nothing answers at {API_DISPLAY_URL}. Start the API (<code className="font-mono">make run</code>); this page connects by
        itself once it is up.
      </Alert>
    );
  }
  return <Alert tone="error" title="Could not reach your account">{errorMessage(error)}</Alert>;
}

/** Signed in: who, the demo merchant switcher (demo mode) and sign-out. */
function AccountBar({ session }: { session: AuthSession }) {
  const demo = useDemoMerchants();
  const { demoLogin, logout } = useSignIn();
  const demoMerchants = demo.data ?? [];
  const isDemo = demoMerchants.some((merchant) => String(merchant.id) === String(session.merchant.id));
  const choose = (id: string) => {
    const merchant = demoMerchants.find((candidate) => String(candidate.id) === id);
    if (!merchant) return;
    storeMerchantId(id);
    demoLogin.mutate(merchant.id);
  };
  return (
    <div className="flex min-w-0 flex-wrap items-center gap-3">
      {isDemo ? (
        <MerchantSwitcher merchants={demoMerchants} value={String(session.merchant.id)} onChange={choose} />
      ) : null}
      <span className="text-sm text-brand-100" data-testid="signed-in-as">
        {session.user.email} · {session.role}
      </span>
      <button
        type="button"
        data-testid="sign-out"
        onClick={() => logout.mutate()}
        className="min-h-10 rounded-lg border border-white/20 px-3 text-sm font-medium text-white hover:bg-white/10 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-white"
      >
        Sign out
      </button>
    </div>
  );
}

export function App() {
  const sessionQuery = useAuthSession();
  const route = useHashRoute();
  const session = sessionQuery.data ?? null;
  const sections = session ? sectionsFor(session.role) : SECTIONS;
  const { section, rest } = sectionFor(route, sections);

  let body;
  if (sessionQuery.isPending) {
    body = (
      <div className="space-y-6" aria-label="Loading">
        <div className="grid gap-3 sm:grid-cols-2">
          <Skeleton className="h-28" />
          <Skeleton className="h-28" />
        </div>
        <Skeleton className="h-72" />
      </div>
    );
  } else if (sessionQuery.isError && !session) {
    body = <ApiUnavailable error={sessionQuery.error} />;
  } else if (!session) {
    body = <LoginPage />;
  } else {
    body = (
      <SessionContext.Provider
        value={{ merchantId: session.merchant.id, merchantName: session.merchant.name, apiKey: '', role: session.role }}
      >
        <SectionNav sections={sections} current={section.id} />
        {/* Keyed by merchant so form state and its idempotency key never carry across merchants. */}
        <div key={String(session.merchant.id)}>{section.render(rest)}</div>
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
          {session ? <AccountBar session={session} /> : null}
        </div>
      </header>
      <ConnectionBanner />
      {session ? <WebhookDisabledBanner disabled={session.webhook_endpoints_disabled} role={session.role} /> : null}
      <main id="main" className="mx-auto max-w-6xl px-4 py-6 sm:px-6 sm:py-8">
        {session ? (
          <h1 className="mb-4 text-xl font-semibold tracking-tight text-ink sm:text-2xl">{session.merchant.name}</h1>
        ) : (
          <h1 className="sr-only">Payouts</h1>
        )}
        {body}
      </main>
    </div>
  );
}
