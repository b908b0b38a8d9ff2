/**
 * Random (version 4) UUIDs that work in every context.
 *
 * `crypto.randomUUID()` exists only in secure contexts (HTTPS or localhost):
 * a dashboard opened over plain HTTP on a LAN address has no such function,
 * and every payout submit would throw. `crypto.getRandomValues()` is available
 * everywhere, so the UUID is formatted by hand from 16 random bytes (RFC 9562
 * §5.4): 122 random bits, the version nibble set to 4 and the variant bits to
 * 10. No dependency is needed for ten lines; the `uuid` package does the same.
 */

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

export function uuidV4(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40; // version 4
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // variant 10xx
  const hex = Array.from(bytes, (byte) => HEX[byte]!);
  return [
    hex.slice(0, 4).join(''),
    hex.slice(4, 6).join(''),
    hex.slice(6, 8).join(''),
    hex.slice(8, 10).join(''),
    hex.slice(10, 16).join(''),
  ].join('-');
}
