import { createContext, useContext } from 'react';

import type { Id } from '@/types/api';

/** The merchant whose API key every request carries. */
export interface Session {
  merchantId: Id;
  merchantName: string;
  apiKey: string;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession must be used inside a SessionContext provider.');
  return session;
}
