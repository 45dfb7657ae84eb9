// Reads database streams from PostgreSQL, incrementally. Each batch is the
// next rows after the stream's cursor, in (cursor, key) order: the cursor is
// sent to the server, never applied after fetching. PostgreSQL writes the
// batch with COPY ... TO STDOUT (CSV) straight into a temporary file, which
// DuckDB's CSV reader stages and checks like any file. The rows and the new
// cursor are committed in one DuckDB transaction, so they never disagree, and
// a run killed at any moment resumes where the last commit left off. While
// DuckDB loads one batch, PostgreSQL already copies the next.
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';

import type { SourceConfig } from '../config.ts';
import { loadOrReplace, loadStagedFiles, resolveStreams, streamTarget, StreamError, type ExtractContext } from './files.ts';
import { readStreamState, writeStreamState } from './state.ts';
import { DEFAULT_READERS, type PostgresSourceKind, type StreamCounts, type TableStreamDefinition } from './types.ts';

/** Rows per batch (one DuckDB transaction each); $TANGO_POSTGRES_BATCH_ROWS overrides it. */
export const DEFAULT_POSTGRES_BATCH_ROWS = 1_000_000;

function batchRows(): number {
  const configured = Number(process.env.TANGO_POSTGRES_BATCH_ROWS);
  return Number.isInteger(configured) && configured > 0 ? configured : DEFAULT_POSTGRES_BATCH_ROWS;
}

export interface ResolvedTableStream extends TableStreamDefinition {
  /** Contract column -> PostgreSQL expression over the table's columns. */
  map?: Readonly<Record<string, string>>;
  /** PostgreSQL condition: only these rows are read. */
  where?: string;
  /** PostgreSQL condition true for soft-deleted rows. */
  deleted?: string;
}

export function resolveTableStreams(kind: PostgresSourceKind, source: SourceConfig): ResolvedTableStream[] {
  return resolveStreams(kind.streams, source, (base, override) => ({
    ...base,
    table: override.table ?? base.table,
    cursor: override.cursor ?? base.cursor,
    map: override.map,
    where: override.where,
    deleted: override.deleted,
  }));
}

/** Connection failures worth another try: the server is restarting or briefly unreachable (not a refused login). */
const TRANSIENT_CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'EAI_AGAIN', '57P03']);
const CONNECT_RETRIES = 3;

/** Connects with the URL in the source's environment variable; times are read in UTC. */
export async function connectPostgres(source: SourceConfig): Promise<pg.Client> {
  const variable = source.connection_env ?? '';
  const url = process.env[variable];
  if (!url) throw new StreamError(`set ${variable} to the postgres:// URL of the ${source.name} database`);
  const retryBaseMs = Number(process.env.TANGO_POSTGRES_RETRY_BASE_MS ?? 1000);
  for (let attempt = 0; ; attempt++) {
    // Every value arrives as the server's text: the contract casts it in DuckDB.
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 15_000, application_name: 'tango' });
    try {
      await client.connect();
      await client.query("set TimeZone = 'UTC'; set DateStyle = 'ISO'");
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      const code = (error as { code?: string }).code ?? '';
      const transient = TRANSIENT_CONNECT_ERRORS.has(code) || /timeout/i.test((error as Error).message);
      if (!transient || attempt >= CONNECT_RETRIES) {
        const tries = transient ? `, still after ${CONNECT_RETRIES} retries` : '';
        throw new StreamError(`cannot connect to the ${source.name} database (${variable}): ${(error as Error).message}${tries}`, { cause: error });
      }
      await new Promise((resolve) => setTimeout(resolve, retryBaseMs * 2 ** attempt));
    }
  }
}

function pgIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function pgTable(name: string): string {
  return name.split('.').map(pgIdentifier).join('.');
}

function pgLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A column name is quoted; anything else is taken as an expression. */
function pgExpression(columnOrExpression: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(columnOrExpression) ? pgIdentifier(columnOrExpression) : `(${columnOrExpression})`;
}

async function tableColumns(client: pg.Client, table: string): Promise<Set<string>> {
  const parts = table.split('.');
  const name = parts.pop()!;
  const schema = parts.pop();
  const result = await client.query<{ column_name: string }>(
    `select column_name from information_schema.columns
     where table_name = $1 and table_schema = coalesce($2, current_schema())`,
    [name, schema ?? null],
  );
  return new Set(result.rows.map((row) => row.column_name));
}

