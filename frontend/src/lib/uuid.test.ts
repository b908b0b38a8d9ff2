import { afterEach, describe, expect, it, vi } from 'vitest';

import { stubInsecureContext } from '@/testing/insecure-context';

import { uuidV4 } from './uuid';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function filledWith(byte: number): Crypto['getRandomValues'] {
  return <T extends ArrayBufferView | null>(array: T): T => {
    if (array) new Uint8Array(array.buffer, array.byteOffset, array.byteLength).fill(byte);
    return array;
  };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('uuidV4', () => {
  it('works where crypto.randomUUID is missing (plain HTTP on a LAN address)', () => {
    stubInsecureContext();
    expect(globalThis.crypto.randomUUID).toBeUndefined();

    const keys = Array.from({ length: 1000 }, () => uuidV4());

    for (const key of keys) expect(key).toMatch(UUID_V4);
    expect(new Set(keys).size).toBe(1000);
  });

  it('sets the version nibble to 4 and the variant bits to 10, whatever the random bytes', () => {
    stubInsecureContext(filledWith(0xff));
    expect(uuidV4()).toBe('ffffffff-ffff-4fff-bfff-ffffffffffff');

    stubInsecureContext(filledWith(0x00));
    expect(uuidV4()).toBe('00000000-0000-4000-8000-000000000000');
  });
});
