// The two API styles the API sources speak (test/support/api-server.ts has
// their fixture version, which misbehaves on demand), served from the
// generated exports at any volume: each stream is a DuckDB table in
// (cursor, key) order, numbered, and a page is one range of those numbers,
// turned into JSON by DuckDB. Values are text, as the exports have them.
//   cursor style (HubSpot): GET /crm/v3/objects/<stream>?limit&after&updated_since -> {results, paging.next.after}
//   offset style (Mailchimp): GET /3.0/<campaigns|activity>?count&offset&since -> {<items key>, total_items}
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

import { CRM_TABLES } from '../pipelines/demo/postgres.ts';
import { crmApi } from '../pipelines/sources/crm_api/index.ts';
import { queryRows, sqlIdentifier, sqlString } from '../pipelines/warehouse.ts';

interface BenchRoute {
  style: 'cursor' | 'offset';
  table: string;
  itemsKey: string;
  cursor: string;
  columns: string[];
}

export interface BenchApi {
  url: string;
  token: string;
  /** Records served per route path. */
  records: Record<string, number>;
  close(): Promise<void>;
}

/** Numbers the rows of `reader` in (cursor, key) order into `table`; returns its column names. */
async function loadRoute(connection: DuckDBConnection, table: string, reader: string, cursor: string, key: string): Promise<string[]> {
  await connection.run(
    `create table ${table} as
     select row_number() over (order by try_cast(${cursor} as timestamptz) nulls last, ${key}) as _n, *
     from (select *, ${cursor} as _cursor from ${reader}) order by _n`,
  );
  const columns = await queryRows<{ name: string }>(connection, `select column_name as name from information_schema.columns where table_name = '${table}' order by ordinal_position`);
  return columns.map((column) => column.name).filter((name) => !name.startsWith('_'));
}

export async function startBenchApi(sources: string, token = 'bench-token'): Promise<BenchApi> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run("set TimeZone = 'UTC'");
  const csv = (file: string) => `read_csv(${sqlString(file)}, header = true, all_varchar = true, ignore_errors = true, union_by_name = true)`;
  const routes = new Map<string, BenchRoute>();
  // The entities the CRM API serves (crm_api's streams).
  for (const stream of crmApi.streams) {
    const table = CRM_TABLES.find((crmTable) => crmTable.name === stream.name);
    if (!table) continue;
    // The CRM's updated_at: the export's own, or the time of the entity, as in the demo database.
    const reader = `(select *${table.name === 'contacts' ? '' : `, ${table.updatedAt} as updated_at`} from ${csv(path.join(sources, 'crm', `${table.name}.csv`))})`;
    const columns = await loadRoute(connection, table.name, reader, 'updated_at', table.key.join(', '));
    routes.set(stream.path, { style: 'cursor', table: table.name, itemsKey: 'results', cursor: 'updated_at', columns });
  }
  const campaigns = `(select *, scheduled_at as updated_at from ${csv(path.join(sources, 'email', 'campaigns*.csv'))})`;
  routes.set('/3.0/campaigns', { style: 'offset', table: 'campaigns', itemsKey: 'campaigns', cursor: 'updated_at', columns: await loadRoute(connection, 'campaigns', campaigns, 'updated_at', 'campaign_id') });
  const activity = csv(path.join(sources, 'email', 'email_events*.csv'));
  routes.set('/3.0/activity', { style: 'offset', table: 'activity', itemsKey: 'activity', cursor: 'occurred_at', columns: await loadRoute(connection, 'activity', activity, 'occurred_at', 'event_id') });

  const records: Record<string, number> = {};
  for (const [route, { table }] of routes) {
    const [row] = await queryRows<{ n: bigint }>(connection, `select count(*) as n from ${table}`);
    records[route] = Number(row?.n ?? 0);
  }

  /** The number of the first row changed at or after `since` (the first row without it; past the end when none is). */
  const firstRow = async (route: BenchRoute, since: string | null) => {
    if (!since) return 1;
    const [row] = await queryRows<{ first: bigint | null }>(
      connection,
      `select min(_n) as first from ${route.table} where try_cast(_cursor as timestamptz) >= ${sqlString(since)}::timestamptz`,
    );
    return row?.first === null || row?.first === undefined ? Number.MAX_SAFE_INTEGER : Number(row.first);
  };
  /** Up to `limit` rows from row number `from` on, as a JSON array, with the last row number served and the table's last. */
  const page = async (route: BenchRoute, from: number, limit: number) => {
    const fields = route.columns.map((name) => `${sqlString(name)}, ${sqlIdentifier(name)}`).join(', ');
    const [row] = await queryRows<{ page: string | null; last: bigint | null; end: bigint | null }>(
      connection,
      `select coalesce(json_group_array(json_object(${fields})), '[]') as page, max(_n) as last, (select max(_n) from ${route.table}) as "end"
       from (select * from ${route.table} where _n >= ${from} order by _n limit ${limit})`,
    );
    return { json: row?.page ?? '[]', last: row?.last == null ? undefined : Number(row.last), end: Number(row?.end ?? 0) };
  };

  const server = http.createServer((request, response) => {
    const answer = (status: number, body: string) => response.writeHead(status, { 'content-type': 'application/json' }).end(body);
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (request.headers.authorization !== `Bearer ${token}`) return answer(401, '{"message":"invalid token"}');
    const route = routes.get(url.pathname);
    if (!route) return answer(404, '{"message":"no such path"}');
    const number = (name: string, fallback: number) => Number(url.searchParams.get(name) ?? fallback);
    const work = (async () => {
      if (route.style === 'cursor') {
        // The paging token is the number of the last row served.
        const after = url.searchParams.get('after');
        const from = after ? Number(after) + 1 : await firstRow(route, url.searchParams.get('updated_since'));
        const { json, last, end } = await page(route, from, number('limit', 100));
        const paging = last !== undefined && last < end ? `{"next":{"after":"${last}"}}` : '{}';
        return `{"results":${json},"paging":${paging}}`;
      }
      const first = await firstRow(route, url.searchParams.get('since'));
      const { json, end } = await page(route, first + number('offset', 0), number('count', 100));
      return `{"${route.itemsKey}":${json},"total_items":${Math.max(0, end - first + 1)}}`;
    })();
    work.then(
      (body) => answer(200, body),
      (error: Error) => answer(500, JSON.stringify({ message: error.message })),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    records,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          connection.closeSync();
          instance.closeSync();
          resolve();
        });
      }),
  };
}
