/**
 * Cursor pages of the API: `{"results", "next", "previous"}`, where `next` and
 * `previous` are URLs (or null) that carry the cursor and every other query
 * parameter of the request (limit, filters).
 */

/**
 * The query string of a page link (`?cursor=…&limit=…`), or undefined when
 * there is no such page. The link is re-based on our own API URL: behind a
 * proxy the server may build it with an internal host or plain http.
 */
export function cursorFromLink(link: string | null): string | undefined {
  if (!link) return undefined;
  try {
    const search = new URL(link, 'http://placeholder.invalid').search;
    return search || undefined;
  } catch {
    return undefined;
  }
}
