import { keepPreviousData, useQuery } from '@tanstack/react-query';

import { apiRequest } from '@/lib/api-client';
import { merchantKey } from '@/lib/query-keys';
import { useSession } from '@/lib/session';
import type { SecurityEventPage } from '@/types/api';

/** One page of security events, newest first; `pageUrl` is a page's next or previous URL. */
export function getSecurityEvents({ pageUrl, signal }: { pageUrl: string | null; signal?: AbortSignal }) {
  return apiRequest<SecurityEventPage>(pageUrl ?? '/security-events?limit=20', { signal });
}

export function useSecurityEvents(pageUrl: string | null) {
  const { merchantId } = useSession();
  return useQuery({
    queryKey: [...merchantKey(merchantId), 'security-events', pageUrl],
    queryFn: ({ signal }) => getSecurityEvents({ pageUrl, signal }),
    placeholderData: keepPreviousData,
  });
}
