import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { SESSION_QUERY_KEY } from '@/features/auth/api/auth';
import { apiRequest } from '@/lib/api-client';
import { merchantKey } from '@/lib/query-keys';
import { useSession } from '@/lib/session';
import type {
  Id,
  RedeliverReply,
  WebhookDeliveryAttemptPage,
  WebhookEndpoint,
  WebhookEndpointCreate,
  WebhookEndpointUpdate,
  WebhookEndpointWithSecret,
} from '@/types/api';

/** How many of an endpoint's latest attempts the page shows. */
export const DELIVERIES_SHOWN = 20;
/** While an endpoint's deliveries are open, they refresh this often (new events arrive by themselves). */
export const DELIVERIES_REFRESH_MS = 2_000;

export function webhooksQueryKey(merchantId: Id) {
  return [...merchantKey(merchantId), 'webhook-endpoints'] as const;
}

export function getWebhookEndpoints({ signal }: { signal?: AbortSignal } = {}): Promise<WebhookEndpoint[]> {
  return apiRequest<WebhookEndpoint[]>('/webhook-endpoints', { signal });
}

export function createWebhookEndpoint(body: WebhookEndpointCreate): Promise<WebhookEndpointWithSecret> {
  return apiRequest<WebhookEndpointWithSecret>('/webhook-endpoints', { method: 'POST', body });
}

export function updateWebhookEndpoint({ id, changes }: { id: Id; changes: WebhookEndpointUpdate }): Promise<WebhookEndpoint> {
  return apiRequest<WebhookEndpoint>(`/webhook-endpoints/${String(id)}`, { method: 'PATCH', body: changes });
}

export function deleteWebhookEndpoint(id: Id): Promise<null> {
  return apiRequest<null>(`/webhook-endpoints/${String(id)}`, { method: 'DELETE' });
}

export function rotateWebhookSecret(id: Id): Promise<WebhookEndpointWithSecret> {
  return apiRequest<WebhookEndpointWithSecret>(`/webhook-endpoints/${String(id)}/rotate-secret`, { method: 'POST' });
}

export function getWebhookDeliveries(id: Id, { signal }: { signal?: AbortSignal } = {}): Promise<WebhookDeliveryAttemptPage> {
  return apiRequest<WebhookDeliveryAttemptPage>(`/webhook-endpoints/${String(id)}/deliveries?limit=${DELIVERIES_SHOWN}`, {
    signal,
  });
}

export function redeliverEvent({ eventId, endpointId }: { eventId: string; endpointId: Id }): Promise<RedeliverReply> {
  return apiRequest<RedeliverReply>(`/events/${encodeURIComponent(eventId)}/redeliver`, {
    method: 'POST',
    body: { endpoint_id: endpointId },
  });
}

/**
 * The merchant's webhook endpoints and what changes them. Every change also
 * refreshes the session, whose count of disabled endpoints drives the banner.
 */
export function useWebhookEndpoints() {
  const { merchantId } = useSession();
  const queryClient = useQueryClient();
  const queryKey = webhooksQueryKey(merchantId);
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey }),
      queryClient.invalidateQueries({ queryKey: SESSION_QUERY_KEY }),
    ]);
  return {
    endpoints: useQuery({ queryKey, queryFn: ({ signal }) => getWebhookEndpoints({ signal }) }),
    create: useMutation({ mutationFn: createWebhookEndpoint, onSettled: refresh }),
    update: useMutation({ mutationFn: updateWebhookEndpoint, onSettled: refresh }),
    remove: useMutation({ mutationFn: deleteWebhookEndpoint, onSettled: refresh }),
    rotate: useMutation({ mutationFn: rotateWebhookSecret, onSettled: refresh }),
  };
}

/** One endpoint's latest delivery attempts (refreshing while shown), and redelivery of an event to it. */
export function useWebhookDeliveries(endpointId: Id) {
  const { merchantId } = useSession();
  const queryClient = useQueryClient();
  const queryKey = [...webhooksQueryKey(merchantId), String(endpointId), 'deliveries'] as const;
  return {
    deliveries: useQuery({
      queryKey,
      queryFn: ({ signal }) => getWebhookDeliveries(endpointId, { signal }),
      refetchInterval: DELIVERIES_REFRESH_MS,
    }),
    redeliver: useMutation({
      mutationFn: (eventId: string) => redeliverEvent({ eventId, endpointId }),
      onSettled: () => queryClient.invalidateQueries({ queryKey }),
    }),
  };
}
