import { afterEach, describe, expect, it, vi } from 'vitest';

import { ApiError, NetworkError } from '@/lib/api-client';
import { stubInsecureContext } from '@/testing/insecure-context';
import type { Payout } from '@/types/api';

import { createPayout } from '../api/create-payout';
import { createPayoutSubmitter, type PayoutIntent } from './idempotent-submit';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const payout: Payout = {
  id: 41,
  amount_paise: 10000,
  bank_account_id: 7,
  status: 'pending',
  attempts: 0,
  failure_reason: null,
  failure_code: null,
  reference_id: null,
  narration: null,
  notes: {},
  utr: null,
  created_at: '2025-01-01T10:00:00Z',
  updated_at: '2025-01-01T10:00:00Z',
};

const intent: PayoutIntent = { amountPaise: 10000n, bankAccountId: 7 };

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

/** A fetch double that answers with the given steps in order and records every request. */
function fakeFetch(...steps: Array<() => Response | Promise<Response>>) {
  const calls: Array<{ url: string; headers: Record<string, string>; body: string }> = [];
  const fetchFn = vi.fn(async (url: RequestInfo | URL, init?: RequestInit) => {
    calls.push({
      url: String(url),
      headers: { ...(init?.headers as Record<string, string>) },
      body: String(init?.body),
    });
    const step = steps[calls.length - 1];
    if (!step) throw new Error(`unexpected request #${calls.length}`);
    return step();
  });
  return { fetch: fetchFn as unknown as typeof fetch, calls };
}

const networkDown = () => {
  throw new TypeError('Failed to fetch');
};

