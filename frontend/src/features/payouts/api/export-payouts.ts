import { ApiError, apiUrl, NetworkError } from '@/lib/api-client';

import { payoutFilterParams, type PayoutFilters } from './get-payouts';

/** GET /payouts/export.csv with the history's filters: every matching payout, not one page. */
export function payoutsExportPath(filters: PayoutFilters): string {
  const params = payoutFilterParams(filters).toString();
  return params ? `/payouts/export.csv?${params}` : '/payouts/export.csv';
}

/**
 * Downloads the CSV. The API key goes in a header, which a plain link cannot
 * send, so the file is fetched and handed to the browser as a download.
 */
export async function downloadPayoutsCsv({
  apiKey,
  filters,
  fetch: doFetch = globalThis.fetch,
  save = saveFile,
}: {
  apiKey: string;
  filters: PayoutFilters;
  fetch?: typeof fetch;
  save?: (blob: Blob, name: string) => void;
}): Promise<void> {
  let response: Response;
  try {
    response = await doFetch(apiUrl(payoutsExportPath(filters)), {
      headers: { Accept: 'text/csv', Authorization: `Bearer ${apiKey}` },
    });
  } catch (error) {
    throw new NetworkError('Cannot reach the payout API.', { cause: error });
  }
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    throw new ApiError(
      response.status,
      body?.error?.code ?? `http_${String(response.status)}`,
      body?.error?.message ?? `The server answered with HTTP ${String(response.status)}.`,
    );
  }
  save(await response.blob(), 'payouts.csv');
}

function saveFile(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1_000);
}
