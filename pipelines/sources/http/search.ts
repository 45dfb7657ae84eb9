// HubSpot's CRM search, the one way its API filters records by when they
// changed: POST <object path>/search with the since-filter on the cursor
// property, sorted by it, `after` in the body. A search answers with the
// properties asked for alone, nested under `properties`; associations (an
// order's contact) are read for each page from the associations API. A
// search never answers with archived (deleted) records: they are listed
// apart (GET <object path>?archived=true), with no filter on when.
import { StreamError } from '../files.ts';
import type { ApiStreamDefinition } from '../types.ts';
import type { ApiClient } from './client.ts';
import { nextAfter, recordsOf } from './pages.ts';
import type { ResolvedApiStream } from './extract.ts';

/** A search pages no further than this many results; the next query starts at the newest cursor value read. */
export const SEARCH_RESULT_CAP = 10_000;

export interface SearchRequest {
  filterGroups: { filters: { propertyName: string; operator: 'GTE'; value: string }[] }[];
  sorts: { propertyName: string; direction: 'ASCENDING' }[];
  properties: string[];
  limit: number;
  after?: string;
}

/** The properties a search asks for: the stream's, its cursor's, and those its map and where read (`_json ->> 'name'`). */
function askedProperties(stream: ResolvedApiStream): string[] {
  const sql = [...Object.values(stream.map ?? {}), stream.where ?? ''].join(' ');
  // _json->>'name', _json -> 'name' or _json ->> '$.name'
  const read = [...sql.matchAll(/_json\s*->>?\s*'(?:\$\.)?([A-Za-z0-9_]+)'/g)].map((match) => match[1]!);
  // id and archived come with every record, association fields from the associations API.
  const given = new Set(['id', 'archived', ...Object.keys(stream.associations ?? {})]);
  return [...new Set([...(stream.properties ?? []), stream.cursorField, ...read])].filter((property) => !given.has(property));
}

/** The body of one search page: records whose cursor property is at or after `since` (ISO time), oldest first. */
export function searchRequest(stream: ResolvedApiStream, since: string | undefined, after: string | undefined, limit: number): SearchRequest {
  const filters = [];
  if (since !== undefined) {
    const ms = Date.parse(since);
    if (Number.isNaN(ms)) throw new StreamError(`${stream.name}: the watermark "${since}" is not a time, so the search cannot filter on it`);
    // HubSpot compares date-time properties with milliseconds since the epoch.
    filters.push({ propertyName: stream.cursorField, operator: 'GTE' as const, value: String(ms) });
  }
  return {
    filterGroups: filters.length ? [{ filters }] : [],
    sorts: [{ propertyName: stream.cursorField, direction: 'ASCENDING' }],
    properties: askedProperties(stream),
    limit,
    ...(after === undefined ? {} : { after }),
  };
}

/** The origin a page's rows are recorded under: the URL, and what the body asked. */
export function describeSearch(url: string, request: SearchRequest): string {
  const since = request.filterGroups[0]?.filters[0];
  return `POST ${url} after=${request.after ?? 0}${since ? ` ${since.propertyName}>=${new Date(Number(since.value)).toISOString()}` : ''}`;
}

interface SearchRecord {
  id?: unknown;
  archived?: unknown;
  properties?: Record<string, unknown>;
}

interface AssociationResult {
  from?: { id?: unknown };
  to?: { toObjectId?: unknown }[];
}

/**
 * A page's records as flat objects: their properties beside `id` and
 * `archived`, and each association field the id of the first record of its
 * object type the record is associated with (null when there is none).
 */
export async function flattenSearchRecords(client: ApiClient, stream: ApiStreamDefinition, records: Record<string, unknown>[], origin: string): Promise<Record<string, unknown>[]> {
  const flat = records.map((record) => {
    const { id, archived, properties } = record as SearchRecord;
    if (id === undefined || id === null) throw new StreamError(`${origin}: a record without an id`);
    return { ...properties, id: String(id), archived: archived ?? null } as Record<string, unknown>;
  });
  const fromType = stream.path.split('/').filter(Boolean).at(-1)!;
  for (const [field, toType] of Object.entries(stream.associations ?? {})) {
    const path = `/crm/v4/associations/${fromType}/${toType}/batch/read`;
    const answer = await client.postJson(path, { inputs: flat.map((record) => ({ id: record.id })) });
    const results = recordsOf(answer, 'results', client.describe(path, {})) as AssociationResult[];
    const firstAssociated = new Map<string, string>();
    for (const result of results) {
      const to = result.to?.[0]?.toObjectId;
      if (result.from?.id !== undefined && to !== undefined && to !== null) firstAssociated.set(String(result.from.id), String(to));
    }
    for (const record of flat) record[field] = firstAssociated.get(record.id as string) ?? null;
  }
  return flat;
}

/** Records per page of the archived list (HubSpot's most). */
const ARCHIVED_PAGE_SIZE = 100;

/**
 * Calls `onPage` with the ids of each page of the object's archived
 * records: HubSpot lists them apart, all of them every time (the list has no
 * filter on when a record was archived).
 */
export async function forEachArchivedPage(client: ApiClient, stream: ApiStreamDefinition, onPage: (ids: string[], origin: string) => Promise<void>): Promise<void> {
  const seen = new Set<string>();
  let after: string | undefined;
  for (;;) {
    const params = { archived: 'true', limit: ARCHIVED_PAGE_SIZE, properties: 'hs_object_id', after };
    const origin = client.describe(stream.path, params);
    const page = await client.getJson(stream.path, params);
    const ids = (recordsOf(page, 'results', origin) as SearchRecord[]).map((record) => record.id).filter((id) => id !== undefined && id !== null).map(String);
    if (ids.length) await onPage(ids, origin);
    after = nextAfter(page);
    if (after === undefined) return;
    if (seen.has(after)) throw new StreamError(`${origin}: the server sent the paging token "${after}" again; stopping instead of looping`);
    seen.add(after);
  }
}
