// The report step. The Evidence app never opens the live warehouse: first the
// marts and reports schemas, and the run log's health tables, are copied into
// a snapshot file (while the run holds the warehouse lock), then Evidence
// builds the static site from it, and the full customer lists are exported
// beside the site.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { createReadStream, statSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

import { runChild } from './child.ts';
import { publishStandardLists } from './export.ts';
import type { Logger } from './log.ts';
import { REPORT_BUILD_DIR, REPORT_SNAPSHOT_PATH, REPORTS_DIR } from './paths.ts';
import { openWarehouse, queryRows, sqlIdentifier, sqlString } from './warehouse.ts';

/** Schemas the report may read; everything else stays out of the snapshot. */
export const REPORTED_SCHEMAS = ['marts', 'reports'] as const;

/**
 * The Data health page's tables, taken from the pipeline's own records in
 * _meta into the snapshot's `health` schema. Quarantined rows are counted by
 * reason, never copied: a raw record may hold contact details.
 */
const HEALTH_TABLES: Record<string, string> = {
  pipeline_runs: `
    select
      run_id, command, array_to_string(steps, ' -> ') as steps, started_at, ended_at, status, error,
      date_diff('millisecond', started_at, coalesce(ended_at, now()::timestamp)) / 1000.0 as seconds
    from live_warehouse._meta.pipeline_runs
    order by started_at desc
    limit 100`,
  stream_loads: `
    select source, stream, 'files' as loaded_by, count(*) as loads, sum(rows_read) as rows_read,
      sum(rows_loaded) as rows_loaded, sum(rows_quarantined) as rows_quarantined, max(loaded_at) as last_loaded_at
    from live_warehouse._meta.loaded_files
    group by source, stream
    union all
    select source, stream, 'cursor' as loaded_by, null as loads, null as rows_read,
      rows_loaded, null as rows_quarantined, updated_at as last_loaded_at
    from live_warehouse._meta.stream_state`,
  // The reasons the loader writes (pipelines/sources/files.ts) end in an
  // excerpt of the offending value or line; the excerpt is cut off here, so
  // rows group by the kind of fault and no record content leaves the warehouse.
  quarantine_reasons: `
    select source, stream, reason_kind as reason, count(*) as rows_quarantined, count(distinct origin) as origins,
      min(quarantined_at) as first_quarantined_at, max(quarantined_at) as last_quarantined_at
    from (
      select *, regexp_replace(
          regexp_replace(reason, '^(malformed JSON|not a JSON object|expected [^:]*): .*$', '\\1', 's'),
          '([A-Za-z0-9_]+: not a [A-Z ()0-9,]+): [^;]*', '\\1', 'g') as reason_kind
      from live_warehouse._meta.quarantine
    ) as quarantine
    group by source, stream, reason_kind`,
  dbt_results: `
    select unique_id, resource_type, name, status, failures, message, seconds, run_id, recorded_at
    from live_warehouse._meta.dbt_results
    where run_id = (select run_id from live_warehouse._meta.dbt_results order by recorded_at desc limit 1)`,
};

/**
 * Copies the reported schemas of the warehouse into `target`, atomically:
 * the snapshot is written beside it and renamed into place.
 */
