import { useEffect, useState } from 'react';

/**
 * The dashboard's pages live in the URL's hash (`#/payouts/42`), so a reload or
 * a shared link opens the same page, and the API's origin serves one file.
 * A route is its path segments: `#/payouts/42` is `['payouts', '42']`.
 */
export function parseHash(hash: string): string[] {
  return hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter((segment) => segment.length > 0)
    .map((segment) => decodeURIComponent(segment));
}

export function hashFor(segments: readonly (string | number)[]): string {
  return `#/${segments.map((segment) => encodeURIComponent(String(segment))).join('/')}`;
}

export function navigate(segments: readonly (string | number)[]): void {
  window.location.hash = hashFor(segments);
}

export function useHashRoute(): string[] {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const update = () => setRoute(parseHash(window.location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}
