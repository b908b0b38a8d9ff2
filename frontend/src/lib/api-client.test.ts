import { afterEach, describe, expect, it, vi } from 'vitest';

import { API_BASE } from '@/config/env';

import { ApiError, NetworkError, apiRequest, isTransientError } from './api-client';

afterEach(() => {
  vi.useRealTimers();
});

describe('apiRequest', () => {
  it('sends the bearer key and reads big integers exactly', async () => {
    const fetchFn = vi.fn(
      async () => new Response('{"available_paise": 9223372036854775807, "held_paise": 0, "currency": "INR"}'),
    );

    const balance = await apiRequest('/balance', { apiKey: 'sk_1', fetch: fetchFn as unknown as typeof fetch });

    expect(balance).toEqual({ available_paise: 9223372036854775807n, held_paise: 0, currency: 'INR' });
    const [url, init] = fetchFn.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe(`${API_BASE}/balance`);
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer sk_1');
  });

  it("turns the API's error envelope into an ApiError", async () => {
    const fetchFn = async () =>
      new Response('{"error": {"code": "insufficient_funds", "message": "Not enough balance.", "field": "amount_paise"}}', {
        status: 422,
      });

    const error = await apiRequest('/payouts', { fetch: fetchFn as typeof fetch }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 422, code: 'insufficient_funds', message: 'Not enough balance.', field: 'amount_paise' });
  });

  it('describes an error response that is not the envelope', async () => {
    const fetchFn = async () => new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' });

    const error = await apiRequest('/balance', { fetch: fetchFn as typeof fetch }).catch((e: unknown) => e);

    expect(error).toMatchObject({ status: 502, code: 'http_502', message: 'The server answered with HTTP 502 Bad Gateway.' });
    expect(isTransientError(error)).toBe(true);
  });

  it('reports an unreachable API as a NetworkError', async () => {
    const fetchFn = async () => {
      throw new TypeError('Failed to fetch');
    };

    const error = await apiRequest('/balance', { fetch: fetchFn as typeof fetch }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(NetworkError);
    expect(error).toMatchObject({ timedOut: false });
    expect(isTransientError(error)).toBe(true);
  });

  it('gives up after the timeout with a NetworkError marked timedOut', async () => {
    vi.useFakeTimers();
    const fetchFn = (_url: string, init: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        init.signal?.addEventListener('abort', () => reject(new DOMException('Aborted', 'AbortError')));
      });

    const pending = apiRequest('/payouts', { fetch: fetchFn as unknown as typeof fetch, timeoutMs: 10_000 }).catch(
      (e: unknown) => e,
    );
    await vi.advanceTimersByTimeAsync(10_000);

    const error = await pending;
    expect(error).toBeInstanceOf(NetworkError);
    expect(error).toMatchObject({ timedOut: true });
  });

  it('lets a caller cancellation through untouched', async () => {
    const controller = new AbortController();
    const fetchFn = (_url: string, init: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        init.signal?.addEventListener('abort', () => reject(new DOMException('Aborted', 'AbortError')));
      });

    const pending = apiRequest('/ledger', { fetch: fetchFn as unknown as typeof fetch, signal: controller.signal }).catch(
      (e: unknown) => e,
    );
    controller.abort();

    const error = await pending;
    expect(error).not.toBeInstanceOf(NetworkError);
    expect(error).toMatchObject({ name: 'AbortError' });
  });

  it('does not treat a 4xx as transient', () => {
    expect(isTransientError(new ApiError(401, 'unauthorized', 'No key.'))).toBe(false);
    expect(isTransientError(new ApiError(429, 'rate_limited', 'Slow down.'))).toBe(true);
  });
});