export async function snapshotWarehouse(warehousePath: string, target = REPORT_SNAPSHOT_PATH): Promise<number> {
  if (!existsSync(warehousePath)) throw new Error(`No warehouse at ${warehousePath}: run \`tango run\` first`);
  mkdirSync(path.dirname(target), { recursive: true });
  const partial = `${target}.${process.pid}.partial`;
  rmSync(partial, { force: true });
  const instance = await DuckDBInstance.create(partial);
  const connection = await instance.connect();
  let tables: { table_schema: string; table_name: string }[];
  try {
    await connection.run(`attach ${sqlString(warehousePath)} as live_warehouse (read_only)`);
    tables = await queryRows(
      connection,
      `select table_schema, table_name from information_schema.tables
       where table_catalog = 'live_warehouse' and table_schema in (${REPORTED_SCHEMAS.map(sqlString).join(', ')})
       order by table_schema, table_name`,
    );
    for (const schema of REPORTED_SCHEMAS) await connection.run(`create schema if not exists ${sqlIdentifier(schema)}`);
    for (const { table_schema: schema, table_name: table } of tables) {
      const name = `${sqlIdentifier(schema)}.${sqlIdentifier(table)}`;
      await connection.run(`create table ${name} as select * from live_warehouse.${name}`);
    }
    await connection.run('create schema health');
    for (const [table, query] of Object.entries(HEALTH_TABLES)) await connection.run(`create table health.${sqlIdentifier(table)} as ${query}`);
    await connection.run('detach live_warehouse');
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  rmSync(`${partial}.wal`, { force: true });
  renameSync(partial, target);
  return tables.length;
}

/** Builds the static site into reports/build from the snapshot, with the exported lists in reports/build/exports. */
export async function buildSite(log: Logger): Promise<void> {
  if (!existsSync(REPORT_SNAPSHOT_PATH)) throw new Error(`No report snapshot at ${REPORT_SNAPSHOT_PATH}`);
  const evidence = path.join(REPORTS_DIR, 'node_modules', '.bin', 'evidence');
  if (!existsSync(evidence)) throw new Error(`The Evidence app is not installed in ${REPORTS_DIR}. Run: npm run setup`);
  // NODE_ENV from the caller (vitest sets "test") changes which pages Evidence
  // prerenders and breaks the build: a report build is always a production one.
  const env = { NODE_OPTIONS: '--max-old-space-size=4096', NODE_ENV: 'production' };
  log.info('report: loading the snapshot into Evidence');
  await runChild(evidence, ['sources'], { cwd: REPORTS_DIR, env, log, label: 'evidence sources' });
  log.info('report: building the site (about a minute)');
  // Evidence copies over what is there: start empty so no stale data lingers.
  rmSync(REPORT_BUILD_DIR, { recursive: true, force: true });
  await runChild(evidence, ['build'], { cwd: REPORTS_DIR, env, log, label: 'evidence build' });
  // The full lists go beside the site, where the Lists page links to them.
  const snapshot = await openWarehouse(REPORT_SNAPSHOT_PATH, { readOnly: true });
  try {
    const files = await publishStandardLists(snapshot.connection, path.join(REPORT_BUILD_DIR, 'exports'));
    log.info(`report: exported ${files.length} list file(s) to ${path.join(REPORT_BUILD_DIR, 'exports')}`);
  } finally {
    snapshot.close();
  }
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.arrow': 'application/vnd.apache.arrow.stream',
  '.parquet': 'application/vnd.apache.parquet',
  '.csv': 'text/csv; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
};

/** The file a URL path maps to in the built site, or undefined (never outside the site). */
function resolveSiteFile(root: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath.split('?')[0] ?? '/');
  } catch {
    return undefined;
  }
  const candidate = path.resolve(root, '.' + path.posix.normalize(decoded));
  if (candidate !== root && !candidate.startsWith(root + path.sep)) return undefined;
  for (const file of [candidate, path.join(candidate, 'index.html'), `${candidate}.html`]) {
    if (existsSync(file) && statSync(file).isFile()) return file;
  }
  return undefined;
}

/** The environment variable holding the password for serving beyond loopback. */
export const REPORT_PASSWORD_ENV = 'TANGO_REPORT_PASSWORD';

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** True when the request carries HTTP Basic credentials with this password (any user name). */
function hasPassword(request: http.IncomingMessage, password: string): boolean {
  const header = request.headers.authorization ?? '';
  if (!header.startsWith('Basic ')) return false;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const given = Buffer.from(decoded.slice(decoded.indexOf(':') + 1));
  const expected = Buffer.from(password);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Serves the built site; resolves once listening, with the URL. On loopback
 * it is open; bound anywhere else it needs the password in
 * $TANGO_REPORT_PASSWORD, asked for with HTTP Basic authentication.
 */
export async function serveSite(host: string, port: number, log: Logger, root = REPORT_BUILD_DIR): Promise<{ url: string; server: http.Server }> {
  if (!existsSync(path.join(root, 'index.html'))) throw new Error(`No built site in ${root}: run \`tango report build\` first`);
  const password = isLoopback(host) ? undefined : process.env[REPORT_PASSWORD_ENV];
  if (!isLoopback(host) && !password) {
    throw new Error(`Serving the report on ${host} (beyond this machine) needs a password: set ${REPORT_PASSWORD_ENV}`);
  }
  const server = http.createServer((request, response) => {
    if (password && !hasPassword(request, password)) {
      response.writeHead(401, { 'www-authenticate': 'Basic realm="Tango report", charset="UTF-8"', 'content-type': 'text/plain' });
      response.end('A password is required');
      return;
    }
    const file = resolveSiteFile(root, request.url ?? '/');
    if (!file || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(file ? 405 : 404, { 'content-type': 'text/plain' }).end(file ? 'Method not allowed' : 'Not found');
      return;
    }
    response.writeHead(200, {
      'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-length': statSync(file).size,
      'cache-control': 'no-cache',
    });
    if (request.method === 'HEAD') response.end();
    else createReadStream(file).pipe(response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new Error(`Cannot serve the report on ${host}:${port}: ${error.message}`, { cause: error })));
    server.listen(port, host, resolve);
  });
  const address = server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}/`;
  log.info(`report: serving ${root} at ${url}${password ? ' (password required)' : ''}`);
  return { url, server };
}
