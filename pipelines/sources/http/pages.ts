// Reading an API's answers: a page's array of records, the token of the next
// page (HubSpot's paging.next.after), and offset paging (Mailchimp's count and
// offset until total_items), each answer checked at the edge.
import { StreamError } from '../files.ts';
import type { ApiClient } from './client.ts';

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

/** How a reader asks for pages: through this client, at this pace, this many records a page. */
export interface PageRequests {
  client: ApiClient;
  /** Awaited before each request. */
  pageTurn: () => Promise<void>;
  pageSize: number;
}

/**
 * The pages of an offset-paged list (`count` and `offset`, until
 * `total_items`), each with its URL; `params` go with every request (a
 * since-filter, say).
 */
export async function* offsetPages(
  requests: PageRequests,
  path: string,
  itemsKey: string,
  params: Record<string, string | number | undefined> = {},
): AsyncGenerator<{ records: Record<string, unknown>[]; url: string }> {
  for (let offset = 0; ; ) {
    await requests.pageTurn();
    const query = { ...params, count: requests.pageSize, offset };
    const url = requests.client.describe(path, query);
    const page = await requests.client.getJson(path, query);
    const records = recordsOf(page, itemsKey, url);
    offset += records.length;
    const total = Number((page as { total_items?: unknown }).total_items);
    yield { records, url };
    if (!records.length || !Number.isFinite(total) || offset >= total) return;
  }
}
