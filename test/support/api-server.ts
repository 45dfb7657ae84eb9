// A real HTTP server on 127.0.0.1 that implements the two API styles the API
// sources speak, from fixture records, and misbehaves on demand.
//   cursor style (HubSpot): GET <path>?limit&after&updated_since -> {results, paging.next.after}
//   offset style (Mailchimp): GET <path>?count&offset&since -> {<items key>, total_items}
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Route {
  style: 'cursor' | 'offset';
  /** offset style: the key of the records array. */
  itemsKey?: string;
  cursorField: string;
  keyField: string;
  records: Record<string, unknown>[];
}

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
  requests: { path: string; params: URLSearchParams; authorization?: string; at: number }[];
  /** Delay of every answer, to make a long run. */
  delayMs: number;
  close(): Promise<void>;
}

export async function startApiServer(routes: Record<string, Route>, token = 'test-token-123'): Promise<ApiServer> {
  const state: Omit<ApiServer, 'url' | 'close'> = { token, routes: new Map(Object.entries(routes)), faults: [], requests: [], delayMs: 0 };
  const lastPage = new Map<string, string>();
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    state.requests.push({ path: url.pathname, params: url.searchParams, authorization: request.headers.authorization, at: Date.now() });
    const answer = (status: number, body: string, headers: Record<string, string> = {}) => {
      setTimeout(() => response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body), state.delayMs);
    };
    if (request.headers.authorization !== `Bearer ${state.token}`) return answer(401, '{"message":"invalid token"}');
    const route = state.routes.get(url.pathname);
    if (!route) return answer(404, '{"message":"no such path"}');
    const fault = state.faults.shift();
    if (fault?.kind === 'status') return answer(fault.status, '{"message":"fault"}', fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
    if (fault?.kind === 'repeat' && lastPage.has(url.pathname)) return answer(200, lastPage.get(url.pathname)!);
    if (fault?.kind === 'body') return answer(200, fault.body, { 'content-type': 'text/html' });

    const since = url.searchParams.get(route.style === 'cursor' ? 'updated_since' : 'since');
    const matching = route.records
      .filter((record) => !since || Date.parse(String(record[route.cursorField])) >= Date.parse(since))
      .sort(
        (a, b) =>
          Date.parse(String(a[route.cursorField])) - Date.parse(String(b[route.cursorField])) || String(a[route.keyField]).localeCompare(String(b[route.keyField])),
      );
    let body: string;
    if (route.style === 'cursor') {
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
