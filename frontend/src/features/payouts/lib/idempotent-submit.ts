/**
 * Submitting a payout exactly once over an unreliable network.
 *
 * Rules:
 * - One Idempotency-Key per intended payout (amount, bank account, reference
 *   and narration).
 * - A request that got no definite answer (network error, our timeout, a 5xx,
 *   or 409 idempotency_key_in_use while the first try is still running) is
 *   retried with the SAME key and the SAME body: the API then either replays
 *   the first answer or creates the payout once.
 * - The key is forgotten only after a definite answer (201 or a 4xx such as
 *   422 insufficient_funds) or when the person edits the amount or account
 *   (`reset`). If every retry fails, the key is kept, so pressing the button
 *   again for the same payout still cannot pay twice.
 * - While a submission is running, another submit returns the same promise.
 */

import { ApiError, NetworkError } from '@/lib/api-client';
import { uuidV4 } from '@/lib/uuid';
import type { Id, Payout } from '@/types/api';

export interface PayoutIntent {
  amountPaise: bigint;
  bankAccountId: Id;
  /** The merchant's own id for the payout (`reference_id`), if any. */
  referenceId?: string;
  narration?: string;
}

export type SendPayout = (request: { idempotencyKey: string; intent: PayoutIntent }) => Promise<Payout>;

export interface SubmitterOptions {
  send: SendPayout;
  newKey?: () => string;
  /** One entry per retry: the wait before it. */
  retryDelaysMs?: readonly number[];
  sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_RETRY_DELAYS_MS = [500, 1_500] as const;

export interface PayoutSubmitter {
  submit(intent: PayoutIntent): Promise<Payout>;
  /** Forget the key: the next submit is a new intended payout. */
  reset(): void;
  readonly heldKey: string | null;
}

export function isOutcomeUnknown(error: unknown): boolean {
  if (error instanceof NetworkError) return true;
  if (!(error instanceof ApiError)) return false;
  return error.status >= 500 || (error.status === 409 && error.code === 'idempotency_key_in_use');
}

function fingerprint(intent: PayoutIntent): string {
  return JSON.stringify([
    intent.amountPaise.toString(),
    String(intent.bankAccountId),
    intent.referenceId ?? null,
    intent.narration ?? null,
  ]);
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createPayoutSubmitter({
  send,
  // Not crypto.randomUUID(): it is missing over plain HTTP (see lib/uuid).
  newKey = uuidV4,
  retryDelaysMs = DEFAULT_RETRY_DELAYS_MS,
  sleep = defaultSleep,
}: SubmitterOptions): PayoutSubmitter {
  let held: { key: string; fingerprint: string } | null = null;
  let running: Promise<Payout> | null = null;

  async function run(intent: PayoutIntent, key: string): Promise<Payout> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const payout = await send({ idempotencyKey: key, intent });
        if (held?.key === key) held = null;
        return payout;
      } catch (error) {
        const delay = retryDelaysMs[attempt];
        if (!isOutcomeUnknown(error)) {
          if (held?.key === key) held = null;
          throw error;
        }
        if (delay === undefined) throw error;
        await sleep(delay);
      }
    }
  }

  return {
    submit(intent) {
      if (running) return running;
      const print = fingerprint(intent);
      if (held?.fingerprint !== print) held = { key: newKey(), fingerprint: print };
      running = run(intent, held.key).finally(() => {
        running = null;
      });
      return running;
    },
    reset() {
      held = null;
    },
    get heldKey() {
      return held?.key ?? null;
    },
  };
}
