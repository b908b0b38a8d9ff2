/**
 * What a merchant may attach to a payout (CONTRACT §9), checked as the API
 * checks it, so the form says what is wrong before anything is sent.
 */

/** 1 to 40 of A-Z a-z 0-9 _ - . ; unique among the merchant's payouts. */
export const REFERENCE_ID_PATTERN = /^[A-Za-z0-9_.-]{1,40}$/;
/** 1 to 30 printable ASCII characters (what bank narrations carry). */
export const NARRATION_PATTERN = /^[ -~]{1,30}$/;

export type AttachmentCheck = { ok: true; value: string | undefined } | { ok: false; message: string };

/** An optional reference: blank is none. */
export function checkReference(raw: string): AttachmentCheck {
  const value = raw.trim();
  if (value === '') return { ok: true, value: undefined };
  if (value.length > 40) return { ok: false, message: 'A reference is at most 40 characters.' };
  if (!REFERENCE_ID_PATTERN.test(value)) {
    return { ok: false, message: 'A reference uses only letters, digits and _ - . (no spaces).' };
  }
  return { ok: true, value };
}

/** An optional narration: blank is none. */
export function checkNarration(raw: string): AttachmentCheck {
  const value = raw.trim();
  if (value === '') return { ok: true, value: undefined };
  if (value.length > 30) return { ok: false, message: 'A narration is at most 30 characters.' };
  if (!NARRATION_PATTERN.test(value)) {
    return { ok: false, message: 'A narration uses only plain letters, digits, spaces and punctuation.' };
  }
  return { ok: true, value };
}
