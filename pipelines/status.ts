// `tango status`: what the warehouse holds of each configured source and
// stream (rows, rows flagged deleted, quarantined rows, files loaded, the
// watermark, when rows last came) and how the last runs went, from the
// warehouse's own tables, without changing anything.
import { statSync } from 'node:fs';
import type { DuckDBConnection } from '@duckdb/node-api';

import type { Config } from './config.ts';
import { rawSchema } from './sources/files.ts';
import { SOURCE_KIND_REGISTRY } from './sources/registry.ts';
import { queryRows, sqlIdentifier } from './warehouse.ts';

export interface StreamStatus {
  source: string;
  kind: string;
  stream: string;
  /** Rows in raw_<source>.<stream>; null when the table does not exist yet. */
  rows: number | null;
  /** Rows flagged is_deleted (soft deletes in the source). */
  deleted: number;
  quarantined: number;
  /** Files loaded, for file sources; null for databases and APIs. */
  files: number | null;
  /** Database and API streams: the cursor value the next run starts from. */
  watermark: string | null;
  /** When rows last came (UTC, ISO), from the rows' _loaded_at. */
  lastLoadedAt: string | null;
}

export interface RunStatus {
  runId: string;
  command: string;
  status: string;
  startedAt: string;
  seconds: number | null;
  error: string | null;
}

export interface WarehouseStatus {
  warehouse: string;
  sizeBytes: number;
  streams: StreamStatus[];
  /** The last runs, newest first. */
  runs: RunStatus[];
}

/** How many runs the status lists. */
export const LAST_RUNS = 5;

// To the second: enough to tell runs apart, and short.
const iso = (value: unknown) => (value instanceof Date ? `${value.toISOString().slice(0, 19)}Z` : null);

export async function warehouseStatus(connection: DuckDBConnection, config: Config): Promise<WarehouseStatus> {
  const tables = new Set(
    (await queryRows<{ name: string }>(connection, `select schema_name || '.' || table_name as name from duckdb_tables() where database_name = current_database()`)).map(
      (row) => row.name,
    ),
  );
  const columns = new Set(
    (await queryRows<{ name: string }>(connection, `select schema_name || '.' || table_name || '.' || column_name as name from duckdb_columns() where database_name = current_database()`)).map(
      (row) => row.name,
    ),
  );
  const perStream = async <Row>(table: string, sql: string) =>
    tables.has(table) ? new Map((await queryRows<Row & { source: string; stream: string }>(connection, sql)).map((row) => [`${row.source}.${row.stream}`, row])) : new Map();
  const quarantined = await perStream<{ n: bigint }>('_meta.quarantine', 'select source, stream, count(*) as n from _meta.quarantine group by all');
  const files = await perStream<{ n: bigint }>('_meta.loaded_files', 'select source, stream, count(*) as n from _meta.loaded_files group by all');
  const state = await perStream<{ cursor_value: string | null }>('_meta.stream_state', 'select source, stream, cursor_value from _meta.stream_state');

  const streams: StreamStatus[] = [];
  for (const source of config.sources) {
    const kind = SOURCE_KIND_REGISTRY[source.kind];
    const names = source.streams ? Object.keys(source.streams) : kind.streams.map((stream) => stream.name);
    for (const stream of names) {
      const key = `${source.name}.${stream}`;
      const table = `${rawSchema(source.name)}.${stream}`;
      let rows: number | null = null;
      let deleted = 0;
      let lastLoadedAt: string | null = null;
      if (tables.has(table)) {
        const flagged = columns.has(`${table}.is_deleted`) ? 'count(*) filter (where is_deleted)' : '0';
        const [counted] = await queryRows<{ rows: bigint; deleted: bigint; last: Date | null }>(
          connection,
          `select count(*) as rows, ${flagged} as deleted, max(_loaded_at) as last from ${sqlIdentifier(rawSchema(source.name))}.${sqlIdentifier(stream)}`,
        );
        rows = Number(counted!.rows);
        deleted = Number(counted!.deleted);
        lastLoadedAt = iso(counted!.last);
      }
      streams.push({
        source: source.name,
        kind: source.kind,
        stream,
        rows,
        deleted,
        quarantined: Number(quarantined.get(key)?.n ?? 0),
        files: kind.transport === 'files' ? Number(files.get(key)?.n ?? 0) : null,
        watermark: state.get(key)?.cursor_value ?? null,
        lastLoadedAt,
      });
    }
  }

  const runs = tables.has('_meta.pipeline_runs')
    ? (
        await queryRows<{ run_id: string; command: string; status: string; started_at: Date; seconds: number | null; error: string | null }>(
          connection,
          `select run_id, command, status, started_at, epoch(ended_at - started_at) as seconds, error
           from _meta.pipeline_runs order by started_at desc limit ${LAST_RUNS}`,
        )
      ).map((run) => ({ runId: run.run_id, command: run.command, status: run.status, startedAt: iso(run.started_at)!, seconds: run.seconds, error: run.error }))
    : [];
  return { warehouse: config.warehousePath, sizeBytes: statSync(config.warehousePath).size, streams, runs };
}

/** The status as aligned text for a terminal. */
export function statusText(status: WarehouseStatus): string {
  const count = (value: number | null) => (value === null ? '–' : value.toLocaleString('en-US'));
  const header = ['source', 'stream', 'kind', 'rows', 'deleted', 'quarantined', 'files', 'watermark', 'last loaded (UTC)'];
  const rows = status.streams.map((stream) => [
    stream.source,
    stream.stream,
    stream.kind,
    stream.rows === null ? 'not loaded' : count(stream.rows),
    count(stream.deleted),
    count(stream.quarantined),
    count(stream.files),
    stream.watermark ?? '–',
    stream.lastLoadedAt ?? '–',
  ]);
  const widths = header.map((title, index) => Math.max(title.length, ...rows.map((row) => row[index]!.length)));
  // Numbers right-aligned, text left.
  const numeric = new Set([3, 4, 5, 6]);
  const line = (cells: string[]) => cells.map((cell, index) => (numeric.has(index) ? cell.padStart(widths[index]!) : cell.padEnd(widths[index]!))).join('  ').trimEnd();
  const megabytes = (status.sizeBytes / 1024 ** 2).toFixed(1);
  const lines = [`warehouse ${status.warehouse} (${megabytes} MB)`, '', line(header), ...rows.map(line), ''];
  if (!status.runs.length) lines.push('no run on record yet');
  else {
    lines.push('last runs (newest first):');
    for (const run of status.runs) {
      const seconds = run.seconds === null ? '' : ` in ${run.seconds.toFixed(1)} s`;
      const error = run.error ? `: ${run.error.split('\n')[0]}` : '';
      lines.push(`  ${run.startedAt}  ${run.runId}  ${run.command}  ${run.status}${seconds}${error}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
