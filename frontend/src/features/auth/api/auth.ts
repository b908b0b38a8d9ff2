import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { ApiError, apiRequest, setCsrfToken } from '@/lib/api-client';
import type { AuthSession, Id } from '@/types/api';

export const SESSION_QUERY_KEY = ['auth', 'session'] as const;

function remember(session: AuthSession): AuthSession {
  setCsrfToken(session.csrf_token);
  return session;
}

/** Who is signed in with the session cookie, or null when nobody is (401). */
export async function getSession({ signal }: { signal?: AbortSignal } = {}): Promise<AuthSession | null> {
  try {
    return remember(await apiRequest<AuthSession>('/auth/session', { signal }));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      setCsrfToken(null);
      return null;
    }
    throw error;
  }
}

export async function login(body: { email: string; password: string }): Promise<AuthSession> {
  return remember(await apiRequest<AuthSession>('/auth/login', { method: 'POST', body }));
}

export async function demoLogin(merchantId: Id): Promise<AuthSession> {
  return remember(await apiRequest<AuthSession>('/auth/demo-login', { method: 'POST', body: { merchant_id: merchantId } }));
}

export async function logout(): Promise<void> {
  await apiRequest<null>('/auth/logout', { method: 'POST' });
  setCsrfToken(null);
}

export function sessionQueryOptions() {
  return queryOptions({ queryKey: SESSION_QUERY_KEY, queryFn: ({ signal }) => getSession({ signal }), staleTime: 60_000 });
}

export function useAuthSession() {
  return useQuery(sessionQueryOptions());
}

/** Sign-in, demo sign-in and sign-out: each replaces the session and drops every merchant's cached data. */
export function useSignIn() {
  const queryClient = useQueryClient();
  const signedIn = (session: AuthSession | null) => {
    queryClient.removeQueries({ queryKey: ['merchant'] });
    queryClient.setQueryData(SESSION_QUERY_KEY, session);
  };
  return {
    login: useMutation({ mutationFn: login, onSuccess: signedIn }),
    demoLogin: useMutation({ mutationFn: demoLogin, onSuccess: signedIn }),
    logout: useMutation({ mutationFn: logout, onSettled: () => signedIn(null) }),
  };
}
