/**
 * How often live data is re-read.
 *
 * Rule: while any visible payout is in flight (pending or processing) the
 * dashboard polls every LIVE_INTERVAL_MS, so a status change shows within 2 s.
 * When every visible payout is final it slows to IDLE_INTERVAL_MS. While the
 * API is failing it polls every RECOVERY_INTERVAL_MS so the page heals itself
 * soon after the API is back. Hidden tabs do not poll at all (the query
 * option refetchIntervalInBackground stays false).
 */

import type { PayoutStatus } from '@/types/api';

export const LIVE_INTERVAL_MS = 1_500;
export const RECOVERY_INTERVAL_MS = 5_000;
export const IDLE_INTERVAL_MS = 15_000;

const IN_FLIGHT = new Set<string>(['pending', 'processing'] satisfies PayoutStatus[]);

export function isInFlight(status: string): boolean {
  return IN_FLIGHT.has(status);
}

export function anyInFlight(statuses: Iterable<string>): boolean {
  for (const status of statuses) if (isInFlight(status)) return true;
  return false;
}

/** Interval for any live view: fast while payouts are in flight. */
export function pollInterval({ live, failing = false }: { live: boolean; failing?: boolean }): number {
  if (live) return LIVE_INTERVAL_MS;
  return failing ? RECOVERY_INTERVAL_MS : IDLE_INTERVAL_MS;
}

/** Interval for the payout list, from the statuses it currently shows. */
export function payoutsPollInterval({
  statuses,
  failing = false,
}: {
  statuses: Iterable<string>;
  failing?: boolean;
}): number {
  return pollInterval({ live: anyInFlight(statuses), failing });
}
