const DEFAULT_API_URL = 'http://localhost:8000';

/** Origin of the payout API, without a trailing slash. Paths live under /api/v1. */
export const API_URL = (import.meta.env.VITE_API_URL || DEFAULT_API_URL).replace(/\/+$/, '');

export const API_BASE = `${API_URL}/api/v1`;
