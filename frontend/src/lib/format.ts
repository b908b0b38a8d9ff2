/** Display helpers for times and identifiers. Times arrive as ISO 8601 UTC and show in local time. */

const dateTime = new Intl.DateTimeFormat('en-IN', {
  day: 'numeric',
  month: 'short',
  hour: 'numeric',
  minute: '2-digit',
  second: '2-digit',
});

const fullDateTime = new Intl.DateTimeFormat('en-IN', { dateStyle: 'full', timeStyle: 'long' });

export function formatDateTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateTime.format(date);
}

export function formatFullDateTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : fullDateTime.format(date);
}

/** UUIDs are long; the first block is enough to tell payouts apart on screen. */
export function shortId(id: string | number): string {
  const text = String(id);
  return text.length > 12 ? text.slice(0, 8) : `#${text}`;
}
