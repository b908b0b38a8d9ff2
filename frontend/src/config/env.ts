const DEFAULT_API_URL = 'http://localhost:8000';

/**
 * Origin of the payout API, without a trailing slash. Paths live under /api/v1.
 * Empty (VITE_API_URL="" or "/") means the page's own origin, as when the API
 * serves the built dashboard itself.
 */
export const API_URL = (import.meta.env.VITE_API_URL ?? DEFAULT_API_URL).replace(/\/+$/, '');

export const API_BASE = `${API_URL}/api/v1`;

/** Where the API is, for messages to people. */
export const API_DISPLAY_URL = API_URL || (typeof window === 'undefined' ? '' : window.location.origin);
