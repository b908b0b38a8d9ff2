import { describe, expect, it } from 'vitest';

import { MAX_PAISE, formatPaise, parseRupeesToPaise } from './money';

function paiseOf(input: string): bigint {
  const result = parseRupeesToPaise(input);
  if (!result.ok) throw new Error(`expected "${input}" to parse, got: ${result.message}`);
  return result.paise;
}

function rejects(input: string): string {
  const result = parseRupeesToPaise(input);
  if (result.ok) throw new Error(`expected "${input}" to be rejected, got ${result.paise} paise`);
  return result.message;
}

describe('parseRupeesToPaise', () => {
  it.each([
    ['1', 100n],
    ['0.1', 10n],
    ['0.01', 1n],
    ['.5', 50n],
    ['5.', 500n],
    ['0.29', 29n],
    ['1.10', 110n],
    ['1500.50', 150050n],
    ['007.05', 705n],
  ])('reads %s as %s paise', (input, expected) => {
    expect(paiseOf(input)).toBe(expected);
  });

  it('reads amounts whose float times 100 is inexact exactly', () => {
    // 1.005 * 100 and 4.35 * 100 are 100.49999… and 434.99999… as floats.
    expect(paiseOf('4.35')).toBe(435n);
    expect(paiseOf('1.15')).toBe(115n);
    expect(paiseOf('9007199254740993.99')).toBe(900719925474099399n);
  });

  it.each([
    ['1,000.50', 100050n],
    ['1,00,000', 10000000n],
    ['12,34,567.89', 123456789n],
    ['100,000', 10000000n],
    ['1,234,567.8', 123456780n],
  ])('tolerates commas as digit grouping: %s', (input, expected) => {
    expect(paiseOf(input)).toBe(expected);
  });

  it.each(['1,5', '10,00', '1,,000', ',100', '100,', '123,45,678', '1,000,00'])(
    'refuses commas that are not digit grouping: %s',
    (input) => {
      expect(rejects(input)).toMatch(/comma|digits/i);
    },
  );

  it('trims surrounding whitespace and a leading rupee sign', () => {
    expect(paiseOf('  12.50\t')).toBe(1250n);
    expect(paiseOf('\n 7 ')).toBe(700n);
    expect(paiseOf('₹ 1,000')).toBe(100000n);
  });

  it('refuses whitespace inside the number', () => {
    rejects('1 000');
    rejects('12. 50');
  });

  it('refuses more than two decimals', () => {
    expect(rejects('12.345')).toMatch(/two decimal/i);
    expect(rejects('0.001')).toMatch(/two decimal/i);
    expect(rejects('1.100')).toMatch(/two decimal/i);
  });

  it.each(['1e3', '1E3', '1.5e2', '1e-2', 'e'])('refuses exponent notation: %s', (input) => {
    expect(rejects(input)).toMatch(/plain digits/i);
  });

  it.each(['', '   ', '₹', '.'])('refuses an empty amount: %j', (input) => {
    expect(rejects(input)).toMatch(/enter an amount/i);
  });

  it.each(['-5', '-0.01', ' -1'])('refuses negative amounts: %s', (input) => {
    expect(rejects(input)).toMatch(/greater than zero/i);
  });

  it.each(['0', '0.00', '000', '.0'])('refuses zero: %s', (input) => {
    expect(rejects(input)).toMatch(/greater than zero/i);
  });

  it.each(['abc', '+5', '1.2.3', '12a', '0x10', 'Infinity', 'NaN', '١٢', '５'])('refuses non-numbers: %s', (input) => {
    rejects(input);
  });

  it('accepts exactly 2^63 - 1 paise and refuses one paisa more', () => {
    expect(MAX_PAISE).toBe(9223372036854775807n);
    expect(paiseOf('92233720368547758.07')).toBe(9223372036854775807n);
    expect(paiseOf('92,233,720,368,547,758.07')).toBe(9223372036854775807n);
    expect(rejects('92233720368547758.08')).toMatch(/too large/i);
    expect(rejects('100000000000000000000000')).toMatch(/too large/i);
  });
});

describe('formatPaise', () => {
  it.each([
    [12345678, '₹1,23,456.78'],
    [0, '₹0.00'],
    [5, '₹0.05'],
    [50, '₹0.50'],
    [100, '₹1.00'],
    [99999, '₹999.99'],
    [100000, '₹1,000.00'],
    [10000000, '₹1,00,000.00'],
    [123456789012, '₹1,23,45,67,890.12'],
  ])('formats %s paise as %s', (paise, expected) => {
    expect(formatPaise(paise)).toBe(expected);
  });

  it('formats negatives with a leading minus', () => {
    expect(formatPaise(-12345678)).toBe('-₹1,23,456.78');
    expect(formatPaise(-5)).toBe('-₹0.05');
  });

  it('signs credits when asked, and never signs zero', () => {
    expect(formatPaise(150050, { sign: 'always' })).toBe('+₹1,500.50');
    expect(formatPaise(-100, { sign: 'always' })).toBe('-₹1.00');
    expect(formatPaise(0, { sign: 'always' })).toBe('₹0.00');
  });

  it('formats huge values exactly, beyond the float range', () => {
    expect(formatPaise(9223372036854775807n)).toBe('₹92,23,37,20,36,85,47,758.07');
    expect(formatPaise(-9223372036854775808n)).toBe('-₹92,23,37,20,36,85,47,758.08');
    expect(formatPaise('9007199254740993')).toBe('₹9,00,71,99,25,47,409.93');
  });

  it('refuses numbers that are not exact integers', () => {
    expect(() => formatPaise(1.5)).toThrow(RangeError);
    expect(() => formatPaise(2 ** 60)).toThrow(RangeError);
    expect(() => formatPaise('12.5')).toThrow(RangeError);
  });

  it('round-trips with parseRupeesToPaise', () => {
    for (const paise of [1n, 99n, 100n, 123456789n, MAX_PAISE]) {
      expect(paiseOf(formatPaise(paise))).toBe(paise);
    }
  });
});
