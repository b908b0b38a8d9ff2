import { createContext, useContext } from 'react';

import type { Id, Role } from '@/types/api';

/**
 * The merchant the dashboard shows, and who is looking. Requests carry the
 * session cookie; `apiKey` is empty then (a key, when set, is sent instead).
 */
export interface Session {
  merchantId: Id;
  merchantName: string;
  apiKey: string;
  role: Role;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession must be used inside a SessionContext provider.');
  return session;
}
