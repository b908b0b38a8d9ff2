import { describe, expect, it } from 'vitest';

import { parseJsonExact, stringifyJsonExact } from './exact-json';

describe('parseJsonExact', () => {
  it('keeps safe integers as numbers', () => {
    expect(parseJsonExact('{"available_paise": 12345, "held_paise": -7}')).toEqual({
      available_paise: 12345,
      held_paise: -7,
    });
  });

  it('reads integers beyond 2^53 as exact bigints', () => {
    expect(parseJsonExact('{"a": 9223372036854775807, "b": [-9007199254740993]}')).toEqual({
      a: 9223372036854775807n,
      b: [-9007199254740993n],
    });
  });

  it('leaves digits inside strings and non-integers alone', () => {
    const text = '{"d": "9223372036854775807 \\" 99999999999999999", "f": 1.5e300, "x": 99999999999999999.5}';
    expect(parseJsonExact(text)).toEqual({ d: '9223372036854775807 " 99999999999999999', f: 1.5e300, x: 1e17 });
  });
});

describe('stringifyJsonExact', () => {
  it('writes bigints as plain JSON integers', () => {
    expect(stringifyJsonExact({ amount_paise: 9223372036854775807n, bank_account_id: 3 })).toBe(
      '{"amount_paise":9223372036854775807,"bank_account_id":3}',
    );
    expect(stringifyJsonExact({ amount_paise: 100n, bank_account_id: 'ba_1' })).toBe(
      '{"amount_paise":100,"bank_account_id":"ba_1"}',
    );
  });
});
