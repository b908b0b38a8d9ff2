/**
 * The one way the dashboard talks to the payout API.
 *
 * Every failure becomes one of two errors, because callers act on the
 * difference:
 * - `ApiError`: the API answered. Its `code` is the stable snake_case code of
 *   the error envelope `{"error": {"code", "message", "field"}}`.
 * - `NetworkError`: no answer (unreachable, connection dropped, or our own
 *   timeout). Whether the server acted on the request is unknown.
 */

import { API_BASE } from '@/config/env';
import type { ErrorBody } from '@/types/api';

import { parseJsonExact, stringifyJsonExact } from './exact-json';

export const DEFAULT_TIMEOUT_MS = 10_000;

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | null;

  constructor(status: number, code: string, message: string, field: string | null = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

export class NetworkError extends Error {
  readonly timedOut: boolean;

  constructor(message: string, { timedOut = false, cause }: { timedOut?: boolean; cause?: unknown } = {}) {
    super(message, { cause });
    this.name = 'NetworkError';
    this.timedOut = timedOut;
  }
}

/**
 * The dashboard signs in with a session cookie (sent with `credentials:
 * 'include'`); its unsafe requests carry the CSRF token the API returned at
 * sign-in and with the session (`X-CSRFToken`). An `apiKey`, when given,
 * is sent as a bearer key instead.
 */
let csrfToken: string | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export function getCsrfToken(): string | null {
  return csrfToken;
}

export interface RequestOptions {
  apiKey?: string;
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  body?: unknown;
  headers?: Record<string, string>;
  /** Cancels the request (TanStack Query passes one); cancellation is not a NetworkError. */
  signal?: AbortSignal;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** `/ledger?limit=5` becomes a URL under the API base; absolute URLs are kept. */
export function apiUrl(pathOrUrl: string): string {
  return /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${API_BASE}${pathOrUrl}`;
}

function errorFromResponse(status: number, statusText: string, text: string): ApiError {
  try {
    // Checked member by member: the body may not be the API's envelope at all.
    const parsed = JSON.parse(text) as { error?: Partial<Record<keyof ErrorBody, unknown>> };
    const envelope = parsed?.error;
    if (envelope && typeof envelope.code === 'string' && typeof envelope.message === 'string') {
      const field = typeof envelope.field === 'string' ? envelope.field : null;
      return new ApiError(status, envelope.code, envelope.message, field);
    }
  } catch {
    // Not the API's envelope (a proxy's HTML page, say); described below.
  }
  const reason = statusText ? `${status} ${statusText}` : String(status);
  return new ApiError(status, `http_${status}`, `The server answered with HTTP ${reason}.`);
}

export async function apiRequest<T>(pathOrUrl: string, options: RequestOptions = {}): Promise<T> {
  const { apiKey, method = 'GET', body, headers = {}, signal, timeoutMs = DEFAULT_TIMEOUT_MS } = options;
  const doFetch = options.fetch ?? globalThis.fetch;

  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const forwardAbort = () => controller.abort();
  if (signal?.aborted) controller.abort();
  signal?.addEventListener('abort', forwardAbort);

  const requestHeaders: Record<string, string> = { Accept: 'application/json', ...headers };
  if (apiKey) requestHeaders.Authorization = `Bearer ${apiKey}`;
  if (method !== 'GET' && csrfToken) requestHeaders['X-CSRFToken'] = csrfToken;
  if (body !== undefined) requestHeaders['Content-Type'] = 'application/json';

  try {
    let response: Response;
    let text: string;
    try {
      response = await doFetch(apiUrl(pathOrUrl), {
        method,
        headers: requestHeaders,
        credentials: 'include',
        body: body === undefined ? undefined : stringifyJsonExact(body),
        signal: controller.signal,
      });
      text = await response.text();
    } catch (error) {
      if (timedOut) {
        throw new NetworkError(`The payout API did not answer within ${Math.round(timeoutMs / 1000)} s.`, {
          timedOut: true,
          cause: error,
        });
      }
      if (signal?.aborted) throw error;
      throw new NetworkError('Cannot reach the payout API.', { cause: error });
    }

    if (!response.ok) throw errorFromResponse(response.status, response.statusText, text);
    return (text === '' ? null : parseJsonExact(text)) as T;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', forwardAbort);
  }
}

/** Whether a failed read is worth repeating: no answer, overload, or a server fault. */
export function isTransientError(error: unknown): boolean {
  if (error instanceof NetworkError) return true;
  return error instanceof ApiError && (error.status >= 500 || error.status === 429);
}

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError || error instanceof NetworkError) return error.message;
  return 'Something went wrong.';
}
