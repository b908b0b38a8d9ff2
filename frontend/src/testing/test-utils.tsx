import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import { vi } from 'vitest';

import { SessionContext, type Session } from '@/lib/session';

export const testSession: Session = { merchantId: 1, merchantName: 'Asha Traders', apiKey: 'sk_test_asha', role: 'owner' };

export function createTestQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: { queries: { retry: false, refetchInterval: false, gcTime: Infinity }, mutations: { retry: false } },
  });
}

export function renderWithProviders(ui: ReactElement, { session = testSession }: { session?: Session | null } = {}) {
  const queryClient = createTestQueryClient();
  const wrapped = session ? <SessionContext.Provider value={session}>{ui}</SessionContext.Provider> : ui;
  return { queryClient, ...render(<QueryClientProvider client={queryClient}>{wrapped}</QueryClientProvider>) };
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
}

type Handler = (request: RecordedRequest) => Response | Promise<Response>;

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

/**
 * Replaces fetch with a router over "METHOD /path" (path without /api/v1 and
 * without the query string). Unrouted requests fail the test loudly.
 */
export function stubApi(routes: Record<string, Handler>) {
  const requests: RecordedRequest[] = [];
  const fetchFn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input));
    const request: RecordedRequest = {
      method: init?.method ?? 'GET',
      path: url.pathname.replace(/^\/api\/v1/, '') + url.search,
      headers: { ...(init?.headers as Record<string, string>) },
      body: init?.body === undefined ? undefined : String(init.body),
    };
    requests.push(request);
    const handler = routes[`${request.method} ${url.pathname.replace(/^\/api\/v1/, '')}`];
    if (!handler) return json(500, { error: { code: 'unrouted', message: `No stub for ${request.method} ${url.pathname}`, field: null } });
    return handler(request);
  });
  vi.stubGlobal('fetch', fetchFn);
  return { requests, fetch: fetchFn };
}
