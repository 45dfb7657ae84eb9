// Reading an API's answer: its array of records, and the token of the next
// page (HubSpot's paging.next.after), each checked at the edge.
import { StreamError } from '../files.ts';

/** The array of records in a page, or a clear error naming the page. */
export function recordsOf(page: unknown, itemsKey: string, url: string): Record<string, unknown>[] {
  const items = page && typeof page === 'object' ? (page as Record<string, unknown>)[itemsKey] : undefined;
  if (!Array.isArray(items)) throw new StreamError(`${url}: unexpected answer, no array at "${itemsKey}"`);
  return items as Record<string, unknown>[];
}

/** The token of the next page (paging.next.after), or undefined on the last page. */
export function nextAfter(page: unknown): string | undefined {
  const after = (page as { paging?: { next?: { after?: unknown } } }).paging?.next?.after;
  return after === undefined || after === null || after === '' ? undefined : String(after);
}
