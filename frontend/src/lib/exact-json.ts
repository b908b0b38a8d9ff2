/**
 * JSON that keeps large integers exact.
 *
 * `JSON.parse` turns 9223372036854775807 into 9223372036854775808: every
 * integer beyond 2^53 loses its last digits. Amounts of paise may be that
 * large, so integers outside the safe range are read as `bigint`, and
 * `bigint` values are written back as plain JSON integers. Integers within
 * the safe range stay ordinary numbers.
 */

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isNumberChar(code: number): boolean {
  // digits . e E + -
  return isDigit(code) || code === 46 || code === 101 || code === 69 || code === 43 || code === 45;
}

function marker(): string {
  // Random per call, so no string the server sends can be mistaken for it.
  return `@exact-int-${Math.random().toString(36).slice(2)}:`;
}

export function parseJsonExact(text: string): unknown {
  const tag = marker();
  let rewritten = '';
  let copiedUpTo = 0;
  let inString = false;
  let i = 0;

  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 92 /* \ */) i += 2;
      else {
        if (code === 34 /* " */) inString = false;
        i += 1;
      }
      continue;
    }
    if (code === 34) {
      inString = true;
      i += 1;
      continue;
    }
    if (code === 45 || isDigit(code)) {
      let end = i + 1;
      while (end < text.length && isNumberChar(text.charCodeAt(end))) end += 1;
      const token = text.slice(i, end);
      if (/^-?\d+$/.test(token) && !Number.isSafeInteger(Number(token))) {
        rewritten += text.slice(copiedUpTo, i) + JSON.stringify(tag + token);
        copiedUpTo = end;
      }
      i = end;
      continue;
    }
    i += 1;
  }

  if (copiedUpTo === 0) return JSON.parse(text);
  rewritten += text.slice(copiedUpTo);
  return JSON.parse(rewritten, (_key, value: unknown) =>
    typeof value === 'string' && value.startsWith(tag) ? BigInt(value.slice(tag.length)) : value,
  );
}

export function stringifyJsonExact(value: unknown): string {
  const tag = marker();
  const json = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? tag + v.toString() : v));
  return json.replace(new RegExp(`"${tag}(-?\\d+)"`, 'g'), '$1');
}
