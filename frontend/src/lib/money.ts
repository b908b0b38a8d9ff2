/**
 * Rupee amounts in the browser.
 *
 * Invariants:
 * - Money is an integer number of paise. A rupee string typed by a person is
 *   turned into paise with string and BigInt arithmetic only; no value ever
 *   passes through a binary float, so "0.29" is 29 paise and never 28.999….
 * - The largest accepted amount is 2^63 - 1 paise, the API's 64-bit limit.
 * - Formatting is exact for any integer, including values beyond 2^53.
 */

export type Paise = number | bigint;

export const MAX_PAISE = 2n ** 63n - 1n;

export type ParseResult = { ok: true; paise: bigint } | { ok: false; message: string };

// Grouping is accepted only where it is unambiguous: Indian (1,00,000.00) or
// international (100,000.00). "1,5" is refused instead of read as 15 rupees,
// because a decimal comma typed by mistake must not become a payout 10× larger.
const INDIAN_GROUPED = /^\d{1,2}(,\d{2})*,\d{3}$/;
const INTERNATIONAL_GROUPED = /^\d{1,3}(,\d{3})+$/;
const PLAIN_DIGITS = /^\d+$/;

export function parseRupeesToPaise(input: string): ParseResult {
  let text = input.trim();
  if (text.startsWith('₹')) text = text.slice(1).trimStart();

  if (text === '') return { ok: false, message: 'Enter an amount.' };
  if (text.startsWith('-')) return { ok: false, message: 'The amount must be greater than zero.' };
  if (/[eE]/.test(text)) {
    return { ok: false, message: 'Write the amount in plain digits, for example 1500.50.' };
  }

  const dot = text.indexOf('.');
  if (dot !== text.lastIndexOf('.')) return { ok: false, message: 'The amount has more than one decimal point.' };

  const whole = dot === -1 ? text : text.slice(0, dot);
  const fraction = dot === -1 ? '' : text.slice(dot + 1);

  if (whole === '' && fraction === '') return { ok: false, message: 'Enter an amount.' };
  if (fraction !== '' && !PLAIN_DIGITS.test(fraction)) {
    return { ok: false, message: 'Use only digits, commas and one decimal point.' };
  }
  if (fraction.length > 2) return { ok: false, message: 'Use at most two decimal places (paise).' };

  let wholeDigits = '0';
  if (whole !== '') {
    if (PLAIN_DIGITS.test(whole)) {
      wholeDigits = whole;
    } else if (INDIAN_GROUPED.test(whole) || INTERNATIONAL_GROUPED.test(whole)) {
      wholeDigits = whole.replaceAll(',', '');
    } else if (/^[\d,]+$/.test(whole)) {
      return { ok: false, message: 'Check the commas: group digits like 1,00,000 or 100,000.' };
    } else {
      return { ok: false, message: 'Use only digits, commas and one decimal point.' };
    }
  }

  const paise = BigInt(wholeDigits) * 100n + BigInt(fraction.padEnd(2, '0'));
  if (paise === 0n) return { ok: false, message: 'The amount must be greater than zero.' };
  if (paise > MAX_PAISE) return { ok: false, message: 'The amount is too large.' };
  return { ok: true, paise };
}

/** Groups an unsigned digit string the Indian way: 12,34,56,789. */
function groupIndian(digits: string): string {
  if (digits.length <= 3) return digits;
  const lastThree = digits.slice(-3);
  let head = digits.slice(0, -3);
  const pairs: string[] = [];
  while (head.length > 2) {
    pairs.unshift(head.slice(-2));
    head = head.slice(0, -2);
  }
  pairs.unshift(head);
  return `${pairs.join(',')},${lastThree}`;
}

function toBigInt(paise: Paise | string): bigint {
  if (typeof paise === 'bigint') return paise;
  if (typeof paise === 'number') {
    if (!Number.isSafeInteger(paise)) throw new RangeError(`Not an exact integer amount of paise: ${paise}`);
    return BigInt(paise);
  }
  if (!/^-?\d+$/.test(paise)) throw new RangeError(`Not an integer amount of paise: ${paise}`);
  return BigInt(paise);
}

export interface FormatOptions {
  /** `always` prefixes credits with "+" (for ledger amounts). */
  sign?: 'auto' | 'always';
}

/** Formats integer paise as rupees: 12345678 -> "₹1,23,456.78", -5 -> "-₹0.05". */
export function formatPaise(paise: Paise | string, { sign = 'auto' }: FormatOptions = {}): string {
  const value = toBigInt(paise);
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  const rupees = (magnitude / 100n).toString();
  const remainder = (magnitude % 100n).toString().padStart(2, '0');
  const prefix = negative ? '-' : sign === 'always' && value > 0n ? '+' : '';
  return `${prefix}₹${groupIndian(rupees)}.${remainder}`;
}
