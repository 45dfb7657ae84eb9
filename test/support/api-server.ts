// A real HTTP server on 127.0.0.1 that implements the API styles the API
// sources speak, from fixture records, and misbehaves on demand.
//   cursor style (HubSpot-like): GET <path>?limit&after&updated_since -> {results, paging.next.after}
//   offset style (Mailchimp): GET <path>?count&offset&since -> {<items key>, total_items}, optionally
//     filtered on fields equal to query parameters (status=sent), and with the since-filter on the times of
//     a nested list instead (a Mailchimp email-activity report: each recipient's activity since then);
//     the token taken as a bearer token or as the password of HTTP Basic, as Mailchimp takes its keys
//   search style (HubSpot's CRM search, at <path>/search): POST {filterGroups, sorts, properties, limit, after}
//     -> {total, results: [{id, properties, archived}], paging.next.after}, the properties asked for alone,
//     and a 400 past 10,000 results, as HubSpot answers; archived records at GET <path>?archived=true&limit&after;
//     associations at
//     POST /crm/v4/associations/<from>/<to>/batch/read {inputs: [{id}]} -> {results: [{from: {id}, to: [{toObjectId}]}]}
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Route {
  style: 'cursor' | 'offset' | 'search';
  /** offset style: the key of the records array. */
  itemsKey?: string;
  /** search style: a property of the records' `properties`. */
  cursorField: string;
  keyField: string;
  records: Record<string, unknown>[];
  /** search style: archived records, never searched, listed at GET <path>?archived=true. */
  archived?: Record<string, unknown>[];
  /** offset style: query parameters that, when sent, keep the records whose field of that name equals them. */
  equalParams?: string[];
  /** offset style: the since-filter keeps the entries of this list field whose `timestamp` is at or after it, and the records with any left. */
  nestedSince?: string;
}

/** A HubSpot search pages no further than this many results. */
export const SEARCH_RESULT_CAP = 10_000;

export type Fault =
  | { kind: 'status'; status: number; retryAfter?: string }
  | { kind: 'truncate' }
  | { kind: 'slow'; ms: number }
  /** Answers with the previous page of this route again (its records and its next token). */
  | { kind: 'repeat' }
  /** cursor style: this page's next token points back to the first page. */
  | { kind: 'rewind' }
  /** Answers 200 with this body instead of the page. */
  | { kind: 'body'; body: string };

export interface ApiServer {
  url: string;
  token: string;
  routes: Map<string, Route>;
  /** Used up one per request, in order. */
  faults: Fault[];
  requests: { path: string; params: URLSearchParams; authorization?: string; at: number; body?: unknown }[];
  /** search style: `<from>/<to>` -> record id -> ids of the records it is associated with. */
  associations: Record<string, Record<string, string[]>>;
  /** Delay of every answer, to make a long run. */
  delayMs: number;
  close(): Promise<void>;
}

