import { describe, expect, it } from 'vitest';

import { readStoredMerchantId, resolveMerchant, storeMerchantId } from './merchant-choice';

const merchants = [
  { id: 1, name: 'Asha Traders', api_key: 'k1' },
  { id: 2, name: 'Bharat Foods', api_key: 'k2' },
];

describe('resolveMerchant', () => {
  it('returns the remembered merchant', () => {
    expect(resolveMerchant(merchants, '2')?.name).toBe('Bharat Foods');
  });

  it('falls back to the first merchant when nothing or a vanished one is remembered', () => {
    expect(resolveMerchant(merchants, null)?.name).toBe('Asha Traders');
    expect(resolveMerchant(merchants, '99')?.name).toBe('Asha Traders');
    expect(resolveMerchant([], '1')).toBeUndefined();
  });
});

describe('stored merchant id', () => {
  it('round-trips through storage', () => {
    storeMerchantId('2', localStorage);
    expect(readStoredMerchantId(localStorage)).toBe('2');
  });

  it('survives storage that throws', () => {
    const blocked = {
      getItem: () => {
        throw new Error('blocked');
      },
      setItem: () => {
        throw new Error('blocked');
      },
    };
    expect(readStoredMerchantId(blocked)).toBeNull();
    expect(() => storeMerchantId('1', blocked)).not.toThrow();
  });
});
