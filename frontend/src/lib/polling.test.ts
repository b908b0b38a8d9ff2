import { describe, expect, it } from 'vitest';

import { IDLE_INTERVAL_MS, LIVE_INTERVAL_MS, RECOVERY_INTERVAL_MS, anyInFlight, payoutsPollInterval } from './polling';

describe('payoutsPollInterval', () => {
  it('polls within 2 seconds while any visible payout is pending or processing', () => {
    expect(payoutsPollInterval({ statuses: ['completed', 'pending'] })).toBe(LIVE_INTERVAL_MS);
    expect(payoutsPollInterval({ statuses: ['failed', 'processing', 'completed'] })).toBe(LIVE_INTERVAL_MS);
    expect(LIVE_INTERVAL_MS).toBeLessThanOrEqual(2_000);
  });

  it('slows to at least 10 seconds when every visible payout is final', () => {
    expect(payoutsPollInterval({ statuses: ['completed', 'failed'] })).toBe(IDLE_INTERVAL_MS);
    expect(payoutsPollInterval({ statuses: [] })).toBe(IDLE_INTERVAL_MS);
    expect(IDLE_INTERVAL_MS).toBeGreaterThanOrEqual(10_000);
  });

  it('retries sooner than idle while the API is failing, and stays fast if payouts are in flight', () => {
    expect(payoutsPollInterval({ statuses: [], failing: true })).toBe(RECOVERY_INTERVAL_MS);
    expect(RECOVERY_INTERVAL_MS).toBeLessThan(IDLE_INTERVAL_MS);
    expect(payoutsPollInterval({ statuses: ['pending'], failing: true })).toBe(LIVE_INTERVAL_MS);
  });

  it('treats only pending and processing as in flight', () => {
    expect(anyInFlight(['completed', 'failed', 'unknown'])).toBe(false);
    expect(anyInFlight(['pending'])).toBe(true);
  });
});
