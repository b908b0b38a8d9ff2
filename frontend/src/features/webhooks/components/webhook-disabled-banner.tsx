import { hashFor } from '@/lib/hash-route';
import type { Role } from '@/types/api';

/** Roles that manage endpoints, and so may open the Webhooks page. */
const MANAGERS: readonly Role[] = ['owner', 'developer'];

/**
 * Across every page, for every role: some webhook endpoint is disabled, so its
 * events are not being delivered. Managers get a link to the Webhooks page;
 * viewers are told whom to ask.
 */
export function WebhookDisabledBanner({ disabled, role }: { disabled: number; role: Role }) {
  if (disabled <= 0) return null;
  const what = disabled === 1 ? 'A webhook endpoint is disabled' : `${disabled} webhook endpoints are disabled`;
  return (
    <div role="alert" data-testid="webhook-disabled-banner" className="border-b border-rose-200 bg-rose-50 text-rose-950">
      <p className="mx-auto max-w-6xl px-4 py-2.5 text-sm break-words sm:px-6">
        <strong className="font-semibold">{what}:</strong>{' '}
        <span>{disabled === 1 ? 'its' : 'their'} events are not being sent.</span>{' '}
        {MANAGERS.includes(role) ? (
          <a
            href={hashFor(['webhooks'])}
            data-testid="webhook-disabled-banner-link"
            className="font-medium text-rose-900 underline underline-offset-2 hover:text-rose-700"
          >
            Review webhooks
          </a>
        ) : (
          <span>Ask an owner or developer of your account to review the webhooks.</span>
        )}
      </p>
    </div>
  );
}
