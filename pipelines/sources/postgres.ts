// Reads database streams from PostgreSQL, incrementally. Each batch is the
// next rows after the stream's cursor in (cursor, key) order: the cursor is
// sent to the server, never applied after fetching. PostgreSQL writes the
// batch with COPY ... TO STDOUT (CSV) straight into a temporary file, which
// DuckDB's CSV reader stages and checks like any file. The rows and the new
// cursor are committed in one DuckDB transaction, so they never disagree, and
// a run killed at any moment resumes where the last commit left off.
// Batches are read one after the other on one connection, one batch ahead of
// DuckDB: while DuckDB loads a batch, PostgreSQL already copies the next one,
// of the same stream or of the next.
import { createWriteStream, rmSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';

import type { SourceConfig } from '../config.ts';
import { loadOrReplace, loadStagedFiles, positiveNumberFromEnv, resolveStreams, streamTarget, StreamError, withSpoolDir, type ExtractContext, type StreamTarget } from './files.ts';
import { readStreamState, writeStreamState } from './state.ts';
import { DEFAULT_READERS, type PostgresSourceKind, type StreamCounts, type TableStreamDefinition } from './types.ts';

/** Rows per batch (one DuckDB transaction each); $TANGO_POSTGRES_BATCH_ROWS overrides it. */
export const DEFAULT_POSTGRES_BATCH_ROWS = 250_000;

/** About how many rows the batch bounds of a large table are chosen from. */
const BOUNDS_SAMPLE_ROWS = 50_000;

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

interface Batch {
  file: string;
  origin: string;
  rows: number;
  /** Where the next batch starts: the batch's bound, or the last (cursor, key) of the last batch; none if it found no rows. */
  last?: { cursor: string; key: string };
  /** The last batch of this run: every row after the one before it, as its snapshot saw them. */
  final: boolean;
}

/** Where a read starts: after a (cursor, key), or some minutes before a cursor (the first batch of a run with a lookback). */
type ReadStart = { cursor: string; key: string; lookbackMinutes?: number };

/** One table stream, ready to read: its raw table and how to copy its next batch. */
interface PreparedTableStream {
  stream: ResolvedTableStream;
  target: StreamTarget;
  start: ReadStart | undefined;
  rowsBefore: number;
  /** Copies the stream's batch-th batch of this run (from 1), after the one before it. */
  fetchBatch(batch: number): Promise<Batch>;
}

/**
 * Everything about a stream that comes before its rows: its contract, the
 * table's columns, the null-cursor check and the state it resumes from. Done
 * for every stream before any is loaded, so that copying can run ahead of the
 * loads from one stream into the next. Undefined for an optional stream
 * whose table the database does not have.
 */
async function prepareTableStream(
  ctx: ExtractContext,
  client: pg.Client,
  source: SourceConfig,
  stream: ResolvedTableStream,
  workDir: string,
): Promise<PreparedTableStream | undefined> {
  // The map is applied in PostgreSQL: the staged batch already has the contract's columns.
  const target = await streamTarget(
    ctx.connection,
    source.name,
    // A batch's rows are numbered as DuckDB stages them: numbering them in
    // PostgreSQL (row_number() over ()) took the server a third of its copy.
    { name: stream.name, reader: DEFAULT_READERS.csv, primaryKey: stream.primaryKey, disposition: stream.disposition },
    stream.map,
  );
  // Keyset pages of a table hold each primary key once.
  target.uniqueKeys = true;
  const available = await tableColumns(client, stream.table);
  if (!available.size && stream.optional) {
    ctx.log.info(`extract: ${source.name}.${stream.name}: the database has no table ${stream.table}; skipped (name the stream in the config to require it)`);
    return undefined;
  }
  if (!available.size) throw new StreamError(`table ${stream.table} not found (or has no columns) in the database`);

  const select = target.columns.map((column) => {
    let expression = stream.map?.[column.name];
    if (!expression && column.name === 'is_deleted' && stream.deleted) expression = `(${stream.deleted})`;
    if (!expression) expression = available.has(column.name) ? pgIdentifier(column.name) : 'null';
    // No cast to text: COPY writes each value with its type's text output,
    // which is what a cast would give, and casting costs the server a third of the copy.
    return `${expression} as ${pgIdentifier(column.name)}`;
  });
  const table = pgTable(stream.table);
  // A key of several columns orders the reads as one text: its values joined by a unit separator.
  const keyColumns = stream.primaryKey.map((column) => pgExpression(stream.map?.[column] ?? column));
  const key = keyColumns.length === 1 ? keyColumns[0]! : `concat_ws(chr(31), ${keyColumns.map((column) => `(${column})::text`).join(', ')})`;
  const cursor = pgExpression(stream.cursor);
  // Ties on the cursor are broken by the key, compared as bytes on both sides.
  const position = `(${cursor}, (${key})::text collate "C")`;
  const at = (row: { cursor: string; key: string }) => `((${pgLiteral(row.cursor)}), ${pgLiteral(row.key)})`;

  const nullCursor = await client.query<{ n: string }>(`select count(*) as n from ${table} where ${cursor} is null`);
  if (Number(nullCursor.rows[0]?.n ?? 0) > 0) {
    throw new StreamError(`${nullCursor.rows[0]?.n} row(s) of ${stream.table} have no ${stream.cursor}, so they cannot be read incrementally; set it, or map cursor to an expression that is never null`);
  }
  const state = ctx.fullRefresh ? undefined : await readStreamState(ctx, source.name, stream.name);
  const start =
    state?.cursor_value != null && state.cursor_key != null
      ? { cursor: state.cursor_value, key: state.cursor_key, lookbackMinutes: source.lookback_minutes }
      : undefined;
  const limit = positiveNumberFromEnv('TANGO_POSTGRES_BATCH_ROWS', DEFAULT_POSTGRES_BATCH_ROWS, true);

  const pendingFrom = (after: ReadStart | undefined) => {
    const conditions = [stream.where ? `(${stream.where})` : undefined];
    if (after?.lookbackMinutes) {
      // From some minutes before the watermark, its rows included.
      conditions.push(`${cursor} >= (${pgLiteral(after.cursor)})::timestamptz - interval '${after.lookbackMinutes} minutes'`);
    } else if (after) {
      conditions.push(`${position} > ${at(after)}`);
    }
    return conditions.filter(Boolean).join(' and ') || 'true';
  };
  const describe = (after: ReadStart | undefined) =>
    after?.lookbackMinutes ? `${after.lookbackMinutes} minutes before ${stream.cursor} ${after.cursor}` : after ? `${stream.cursor} ${after.cursor}, key ${after.key}` : 'the start';
  const lastOf = async (where: string) => {
    const result = await client.query<{ cursor: string; key: string }>(
      `select (${cursor})::text as cursor, (${key})::text as key from ${table} where ${where}
       order by ${cursor} desc, (${key})::text collate "C" desc limit 1`,
    );
    return result.rows[0];
  };

  /**
   * Where the batches of this run end: about every limit-th (cursor, key) of
   * the rows after the start, none when they fit in one batch. The bounds are
   * positions, not rows, and a batch need only hold about `limit` rows, so
   * they come from a random sample of about BOUNDS_SAMPLE_ROWS rows, sorted,
   * rather than a sort of the whole table (which, at a few million rows,
   * keeps DuckDB waiting for seconds); a table that small is taken whole,
   * and its bounds are exact. The copies then need no sort. A row changed
   * meanwhile moves to a later position, so it is read by a later batch or
   * the next run.
   */
  let knownBounds: { cursor: string; key: string }[] | undefined;
  const batchBounds = async () => {
    if (knownBounds) return knownBounds;
    const pending = pendingFrom(prepared.start);
    const counted = await client.query<{ n: string }>(`select count(*) as n from ${table} where ${pending}`);
    const rows = Number(counted.rows[0]?.n ?? 0);
    if (rows <= limit) return (knownBounds = []);
    const fraction = Math.min(1, BOUNDS_SAMPLE_ROWS / rows);
    const sampled = fraction < 1 ? `${pending} and random() < ${fraction}` : pending;
    const every = Math.max(1, Math.round(limit * fraction));
    const result = await client.query<{ cursor: string; key: string }>(
      `select cursor, key from (
         select (${cursor})::text as cursor, (${key})::text as key, row_number() over (order by ${cursor}, (${key})::text collate "C") as n
         from ${table} where ${sampled}) as numbered
       where n % ${every} = 0 order by n`,
    );
    return (knownBounds = result.rows);
  };

  /** Copies the batch-th batch into a file: up to its bound, or for the last one, all rows left and the last of them. */
  const fetchBatch = async (batch: number): Promise<Batch> => {
    const file = path.join(workDir, `${stream.name}-${batch}.csv`);
    let origin = `postgres ${stream.table} after ${describe(prepared.start)}`;
    try {
      const bounds = await batchBounds();
      const after = batch === 1 ? prepared.start : bounds[batch - 2];
      origin = `postgres ${stream.table} after ${describe(after)}`;
      const upper = bounds[batch - 1];
      const final = upper === undefined;
      // The last batch copies and finds its last row in one snapshot.
      if (final) await client.query('begin isolation level repeatable read read only');
      const pending = pendingFrom(after);
      const last = upper ?? (await lastOf(pending));
      let rows = 0;
      if (last) {
        // In the last batch's snapshot no row lies beyond its last row: only the others need their bound.
        const bounded = final ? pending : `${pending} and ${position} <= ${at(last)}`;
        const copy = client.query(copyTo(`copy (select ${select.join(', ')} from ${table} where ${bounded}) to stdout with (format csv, header true)`));
        await pipeline(copy, createWriteStream(file));
        rows = Number(copy.rowCount ?? 0);
      }
      if (final) await client.query('commit');
      return { file, origin, rows, last, final };
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw new StreamError(`${origin}: the read failed: ${(error as Error).message}`, { cause: error });
    }
  };
  const prepared: PreparedTableStream = { stream, target, start, rowsBefore: Number(state?.rows_loaded ?? 0), fetchBatch };
  return prepared;
}

/** Loads one stream's batches as they arrive; `nextStreamBatch` starts the copy that follows its last batch. */
async function loadTableStream(
  ctx: ExtractContext,
  source: SourceConfig,
  prepared: PreparedTableStream,
  firstBatch: Promise<Batch>,
  nextStreamBatch: () => void,
  counts: StreamCounts,
): Promise<void> {
  const { stream, target } = prepared;
  let total = prepared.rowsBefore;
  let next = firstBatch;
  let handedOn = false;
  const handOn = () => {
    if (!handedOn) nextStreamBatch();
    handedOn = true;
  };
  try {
    await loadOrReplace(ctx, target, '_meta.stream_state', async () => {
      for (let batch = 2; ; batch++) {
        const current = await next;
        const last = current.last;
        if (!last) break;
        if (current.final) handOn();
        else {
          next = prepared.fetchBatch(batch);
          // Awaited in the next round; a failure while this batch loads must not go unhandled meanwhile.
          next.catch(() => undefined);
        }
        let batchCounts;
        try {
          const loaded = await loadStagedFiles(ctx, target, [{ path: current.file, origin: current.origin }], (loadedCounts) =>
            writeStreamState(ctx, source.name, stream.name, last.cursor, last.key, total + loadedCounts.get(current.origin)!.read),
          );
          batchCounts = loaded.get(current.origin)!;
        } finally {
          rmSync(current.file, { force: true });
        }
        total += batchCounts.read;
        counts.files_loaded++;
        counts.rows_read += batchCounts.read;
        counts.rows_loaded += batchCounts.loaded;
        counts.rows_quarantined += batchCounts.quarantined;
        ctx.log.progress(`${source.name}.${stream.name}: rows`, counts.rows_read, current.final ? counts.rows_read : undefined);
        if (current.final) break;
      }
    });
  } finally {
    // A failed load leaves a copy of this stream in flight: it ends before the next stream's starts.
    if (!handedOn) await next.catch(() => undefined);
    handOn();
  }
}

/**
 * Extracts the source's table streams on one connection. A stream that fails
 * keeps its state and reports its error; the others still run.
 */
export async function extractTableStreams(
  ctx: ExtractContext,
  client: pg.Client,
  source: SourceConfig,
  streams: readonly ResolvedTableStream[],
  report: { counts: (stream: string) => StreamCounts; fail: (counts: StreamCounts, error: unknown) => void },
): Promise<StreamCounts[]> {
  return withSpoolDir(ctx, source.name, async (workDir) => {
    const plan: { counts: StreamCounts; prepared?: PreparedTableStream }[] = [];
    for (const stream of streams) {
      const counts = report.counts(stream.name);
      try {
        plan.push({ counts, prepared: await prepareTableStream(ctx, client, source, stream, workDir) });
      } catch (error) {
        report.fail(counts, error);
        plan.push({ counts });
      }
    }
    const ready = plan.filter((entry) => entry.prepared);
    const firstBatches = new Map<number, Promise<Batch>>();
    const startFirstBatch = (index: number) => {
      const prepared = ready[index]?.prepared;
      if (!prepared) return;
      const batch = prepared.fetchBatch(1);
      batch.catch(() => undefined);
      firstBatches.set(index, batch);
    };
    startFirstBatch(0);
    for (const [index, { counts, prepared }] of ready.entries()) {
      try {
        await loadTableStream(ctx, source, prepared!, firstBatches.get(index)!, () => startFirstBatch(index + 1), counts);
      } catch (error) {
        report.fail(counts, error);
      }
    }
    return plan.map((entry) => entry.counts);
  });
}