export async function startApiServer(routes: Record<string, Route>, token = 'test-token-123'): Promise<ApiServer> {
  const state: Omit<ApiServer, 'url' | 'close'> = { token, routes: new Map(Object.entries(routes)), faults: [], requests: [], delayMs: 0, associations: {} };
  const lastPage = new Map<string, string>();
  const server = http.createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    let text = '';
    for await (const chunk of request) text += chunk;
    let requestBody: Record<string, unknown> | undefined;
    try {
      requestBody = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    } catch {
      requestBody = undefined;
    }
    state.requests.push({ path: url.pathname, params: url.searchParams, authorization: request.headers.authorization, at: Date.now(), body: requestBody });
    const answer = (status: number, body: string, headers: Record<string, string> = {}) => {
      setTimeout(() => response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body), state.delayMs);
    };
    const basicPassword = /^Basic (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const password = basicPassword === undefined ? undefined : Buffer.from(basicPassword, 'base64').toString().split(':').slice(1).join(':');
    if (request.headers.authorization !== `Bearer ${state.token}` && password !== state.token) return answer(401, '{"message":"invalid token"}');
    const associated = /^\/crm\/v4\/associations\/([^/]+)\/([^/]+)\/batch\/read$/.exec(url.pathname);
    if (associated && request.method === 'POST') {
      const table = state.associations[`${associated[1]}/${associated[2]}`] ?? {};
      const inputs = (requestBody?.inputs ?? []) as { id: string }[];
      const results = inputs.filter(({ id }) => table[id]?.length).map(({ id }) => ({ from: { id }, to: table[id]!.map((to) => ({ toObjectId: Number(to), associationTypes: [] })) }));
      return answer(results.length === inputs.length ? 200 : 207, JSON.stringify({ status: 'COMPLETE', results }));
    }
    const searched = request.method === 'POST' && url.pathname.endsWith('/search');
    const route = state.routes.get(searched ? url.pathname.slice(0, -'/search'.length) : url.pathname);
    const archivedList = route?.style === 'search' && request.method === 'GET' && url.searchParams.get('archived') === 'true';
    if (!route || (searched !== (route.style === 'search') && !archivedList)) return answer(404, '{"message":"no such path"}');
    const fault = state.faults.shift();
    if (fault?.kind === 'status') return answer(fault.status, '{"message":"fault"}', fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
    if (fault?.kind === 'repeat' && lastPage.has(url.pathname)) return answer(200, lastPage.get(url.pathname)!);
    if (fault?.kind === 'body') return answer(200, fault.body, { 'content-type': 'text/html' });

    const since = url.searchParams.get(route.style === 'cursor' ? 'updated_since' : 'since');
    const atOrAfterSince = (time: unknown) => !since || Date.parse(String(time)) >= Date.parse(since);
    const matching = route.records
      .filter((record) => (route.equalParams ?? []).every((param) => !url.searchParams.has(param) || record[param] === url.searchParams.get(param)))
      .map((record) => {
        if (!route.nestedSince) return record;
        const entries = (record[route.nestedSince] as { timestamp: string }[]).filter((entry) => atOrAfterSince(entry.timestamp));
        return { ...record, [route.nestedSince]: entries };
      })
      .filter((record) => (route.nestedSince ? (record[route.nestedSince] as unknown[]).length > 0 : atOrAfterSince(record[route.cursorField])))
      .sort(
        (a, b) =>
          Date.parse(String(a[route.cursorField])) - Date.parse(String(b[route.cursorField])) || String(a[route.keyField]).localeCompare(String(b[route.keyField])),
      );
    let body: string;
    if (archivedList) {
      const start = Number(url.searchParams.get('after') ?? 0);
      const limit = Number(url.searchParams.get('limit') ?? 10);
      const archived = route.archived ?? [];
      const results = archived.slice(start, start + limit).map((record) => ({ id: record.id, properties: { hs_object_id: record.id }, archived: true }));
      body = JSON.stringify({ results, ...(start + limit < archived.length ? { paging: { next: { after: String(start + limit) } } } : {}) });
    } else if (route.style === 'search') {
      const search = requestBody as { filterGroups?: { filters: { propertyName: string; operator: string; value: string }[] }[]; properties?: string[]; limit?: number; after?: string };
      const valueOf = (record: Record<string, unknown>, property: string) => (record.properties as Record<string, unknown>)[property];
      const filters = search.filterGroups?.[0]?.filters ?? [];
      const found = route.records
        .filter((record) => filters.every((filter) => filter.operator === 'GTE' && Date.parse(String(valueOf(record, filter.propertyName))) >= Number(filter.value)))
        .sort((a, b) => Date.parse(String(valueOf(a, route.cursorField))) - Date.parse(String(valueOf(b, route.cursorField))) || Number(a.id) - Number(b.id));
      const start = Number(search.after ?? 0);
      const limit = search.limit ?? 10;
      if (start >= SEARCH_RESULT_CAP) return answer(400, JSON.stringify({ status: 'error', message: 'There was a problem with the request.', category: 'VALIDATION_ERROR' }));
      const asked = new Set([...(search.properties ?? []), 'hs_object_id']);
      const results = found.slice(start, start + limit).map((record) => ({
        ...record,
        properties: Object.fromEntries(Object.entries(record.properties as Record<string, unknown>).filter(([name]) => asked.has(name))),
      }));
      const next = start + limit < found.length ? { next: { after: String(start + limit), link: `${url.pathname}?after=${start + limit}` } } : undefined;
      body = JSON.stringify({ total: found.length, results, ...(next ? { paging: next } : {}) });
    } else if (route.style === 'cursor') {
      const start = Number(Buffer.from(url.searchParams.get('after') ?? 'MA==', 'base64').toString() || 0);
      const limit = Number(url.searchParams.get('limit') ?? 100);
      const results = matching.slice(start, start + limit);
      const nextStart = fault?.kind === 'rewind' ? 0 : start + limit;
      const next = start + limit < matching.length ? { next: { after: Buffer.from(String(nextStart)).toString('base64') } } : {};
      body = JSON.stringify({ results, paging: next });
    } else {
      const offset = Number(url.searchParams.get('offset') ?? 0);
      const count = Number(url.searchParams.get('count') ?? 100);
      body = JSON.stringify({ [route.itemsKey ?? 'items']: matching.slice(offset, offset + count), total_items: matching.length });
    }
    lastPage.set(url.pathname, body);
    if (fault?.kind === 'truncate') return answer(200, body.slice(0, Math.floor(body.length / 2)));
    if (fault?.kind === 'slow') {
      setTimeout(() => answer(200, body), fault.ms);
      return;
    }
    answer(200, body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  }) as ApiServer;
}