function submitterOver(fetchFn: typeof fetch, keys = ['key-1', 'key-2', 'key-3']) {
  const sleeps: number[] = [];
  const submitter = createPayoutSubmitter({
    send: ({ idempotencyKey, intent: current }) =>
      createPayout({ apiKey: 'sk_test', idempotencyKey, intent: current, fetch: fetchFn }),
    newKey: () => keys.shift() ?? 'no-more-keys',
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
  return { submitter, sleeps };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('payout submitter', () => {
  it('retries a network error with the same Idempotency-Key and the same body', async () => {
    const { fetch, calls } = fakeFetch(networkDown, () => jsonResponse(201, payout));
    const { submitter, sleeps } = submitterOver(fetch);

    const result = await submitter.submit(intent);

    expect(result).toEqual(payout);
    expect(calls).toHaveLength(2);
    expect(calls[0]!.headers['Idempotency-Key']).toBe('key-1');
    expect(calls[1]!.headers['Idempotency-Key']).toBe('key-1');
    expect(calls[0]!.body).toBe('{"amount_paise":10000,"bank_account_id":7}');
    expect(calls[1]!.body).toBe(calls[0]!.body);
    expect(calls[0]!.headers.Authorization).toBe('Bearer sk_test');
    expect(calls[0]!.url).toMatch(/\/api\/v1\/payouts$/);
    expect(sleeps).toHaveLength(1);
  });

  it('gives the next intended payout a new key after a success', async () => {
    const { fetch, calls } = fakeFetch(
      () => jsonResponse(201, payout),
      () => jsonResponse(201, { ...payout, id: 42 }),
    );
    const { submitter } = submitterOver(fetch);

    await submitter.submit(intent);
    await submitter.submit(intent);

    expect(calls.map((call) => call.headers['Idempotency-Key'])).toEqual(['key-1', 'key-2']);
    expect(submitter.heldKey).toBeNull();
  });

  it('does not retry a 422 insufficient_funds and forgets the key', async () => {
    const { fetch, calls } = fakeFetch(
      () =>
        jsonResponse(422, {
          error: { code: 'insufficient_funds', message: 'Not enough available balance.', field: 'amount_paise' },
        }),
      () => jsonResponse(201, payout),
    );
    const { submitter } = submitterOver(fetch);

    const failure = await submitter.submit(intent).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(ApiError);
    expect(failure).toMatchObject({ status: 422, code: 'insufficient_funds', message: 'Not enough available balance.' });
    expect(calls).toHaveLength(1);

    await submitter.submit(intent);
    expect(calls[1]!.headers['Idempotency-Key']).toBe('key-2');
  });

  it('does not retry a 400 invalid_amount', async () => {
    const { fetch, calls } = fakeFetch(() =>
      jsonResponse(400, { error: { code: 'invalid_amount', message: 'Amount must be positive.', field: 'amount_paise' } }),
    );
    const { submitter } = submitterOver(fetch);

    await expect(submitter.submit(intent)).rejects.toMatchObject({ code: 'invalid_amount' });
    expect(calls).toHaveLength(1);
  });

  it('retries a 5xx and a 409 idempotency_key_in_use with the same key', async () => {
    const { fetch, calls } = fakeFetch(
      () => jsonResponse(503, { error: { code: 'unavailable', message: 'Try again.', field: null } }),
      () => jsonResponse(409, { error: { code: 'idempotency_key_in_use', message: 'In progress.', field: null } }),
      () => jsonResponse(201, payout),
    );
    const { submitter, sleeps } = submitterOver(fetch);

    await submitter.submit(intent);

    expect(calls.map((call) => call.headers['Idempotency-Key'])).toEqual(['key-1', 'key-1', 'key-1']);
    expect(sleeps).toEqual([500, 1_500]);
  });

  it('after the retries run out, keeps the key so pressing again cannot pay twice', async () => {
    const { fetch, calls } = fakeFetch(networkDown, networkDown, networkDown, () => jsonResponse(201, payout));
    const { submitter } = submitterOver(fetch);

    await expect(submitter.submit(intent)).rejects.toBeInstanceOf(NetworkError);
    expect(calls).toHaveLength(3);
    expect(submitter.heldKey).toBe('key-1');

    await submitter.submit(intent);
    expect(calls[3]!.headers['Idempotency-Key']).toBe('key-1');
  });

  it('uses a new key when the amount or account changed after an unanswered try', async () => {
    const { fetch, calls } = fakeFetch(networkDown, networkDown, networkDown, () => jsonResponse(201, payout));
    const { submitter } = submitterOver(fetch);

    await expect(submitter.submit(intent)).rejects.toBeInstanceOf(NetworkError);
    await submitter.submit({ ...intent, amountPaise: 20000n });

    expect(calls[3]!.headers['Idempotency-Key']).toBe('key-2');
    expect(calls[3]!.body).toBe('{"amount_paise":20000,"bank_account_id":7}');
  });

  it('uses a new key after reset, which the form calls when the person edits', async () => {
    const { fetch, calls } = fakeFetch(networkDown, networkDown, networkDown, () => jsonResponse(201, payout));
    const { submitter } = submitterOver(fetch);

    await expect(submitter.submit(intent)).rejects.toBeInstanceOf(NetworkError);
    submitter.reset();
    await submitter.submit(intent);

    expect(calls[3]!.headers['Idempotency-Key']).toBe('key-2');
  });

  it('returns the running submission instead of sending a second request', async () => {
    let answer: (response: Response) => void = () => {};
    const { fetch, calls } = fakeFetch(() => new Promise<Response>((resolve) => (answer = resolve)));
    const { submitter } = submitterOver(fetch);

    const first = submitter.submit(intent);
    const second = submitter.submit(intent);
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    answer(jsonResponse(201, payout));

    await expect(first).resolves.toEqual(payout);
    await expect(second).resolves.toEqual(payout);
    expect(calls).toHaveLength(1);
  });

  it('uses random v4 UUIDs by default', async () => {
    const { fetch, calls } = fakeFetch(
      () => jsonResponse(201, payout),
      () => jsonResponse(201, payout),
    );
    const submitter = createPayoutSubmitter({
      send: ({ idempotencyKey, intent: current }) =>
        createPayout({ apiKey: 'sk_test', idempotencyKey, intent: current, fetch }),
    });

    await submitter.submit(intent);
    await submitter.submit(intent);

    const [first, second] = calls.map((call) => call.headers['Idempotency-Key']);
    expect(first).toMatch(UUID_V4);
    expect(second).toMatch(UUID_V4);
    expect(first).not.toBe(second);
  });

  it('still sends a v4 UUID where crypto.randomUUID is missing (plain HTTP on a LAN address)', async () => {
    stubInsecureContext();
    const { fetch, calls } = fakeFetch(() => jsonResponse(201, payout));
    const submitter = createPayoutSubmitter({
      send: ({ idempotencyKey, intent: current }) =>
        createPayout({ apiKey: 'sk_test', idempotencyKey, intent: current, fetch }),
    });

    await submitter.submit(intent);

    expect(calls).toHaveLength(1);
    expect(calls[0]!.headers['Idempotency-Key']).toMatch(UUID_V4);
  });

  it('sends amounts beyond 2^53 paise as exact JSON integers', async () => {
    const { fetch, calls } = fakeFetch(() => jsonResponse(201, payout));
    const { submitter } = submitterOver(fetch);

    await submitter.submit({ amountPaise: 9223372036854775807n, bankAccountId: 9 });

    expect(calls[0]!.body).toBe('{"amount_paise":9223372036854775807,"bank_account_id":9}');
  });
});
