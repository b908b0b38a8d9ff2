import { vi } from 'vitest';

type GetRandomValues = Crypto['getRandomValues'];

/**
 * Makes `crypto` look as it does on a page served over plain HTTP from a LAN
 * address: `getRandomValues` is there, `randomUUID` and `subtle` are not
 * (they exist only in secure contexts). Undo with `vi.unstubAllGlobals()`.
 */
export function stubInsecureContext(getRandomValues?: GetRandomValues) {
  const real = globalThis.crypto;
  vi.stubGlobal('isSecureContext', false);
  vi.stubGlobal('crypto', { getRandomValues: getRandomValues ?? real.getRandomValues.bind(real) });
}