export async function extractTableStream(
  ctx: ExtractContext,
  client: pg.Client,
  source: SourceConfig,
  stream: ResolvedTableStream,
  counts: StreamCounts,
): Promise<void> {
  const { connection, log } = ctx;
  // The map is applied in PostgreSQL: the staged batch already has the contract's columns.
  const target = await streamTarget(
    connection,
    source.name,
    { name: stream.name, reader: DEFAULT_READERS.csv, primaryKey: [stream.primaryKey], disposition: stream.disposition },
    stream.map,
  );
  // Keyset pages of a table hold each primary key once.
  target.uniqueKeys = true;
  const { columns } = target;
  const available = await tableColumns(client, stream.table);
  if (!available.size) throw new StreamError(`table ${stream.table} not found (or has no columns) in the database`);

  const select = columns.map((column) => {
    let expression = stream.map?.[column.name];
    if (!expression && column.name === 'is_deleted' && stream.deleted) expression = `(${stream.deleted})`;
    if (!expression) expression = available.has(column.name) ? pgIdentifier(column.name) : 'null';
    return `(${expression})::text as ${pgIdentifier(column.name)}`;
  });
  const key = pgExpression(stream.map?.[stream.primaryKey] ?? stream.primaryKey);
  const cursor = pgExpression(stream.cursor);
  // Ties on the cursor are broken by the key, compared as bytes on both sides.
  const order = `${cursor}, (${key})::text collate "C"`;

  const nullCursor = await client.query<{ n: string }>(`select count(*) as n from ${pgTable(stream.table)} where ${cursor} is null`);
  if (Number(nullCursor.rows[0]?.n ?? 0) > 0) {
    throw new StreamError(`${nullCursor.rows[0]?.n} row(s) of ${stream.table} have no ${stream.cursor}, so they cannot be read incrementally; set it, or map cursor to an expression that is never null`);
  }

  const limit = batchRows();
  const workDir = mkdtempSync(path.join(tmpdir(), 'tango-pg-'));
  interface Batch {
    file: string;
    origin: string;
    rows: number;
    last?: { cursor: string; key: string };
  }
  /** Copies the next batch after `after` from PostgreSQL into a file, and asks for its last row. */
  const fetchBatch = async (after: { cursor: string; key: string; lookbackMinutes?: number } | undefined, batch: number): Promise<Batch> => {
    const conditions = [stream.where ? `(${stream.where})` : undefined];
    if (after?.lookbackMinutes) {
      // The first batch of a run with a lookback: from some minutes before the watermark, its rows included.
      conditions.push(`${cursor} >= (${pgLiteral(after.cursor)})::timestamptz - interval '${after.lookbackMinutes} minutes'`);
    } else if (after) {
      conditions.push(`(${cursor}, (${key})::text collate "C") > (${pgLiteral(after.cursor)}, ${pgLiteral(after.key)})`);
    }
    const where = conditions.filter(Boolean).join(' and ');
    const sql =
      `copy (select ${select.join(', ')} ` +
      `from ${pgTable(stream.table)} ${where ? `where ${where}` : ''} order by ${order} limit ${limit}) ` +
      `to stdout with (format csv, header true)`;
    const file = path.join(workDir, `batch-${batch}.csv`);
    const from = after?.lookbackMinutes ? `${after.lookbackMinutes} minutes before ${stream.cursor} ${after.cursor}` : after ? `${stream.cursor} ${after.cursor}, key ${after.key}` : 'the start';
    const origin = `postgres ${stream.table} after ${from}`;
    const copy = client.query(copyTo(sql));
    try {
      await pipeline(copy, createWriteStream(file));
    } catch (error) {
      throw new StreamError(`${origin}: the read failed: ${(error as Error).message}`, { cause: error });
    }
    const rows = Number(copy.rowCount ?? 0);
    if (rows === 0) return { file, origin, rows };
    // The batch's last row, where the next one starts: asked of the server, which has it indexed.
    const lastRow = await client.query<{ cursor: string; key: string }>(
      `select (${cursor})::text as cursor, (${key})::text as key from ${pgTable(stream.table)} ${where ? `where ${where}` : ''}
       order by ${order} offset ${rows - 1} limit 1`,
    );
    const last = lastRow.rows[0];
    if (!last) throw new StreamError(`${origin}: the batch's last row is gone; was the table changed during the read?`);
    return { file, origin, rows, last };
  };

  const loadAll = async () => {
    const state = ctx.fullRefresh ? undefined : await readStreamState(ctx, source.name, stream.name);
    let total = Number(state?.rows_loaded ?? 0);
    const start =
      state?.cursor_value != null && state.cursor_key != null
        ? { cursor: state.cursor_value, key: state.cursor_key, lookbackMinutes: source.lookback_minutes }
        : undefined;
    // PostgreSQL copies the next batch while DuckDB loads this one.
    let next = fetchBatch(start, 1);
    for (let batch = 1; ; batch++) {
      const current = await next;
      if (current.rows === 0 || !current.last) break;
      const last = current.last;
      next = current.rows < limit ? Promise.resolve({ file: '', origin: '', rows: 0 }) : fetchBatch(last, batch + 1);
      // Awaited in the next round; a failure while this batch loads must not go unhandled meanwhile.
      next.catch(() => undefined);
      let batchCounts;
      try {
        const loaded = await loadStagedFiles(ctx, target, [{ path: current.file, origin: current.origin }], (counts) =>
          writeStreamState(ctx, source.name, stream.name, last.cursor, last.key, total + counts.get(current.origin)!.read),
        );
        batchCounts = loaded.get(current.origin)!;
      } catch (error) {
        await next.catch(() => undefined);
        throw error;
      }
      rmSync(current.file, { force: true });
      total += batchCounts.read;
      counts.files_loaded++;
      counts.rows_read += batchCounts.read;
      counts.rows_loaded += batchCounts.loaded;
      counts.rows_quarantined += batchCounts.quarantined;
      log.progress(`${source.name}.${stream.name}: rows`, counts.rows_read, counts.rows_read + (current.rows === limit ? limit : 0));
    }
  };

  try {
    await loadOrReplace(ctx, target, '_meta.stream_state', loadAll);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
