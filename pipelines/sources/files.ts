// Loads file streams (CSV, NDJSON; gzipped or not) into raw_<source>.<stream>
// with DuckDB's own readers. Each file is read once as text against the
// stream's contract, checked in SQL, and committed with its _meta.loaded_files
// row in one transaction: a file is loaded entirely or not at all, and a file
// already loaded is skipped, so running the same extract twice changes nothing.
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { createGunzip } from 'node:zlib';
import type { DuckDBConnection } from '@duckdb/node-api';

import type { SourceConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import { inTransaction, queryRows, readContract, sqlIdentifier, sqlString } from '../warehouse.ts';
import { SOURCE_KIND_REGISTRY } from './registry.ts';
import type { FileStreamDefinition, StreamCounts } from './types.ts';

export interface ExtractContext {
  connection: DuckDBConnection;
  runId: string;
  log: Logger;
  fullRefresh?: boolean;
}

interface ContractColumn {
  name: string;
  type: string;
  required: boolean;
}

export class StreamError extends Error {
  override name = 'StreamError';
}

export function rawSchema(sourceName: string): string {
  return `raw_${sourceName}`;
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The first line of a file (gunzipped if need be), without its line ending or byte-order mark. */
async function readFirstLine(file: string): Promise<string> {
  const raw = createReadStream(file);
  const input = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  let text = '';
  try {
    for await (const chunk of input) {
      text += (chunk as Buffer).toString('utf8');
      const end = text.search(/\r?\n/);
      if (end >= 0) {
        text = text.slice(0, end);
        break;
      }
      if (text.length > 1_000_000) throw new StreamError(`${file}: the header line is longer than 1 MB`);
    }
  } catch (error) {
    if (error instanceof StreamError) throw error;
    throw new StreamError(`${file}: cannot read the file (${(error as Error).message})`, { cause: error });
  } finally {
    raw.destroy();
  }
  return text.replace(/^\uFEFF/, '');
}

/** Splits a CSV header on commas outside double quotes. */
export function parseCsvHeader(line: string): string[] {
  const names: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (char === '"') {
      if (quoted && line[i + 1] === '"') {
        current += '"';
        i++;
      } else quoted = !quoted;
    } else if (char === ',' && !quoted) {
      names.push(current.trim());
      current = '';
    } else current += char;
  }
  names.push(current.trim());
  return names;
}

function listStreamFiles(folder: string, stream: FileStreamDefinition): string[] {
  let entries;
  try {
    entries = readdirSync(folder, { withFileTypes: true, recursive: true });
  } catch (error) {
    throw new StreamError(`source folder ${folder} cannot be read (${(error as NodeJS.ErrnoException).code})`, { cause: error });
  }
  return entries
    .filter((entry) => entry.isFile() && stream.filePattern.test(entry.name))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

async function contractColumns(connection: DuckDBConnection, schema: string, table: string): Promise<ContractColumn[]> {
  const rows = await queryRows<{ column_name: string; data_type: string; is_nullable: string }>(
    connection,
    `select column_name, data_type, is_nullable from information_schema.columns
     where table_schema = $schema and table_name = $table order by ordinal_position`,
    { schema, table },
  );
  return rows
    .filter((row) => !row.column_name.startsWith('_'))
    .map((row) => ({ name: row.column_name, type: row.data_type, required: row.is_nullable === 'NO' }));
}

function readerSql(file: string, format: FileStreamDefinition['format'], fileColumns: string[]): string {
  const columns = `{${fileColumns.map((name) => `${sqlString(name)}: 'VARCHAR'`).join(', ')}}`;
  if (format === 'ndjson') {
    return `read_json(${sqlString(file)}, format = 'newline_delimited', records = true, columns = ${columns})`;
  }
  // No sniffing: the dialect is fixed and every column is text, so a malformed
  // line is rejected (and quarantined) instead of failing or changing the types.
  return `read_csv(${sqlString(file)}, auto_detect = false, header = true, delim = ',', quote = '"', escape = '"',
    columns = ${columns}, store_rejects = true, rejects_table = '_tango_rejects', rejects_scan = '_tango_rejects_scan')`;
}

/** A SQL expression giving why a text row breaks the contract, or '' if it does not. */
function reasonSql(columns: ContractColumn[], present: Set<string>): string {
  const checks = columns.flatMap((column) => {
    const value = present.has(column.name) ? sqlIdentifier(column.name) : 'null::varchar';
    const checksForColumn: string[] = [];
    if (column.required) {
      checksForColumn.push(`case when nullif(trim(${value}), '') is null then '${column.name}: required but empty' end`);
    }
    if (column.type !== 'VARCHAR') {
      checksForColumn.push(
        `case when nullif(trim(${value}), '') is not null and try_cast(trim(${value}) as ${column.type}) is null
          then '${column.name}: not a ${column.type}: ' || left(${value}, 80) end`,
      );
    }
    return checksForColumn;
  });
  return checks.length ? `concat_ws('; ', ${checks.join(', ')})` : `''`;
}

function typedValueSql(column: ContractColumn, present: Set<string>): string {
  if (!present.has(column.name)) return `null::${column.type}`;
  const value = sqlIdentifier(column.name);
  return column.type === 'VARCHAR' ? `nullif(${value}, '')` : `try_cast(nullif(trim(${value}), '') as ${column.type})`;
}

interface FileCounts {
  read: number;
  loaded: number;
  quarantined: number;
}

async function loadFile(
  ctx: ExtractContext,
  source: string,
  stream: FileStreamDefinition,
  columns: ContractColumn[],
  file: string,
  fingerprint: { size: number; sha256: string },
): Promise<FileCounts> {
  const { connection, runId } = ctx;
  const table = `${sqlIdentifier(rawSchema(source))}.${sqlIdentifier(stream.name)}`;

  let fileColumns: string[];
  if (stream.format === 'csv') {
    fileColumns = parseCsvHeader(await readFirstLine(file));
    const missing = columns.filter((column) => column.required && !fileColumns.includes(column.name));
    if (missing.length) {
      throw new StreamError(`${file}: missing required column(s) ${missing.map((c) => c.name).join(', ')} (header: ${fileColumns.join(',')})`);
    }
    const extra = fileColumns.filter((name) => !columns.some((column) => column.name === name));
    if (extra.length) ctx.log.warn(`${file}: column(s) not in the contract are ignored: ${extra.join(', ')}`);
  } else {
    fileColumns = columns.map((column) => column.name);
  }
  const present = new Set(fileColumns);

  await connection.run('drop table if exists _tango_rejects; drop table if exists _tango_rejects_scan');
  try {
    await connection.run(
      `create or replace temp table _tango_incoming as
       select row_number() over () as _record, * from ${readerSql(file, stream.format, fileColumns)}`,
    );
  } catch (error) {
    throw new StreamError(`${file}: cannot be read as ${stream.format.toUpperCase()}: ${(error as Error).message.split('\n')[0]}`, {
      cause: error,
    });
  }
  const hasRejects = stream.format === 'csv';
  const recordJson = `json_object(${fileColumns.map((name) => `${sqlString(name)}, ${sqlIdentifier(name)}`).join(', ')})::varchar`;
  const keyColumns = stream.primaryKey.map(sqlIdentifier).join(', ');

  await connection.run(
    `create or replace temp table _tango_checked as
     with checked as (
       select *, ${reasonSql(columns, present)} as _reason from _tango_incoming
     ),
     ranked as (
       select *, max(_record) over (partition by ${keyColumns}) as _kept_record from checked where _reason = ''
     )
     select * exclude (_kept_record),
       case when _record <> _kept_record then 'duplicate key within the file; record ' || _kept_record || ' kept' else '' end as _duplicate
     from ranked
     union all by name
     select *, '' as _duplicate from checked where _reason <> ''`,
  );

  const quarantineInsert = `insert into _meta.quarantine (source, stream, origin, line, record, reason, run_id, quarantined_at)`;
  await connection.run(
    `${quarantineInsert}
     select ${sqlString(source)}, ${sqlString(stream.name)}, ${sqlString(file)}, _record, ${recordJson},
       case when _reason <> '' then _reason else _duplicate end, ${sqlString(runId)}, now()::timestamp
     from _tango_checked where _reason <> '' or _duplicate <> ''`,
  );
  if (hasRejects) {
    await connection.run(
      `${quarantineInsert}
       select ${sqlString(source)}, ${sqlString(stream.name)}, ${sqlString(file)}, line, any_value(csv_line),
         'malformed CSV: ' || string_agg(error_type || ' (' || error_message || ')', '; '), ${sqlString(runId)}, now()::timestamp
       from _tango_rejects group by line`,
    );
  }

  if (stream.disposition === 'merge') {
    const keyMatch = stream.primaryKey
      .map((key) => `${table}.${sqlIdentifier(key)} = loading.${sqlIdentifier(key)}`)
      .join(' and ');
    await connection.run(
      `delete from ${table} using (select ${keyColumns} from _tango_checked where _reason = '' and _duplicate = '') as loading
       where ${keyMatch}`,
    );
  }
  const columnList = columns.map((column) => sqlIdentifier(column.name)).join(', ');
  await connection.run(
    `insert into ${table} (${columnList}, _loaded_at, _run_id, _origin, _line)
     select ${columns.map((column) => typedValueSql(column, present)).join(', ')},
       now()::timestamp, ${sqlString(runId)}, ${sqlString(file)}, _record
     from _tango_checked where _reason = '' and _duplicate = ''`,
  );

  const [counts] = await queryRows<{ incoming: bigint; loaded: bigint; quarantined: bigint; rejected: bigint }>(
    connection,
    `select
       (select count(*) from _tango_incoming) as incoming,
       (select count(*) from _tango_checked where _reason = '' and _duplicate = '') as loaded,
       (select count(*) from _tango_checked where _reason <> '' or _duplicate <> '') as quarantined,
       ${hasRejects ? '(select count(distinct line) from _tango_rejects)' : '0'} as rejected`,
  );
  if (!counts) throw new StreamError(`${file}: could not count the loaded rows`);
  const result: FileCounts = {
    read: Number(counts.incoming) + Number(counts.rejected),
    loaded: Number(counts.loaded),
    quarantined: Number(counts.quarantined) + Number(counts.rejected),
  };
  if (result.read !== result.loaded + result.quarantined) {
    throw new StreamError(`${file}: rows do not add up: read ${result.read}, loaded ${result.loaded}, quarantined ${result.quarantined}`);
  }
  await connection.run(
    `insert into _meta.loaded_files values ($source, $stream, $path, $size, $sha, $run, now()::timestamp, $read, $loaded, $quarantined)`,
    {
      source,
      stream: stream.name,
      path: file,
      size: fingerprint.size,
      sha: fingerprint.sha256,
      run: runId,
      read: result.read,
      loaded: result.loaded,
      quarantined: result.quarantined,
    },
  );
  await connection.run('drop table _tango_incoming; drop table _tango_checked');
  return result;
}

async function extractStream(
  ctx: ExtractContext,
  source: SourceConfig & { absolutePath: string },
  stream: FileStreamDefinition,
  counts: StreamCounts,
): Promise<void> {
  const { connection, log } = ctx;
  const schema = rawSchema(source.name);
  await connection.run(readContract(`${source.kind}/${stream.name}`, schema));
  const columns = await contractColumns(connection, schema, stream.name);
  const files = listStreamFiles(source.absolutePath, stream);
  const loaded = new Map(
    (
      await queryRows<{ path: string; sha256: string; loaded_at: Date }>(
        connection,
        `select path, sha256, loaded_at from _meta.loaded_files where source = $source and stream = $stream`,
        { source: source.name, stream: stream.name },
      )
    ).map((row) => [row.path, row]),
  );

  const loadAll = async () => {
    for (const [index, file] of files.entries()) {
      const size = statSync(file).size;
      const digest = await sha256(file);
      const previous = ctx.fullRefresh ? undefined : loaded.get(file);
      if (previous) {
        if (previous.sha256 === digest) {
          counts.files_skipped++;
          continue;
        }
        throw new StreamError(
          `${file} changed since it was loaded (${previous.loaded_at.toISOString()}); a changed file is not reloaded silently. ` +
            `Run \`tango extract --source ${source.name} --full-refresh\` to reload the stream.`,
        );
      }
      const fileCounts = ctx.fullRefresh
        ? await loadFile(ctx, source.name, stream, columns, file, { size, sha256: digest })
        : await inTransaction(connection, () => loadFile(ctx, source.name, stream, columns, file, { size, sha256: digest }));
      counts.files_loaded++;
      counts.rows_read += fileCounts.read;
      counts.rows_loaded += fileCounts.loaded;
      counts.rows_quarantined += fileCounts.quarantined;
      log.progress(`${source.name}.${stream.name}: files`, index + 1, files.length);
      log.debug('file loaded', { source: source.name, stream: stream.name, file, ...fileCounts });
    }
  };

  if (ctx.fullRefresh) {
    // The whole stream is replaced in one transaction: readers see the old rows
    // or the new ones, never a half-reloaded stream.
    await inTransaction(connection, async () => {
      const table = `${sqlIdentifier(schema)}.${sqlIdentifier(stream.name)}`;
      await connection.run(`delete from ${table}`);
      const where = `where source = ${sqlString(source.name)} and stream = ${sqlString(stream.name)}`;
      await connection.run(`delete from _meta.loaded_files ${where}; delete from _meta.quarantine ${where}`);
      await loadAll();
    });
  } else {
    await loadAll();
  }
}

/**
 * Extracts every stream of one file source. A failing stream keeps its state
 * (its failed file rolled back), the other streams still run, and the error is
 * reported in its counts.
 */
export async function extractFileSource(ctx: ExtractContext, source: SourceConfig & { absolutePath: string }): Promise<StreamCounts[]> {
  const definition = SOURCE_KIND_REGISTRY[source.kind];
  const results: StreamCounts[] = [];
  for (const stream of definition.streams) {
    const counts: StreamCounts = {
      source: source.name,
      stream: stream.name,
      files_loaded: 0,
      files_skipped: 0,
      rows_read: 0,
      rows_loaded: 0,
      rows_quarantined: 0,
    };
    results.push(counts);
    try {
      await extractStream(ctx, source, stream, counts);
    } catch (error) {
      counts.error = `source ${source.name}, stream ${stream.name}: ${(error as Error).message}`;
      ctx.log.error(counts.error);
    }
  }
  return results;
}
