// Loads file streams (CSV, NDJSON, whitespace-separated; gzipped or not) into
// raw_<source>.<stream> with DuckDB's own readers. Every value is read as
// text, mapped into the stream's contract and checked in SQL; a row that
// breaks the contract is quarantined with its reason. New files are loaded in
// batches, each committed with its _meta.loaded_files rows in one transaction:
// a file is loaded entirely or not at all, and a file already loaded is
// skipped, so running the same extract twice changes nothing.
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { createGunzip } from 'node:zlib';
import type { DuckDBConnection } from '@duckdb/node-api';

import type { SourceConfig, StreamOverride } from '../config.ts';
import type { Logger } from '../log.ts';
import { inTransaction, queryRows, sqlIdentifier, sqlString } from '../warehouse.ts';
import { DEFAULT_READERS, type FileReader, type FileSourceKind, type FileStreamDefinition, type StreamCounts } from './types.ts';

export interface ExtractContext {
  connection: DuckDBConnection;
  runId: string;
  log: Logger;
  fullRefresh?: boolean;
}

export interface ContractColumn {
  name: string;
  type: string;
  required: boolean;
}

export class StreamError extends Error {
  override name = 'StreamError';
}

/** A batch is committed at once; these bound how much one transaction holds. */
const BATCH_MAX_FILES = 200;
const BATCH_MAX_BYTES = 1024 ** 3;

export function rawSchema(sourceName: string): string {
  return `raw_${sourceName}`;
}

/** A glob below a source folder as a RegExp: `*` and `?` stay within a folder, `**` crosses folders. */
export function globToRegExp(glob: string): RegExp {
  let pattern = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      pattern += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (char === '*') pattern += '[^/]*';
    else if (char === '?') pattern += '[^/]';
    else pattern += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${pattern}$`);
}

/**
 * The streams a configured source loads: every stream of its kind as
 * defined, or only the streams its config lists, each adapted by `adapt`.
 */
export function resolveStreams<Stream extends { name: string }, Resolved extends Stream>(
  streams: readonly Stream[],
  source: SourceConfig,
  adapt: (base: Stream, override: StreamOverride) => Resolved,
): (Stream | Resolved)[] {
  if (!source.streams) return [...streams];
  return Object.entries(source.streams).map(([name, override]) => {
    const base = streams.find((stream) => stream.name === name);
    if (!base) throw new StreamError(`kind ${source.kind} has no stream "${name}"`);
    return adapt(base, override);
  });
}

/** The streams a configured file source loads: the kind's own, or the ones its config remaps. */
export function resolveFileStreams(kind: FileSourceKind, source: SourceConfig): FileStreamDefinition[] {
  return resolveStreams(kind.streams, source, (base, override) => {
    const defaults = override.format ? DEFAULT_READERS[override.format] : base.reader;
    const reader: FileReader = {
      format: defaults.format,
      header: override.header ?? defaults.header,
      fileColumns: override.file_columns,
      delimiter: override.delimiter ?? defaults.delimiter,
      encoding: override.encoding ?? defaults.encoding,
    };
    const filePattern = override.files ? globToRegExp(override.files) : base.filePattern;
    return { ...base, filePattern, reader, map: override.map, where: override.where };
  });
}

/**
 * The file's SHA-256. A gzipped file is also decompressed on the way, because
 * DuckDB reads a cut-off gzip file without an error, returning only the rows
 * before the cut: such a file must fail here instead.
 */
async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  const input = createReadStream(file);
  const gunzip = file.endsWith('.gz') ? createGunzip() : undefined;
  const checked = gunzip
    ? new Promise<void>((resolve, reject) => {
        gunzip.on('data', () => undefined).on('end', resolve).on('error', reject);
      })
    : Promise.resolve();
  try {
    for await (const chunk of input) {
      hash.update(chunk as Buffer);
      if (gunzip && !gunzip.write(chunk)) await new Promise((resolve) => gunzip.once('drain', resolve));
    }
    gunzip?.end();
    await checked;
  } catch (error) {
    throw new StreamError(`${file}: the gzip data is cut off or corrupt (${(error as Error).message}); nothing of it was loaded`, { cause: error });
  }
  return hash.digest('hex');
}

/** The first line of a file (gunzipped if need be), without its line ending or byte-order mark. */
async function readFirstLine(file: string, encoding: FileReader['encoding']): Promise<string> {
  const raw = createReadStream(file);
  const input = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  let text = '';
  try {
    for await (const chunk of input) {
      text += (chunk as Buffer).toString(encoding === 'latin-1' ? 'latin1' : 'utf8');
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

/** Splits a CSV header on the delimiter outside double quotes. */
export function parseCsvHeader(line: string, delimiter = ','): string[] {
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
    } else if (char === delimiter && !quoted) {
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
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .filter((file) => stream.filePattern.test(path.relative(folder, file).split(path.sep).join('/')))
    .sort();
}

export async function contractColumns(connection: DuckDBConnection, schema: string, table: string): Promise<ContractColumn[]> {
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

/** The reader of one file: the stream's, or for `auto` the one its extension names. */
export function readerFor(file: string, reader: FileReader): FileReader {
  if (reader.format !== 'auto') return reader;
  const name = file.toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.csv')) return { ...DEFAULT_READERS.csv, encoding: reader.encoding };
  if (name.endsWith('.ndjson') || name.endsWith('.jsonl')) return { ...DEFAULT_READERS.ndjson, encoding: reader.encoding };
  if (name.endsWith('.parquet')) return DEFAULT_READERS.parquet;
  throw new StreamError(`${file}: cannot tell the format from the extension (expected .csv, .ndjson, .jsonl or .parquet)`);
}

/** The names of a file's columns, from its header line or the stream's reader. */
async function fileColumnsOf(connection: DuckDBConnection, file: string, reader: FileReader, contract: ContractColumn[]): Promise<string[]> {
  if (reader.fileColumns) return [...reader.fileColumns];
  if (reader.format === 'ndjson') return contract.map((column) => column.name);
  if (reader.format === 'parquet') return parquetColumns(connection, file);
  if (!reader.header) throw new StreamError(`${file}: the file has no header line, so the stream needs file_columns`);
  const header = await readFirstLine(file, reader.encoding);
  return reader.format === 'csv' ? parseCsvHeader(header, reader.delimiter) : header.trim().split(/\s+/);
}

/** The column names of a Parquet file, from its footer. */
async function parquetColumns(connection: DuckDBConnection, file: string): Promise<string[]> {
  try {
    const rows = await queryRows<{ name: string }>(
      connection,
      `select name from parquet_schema(${sqlString(file)}) where num_children is null or num_children = 0`,
    );
    return rows.map((row) => row.name);
  } catch (error) {
    throw new StreamError(`${file}: not a readable Parquet file: ${(error as Error).message.split('\n')[0]}`, { cause: error });
  }
}

/**
 * Reads lines as single text values: a delimiter and quote that valid text
 * never holds, so no line is split or rejected by the reader itself.
 */
function linesSql(file: string, reader: FileReader): string {
  return `select row_number() over () as _record, line
    from read_csv(${sqlString(file)}, columns = {'line': 'VARCHAR'}, header = false, auto_detect = false,
      delim = chr(1), quote = '', escape = '', strict_mode = false, encoding = ${sqlString(reader.encoding)})`;
}

/** SQL giving one file's rows: `_record`, `_malformed` (why the line cannot be read, or null) and each file column as text. */
function fileRowsSql(file: string, reader: FileReader, fileColumns: string[]): string {
  const notBlank = `line is not null and trim(line, ' ' || chr(9) || chr(13)) <> ''`;
  if (reader.format === 'csv') {
    const columns = `{${fileColumns.map((name) => `${sqlString(name)}: 'VARCHAR'`).join(', ')}}`;
    // No sniffing: the dialect is fixed and every column is text, so a
    // malformed line is rejected (and quarantined) instead of failing the load.
    return `select row_number() over () as _record, null::varchar as _malformed, *
      from read_csv(${sqlString(file)}, auto_detect = false, header = ${reader.header}, delim = ${sqlString(reader.delimiter)},
        quote = '"', escape = '"', columns = ${columns}, encoding = ${sqlString(reader.encoding)},
        store_rejects = true, rejects_table = '_tango_rejects', rejects_scan = '_tango_rejects_scan')`;
  }
  if (reader.format === 'parquet') {
    // Parquet has types: every column is cast to text so the contract checks it like any other value.
    const fields = fileColumns.map((name) => `cast(${sqlIdentifier(name)} as varchar) as ${sqlIdentifier(name)}`).join(', ');
    return `select row_number() over () as _record, null::varchar as _malformed, ${fields} from read_parquet(${sqlString(file)})`;
  }
  if (reader.format === 'ndjson') {
    const fields = fileColumns.map((name) => `_json ->> ${sqlString(`$."${name}"`)} as ${sqlIdentifier(name)}`).join(', ');
    // _json stays available to a stream's map, for nested fields.
    return `select _record,
        case when _json is null then 'malformed JSON: ' || left(line, 80)
             when json_type(_json) <> 'OBJECT' then 'not a JSON object: ' || left(line, 80) end as _malformed,
        _json, ${fields}
      from (select _record, line, try_cast(line as json) as _json from (${linesSql(file, reader)}) where ${notBlank})`;
  }
  const parts = `regexp_split_to_array(trim(line, ' ' || chr(9) || chr(13)), '[ \\t]+')`;
  const fields = fileColumns.map((name, index) => `_parts[${index + 1}] as ${sqlIdentifier(name)}`).join(', ');
  return `select _record,
      case when len(_parts) <> ${fileColumns.length}
        then 'expected ${fileColumns.length} whitespace-separated fields, found ' || len(_parts) || ': ' || left(line, 80) end as _malformed,
      ${fields}
    from (select _record, line, ${parts} as _parts from (${linesSql(file, reader)})
      where ${notBlank} ${reader.header ? 'and _record > 1' : ''})`;
}

/** Why a mapped text row breaks the contract: SQL giving the reason, or '' if it does not. */
function reasonSql(columns: ContractColumn[]): string {
  const checks = columns.flatMap((column) => {
    const value = sqlIdentifier(column.name);
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
  return `coalesce(_malformed, ${checks.length ? `concat_ws('; ', ${checks.join(', ')})` : `''`})`;
}

function typedValueSql(column: ContractColumn): string {
  const value = sqlIdentifier(column.name);
  return column.type === 'VARCHAR' ? `nullif(${value}, '')` : `try_cast(nullif(trim(${value}), '') as ${column.type})`;
}

export interface FileCounts {
  read: number;
  loaded: number;
  quarantined: number;
}

interface PendingFile {
  path: string;
  size: number;
  sha256: string;
}

/** A file to stage, and the origin its rows are recorded under (the file, or e.g. a database batch). */
export interface StagedInput {
  path: string;
  origin: string;
}

export interface StreamTarget {
  source: string;
  stream: FileStreamDefinition;
  table: string;
  columns: ContractColumn[];
}

/**
 * Reads one file into _tango_incoming as contract-shaped text rows and
 * quarantines the lines the CSV reader rejected. Returns that number of lines.
 */
async function stageFile(ctx: ExtractContext, target: StreamTarget, input: StagedInput, fileIndex: number): Promise<number> {
  const { path: file, origin } = input;
  const { connection, runId } = ctx;
  const { stream, columns } = target;
  const reader = readerFor(file, stream.reader);
  const fileColumns = await fileColumnsOf(connection, file, reader, columns);
  if (!stream.map) {
    const missing = columns.filter((column) => column.required && !fileColumns.includes(column.name));
    if (missing.length) {
      throw new StreamError(`${file}: missing required column(s) ${missing.map((c) => c.name).join(', ')} (header: ${fileColumns.join(',')})`);
    }
    const extra = fileColumns.filter((name) => !name.startsWith('_tango_') && !columns.some((column) => column.name === name));
    if (extra.length) ctx.log.warn(`${file}: column(s) not in the contract are ignored: ${extra.join(', ')}`);
  }
  const mapped = columns.map((column) => {
    const expression = stream.map?.[column.name] ?? (fileColumns.includes(column.name) ? sqlIdentifier(column.name) : 'null');
    return `cast((${expression}) as varchar) as ${sqlIdentifier(column.name)}`;
  });
  // A malformed line still counts as read: it is kept whatever the filter says.
  const where = stream.where ? `where _malformed is not null or coalesce((${stream.where}), false)` : '';
  await connection.run('drop table if exists _tango_rejects; drop table if exists _tango_rejects_scan');
  try {
    await connection.run(
      `insert into _tango_incoming
       select ${fileIndex}, ${sqlString(origin)}, _record, _malformed, ${mapped.join(', ')}
       from (${fileRowsSql(file, reader, fileColumns)}) as source_rows ${where}`,
    );
  } catch (error) {
    const message = (error as Error).message.split('\n')[0];
    const hint = stream.map || stream.where ? ' (check the stream\'s map and where expressions; try_strptime and try_cast keep bad values to quarantine)' : '';
    throw new StreamError(`${file}: cannot be read as ${reader.format}: ${message}${hint}`, { cause: error });
  }
  if (reader.format !== 'csv') return 0;
  await connection.run(
    `insert into _meta.quarantine (source, stream, origin, line, record, reason, run_id, quarantined_at)
     select ${sqlString(target.source)}, ${sqlString(stream.name)}, ${sqlString(origin)}, line, any_value(csv_line),
       'malformed CSV: ' || string_agg(error_type || ' (' || error_message || ')', '; '), ${sqlString(runId)}, now()::timestamp
     from _tango_rejects group by line`,
  );
  const [rejected] = await queryRows<{ lines: bigint }>(connection, 'select count(distinct line) as lines from _tango_rejects');
  return Number(rejected?.lines ?? 0);
}

/**
 * Loads a batch of files of one stream into its raw table: stages them, checks
 * every row against the contract, quarantines the bad ones, merges or appends
 * the good ones. The caller holds the transaction. Returns counts per file.
 */
export async function loadStagedFiles(ctx: ExtractContext, target: StreamTarget, files: readonly StagedInput[]): Promise<Map<string, FileCounts>> {
  const { connection, runId } = ctx;
  const { stream, columns, table } = target;
  const textColumns = columns.map((column) => `${sqlIdentifier(column.name)} varchar`).join(', ');
  await connection.run(
    `create or replace temp table _tango_incoming (_file_index integer, _origin varchar, _record bigint, _malformed varchar, ${textColumns})`,
  );
  const rejected = new Map<string, number>();
  for (const [index, file] of files.entries()) rejected.set(file.origin, await stageFile(ctx, target, file, index));

  const keyColumns = stream.primaryKey.map(sqlIdentifier).join(', ');
  await connection.run(
    `create or replace temp table _tango_checked as
     with checked as (
       select *, ${reasonSql(columns)} as _reason from _tango_incoming
     ),
     ranked as (
       select *, first_value(_origin || ' record ' || _record)
           over (partition by ${keyColumns} order by _file_index desc, _record desc) as _kept,
         row_number() over (partition by ${keyColumns} order by _file_index desc, _record desc) as _rank
       from checked where _reason = ''
     )
     select * exclude (_kept, _rank),
       case when _rank > 1 then 'duplicate key in this load; ' || _kept || ' kept' else '' end as _duplicate
     from ranked
     union all by name
     select *, '' as _duplicate from checked where _reason <> ''`,
  );
  const recordJson = `json_object(${columns.map((column) => `${sqlString(column.name)}, ${sqlIdentifier(column.name)}`).join(', ')})::varchar`;
  await connection.run(
    `insert into _meta.quarantine (source, stream, origin, line, record, reason, run_id, quarantined_at)
     select ${sqlString(target.source)}, ${sqlString(stream.name)}, _origin, _record, ${recordJson},
       case when _reason <> '' then _reason else _duplicate end, ${sqlString(runId)}, now()::timestamp
     from _tango_checked where _reason <> '' or _duplicate <> ''`,
  );
  const good = `_reason = '' and _duplicate = ''`;
  if (stream.disposition === 'merge') {
    const keyMatch = stream.primaryKey.map((key) => `${table}.${sqlIdentifier(key)} = loading.${sqlIdentifier(key)}`).join(' and ');
    await connection.run(`delete from ${table} using (select ${keyColumns} from _tango_checked where ${good}) as loading where ${keyMatch}`);
  }
  const columnList = columns.map((column) => sqlIdentifier(column.name)).join(', ');
  await connection.run(
    `insert into ${table} (${columnList}, _loaded_at, _run_id, _origin, _line)
     select ${columns.map(typedValueSql).join(', ')}, now()::timestamp, ${sqlString(runId)}, _origin, _record
     from _tango_checked where ${good} order by _file_index, _record`,
  );

  const perFile = await queryRows<{ origin: string; loaded: bigint; quarantined: bigint }>(
    connection,
    `select _origin as origin, count(*) filter (where ${good}) as loaded, count(*) filter (where not (${good})) as quarantined
     from _tango_checked group by _origin`,
  );
  const counts = new Map<string, FileCounts>();
  for (const { origin } of files) {
    const row = perFile.find((candidate) => candidate.origin === origin);
    const loaded = Number(row?.loaded ?? 0);
    const quarantined = Number(row?.quarantined ?? 0) + (rejected.get(origin) ?? 0);
    counts.set(origin, { read: loaded + quarantined, loaded, quarantined });
  }
  const [totals] = await queryRows<{ incoming: bigint }>(connection, 'select count(*) as incoming from _tango_incoming');
  const rejectedTotal = [...rejected.values()].reduce((sum, lines) => sum + lines, 0);
  const readTotal = [...counts.values()].reduce((sum, file) => sum + file.read, 0);
  if (Number(totals?.incoming ?? -1) + rejectedTotal !== readTotal) {
    throw new StreamError(`${stream.name}: rows do not add up: ${totals?.incoming} staged + ${rejectedTotal} rejected <> ${readTotal} counted`);
  }
  await connection.run('drop table _tango_incoming; drop table _tango_checked');
  return counts;
}

/** Loads a batch of new files and lists them in _meta.loaded_files; the caller holds the transaction. */
async function loadBatch(ctx: ExtractContext, target: StreamTarget, files: PendingFile[]): Promise<Map<string, FileCounts>> {
  const counts = await loadStagedFiles(
    ctx,
    target,
    files.map((file) => ({ path: file.path, origin: file.path })),
  );
  const values = files.map((file) => {
    const fileCounts = counts.get(file.path)!;
    return `(${sqlString(target.source)}, ${sqlString(target.stream.name)}, ${sqlString(file.path)}, ${file.size}, ${sqlString(file.sha256)},
      ${sqlString(ctx.runId)}, now()::timestamp, ${fileCounts.read}, ${fileCounts.loaded}, ${fileCounts.quarantined})`;
  });
  await ctx.connection.run(`insert into _meta.loaded_files values ${values.join(', ')}`);
  return counts;
}



/** Splits the new files into batches of bounded count and size, in file order. */
function batches(files: PendingFile[]): PendingFile[][] {
  const result: PendingFile[][] = [];
  let current: PendingFile[] = [];
  let bytes = 0;
  for (const file of files) {
    if (current.length && (current.length >= BATCH_MAX_FILES || bytes + file.size > BATCH_MAX_BYTES)) {
      result.push(current);
      current = [];
      bytes = 0;
    }
    current.push(file);
    bytes += file.size;
  }
  if (current.length) result.push(current);
  return result;
}

export async function extractFileStream(
  ctx: ExtractContext,
  source: SourceConfig & { absolutePath: string },
  stream: FileStreamDefinition,
  counts: StreamCounts,
): Promise<void> {
  const { connection, log } = ctx;
  const target = await streamTarget(connection, source.name, stream, stream.map);
  const files = listStreamFiles(source.absolutePath, stream);
  if (!files.length) log.debug(`extract: ${source.name}.${stream.name}: no files match in ${source.absolutePath}`);
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
    const pending: PendingFile[] = [];
    for (const file of files) {
      const digest = await sha256(file);
      const previous = ctx.fullRefresh ? undefined : loaded.get(file);
      if (!previous) {
        pending.push({ path: file, size: statSync(file).size, sha256: digest });
      } else if (previous.sha256 === digest) {
        counts.files_skipped++;
      } else {
        throw new StreamError(
          `${file} changed since it was loaded (${previous.loaded_at.toISOString()}); a changed file is not reloaded silently. ` +
            `Run \`tango extract --source ${source.name} --full-refresh\` to reload the stream.`,
        );
      }
    }
    let done = 0;
    for (const batch of batches(pending)) {
      const batchCounts = ctx.fullRefresh ? await loadBatch(ctx, target, batch) : await inTransaction(connection, () => loadBatch(ctx, target, batch));
      for (const [file, fileCounts] of batchCounts) {
        counts.files_loaded++;
        counts.rows_read += fileCounts.read;
        counts.rows_loaded += fileCounts.loaded;
        counts.rows_quarantined += fileCounts.quarantined;
        log.debug('file loaded', { source: source.name, stream: stream.name, file, ...fileCounts });
      }
      done += batch.length;
      log.progress(`${source.name}.${stream.name}: files`, done, pending.length);
    }
  };

  await loadOrReplace(ctx, target, '_meta.loaded_files', loadAll);
}

/**
 * The raw table a stream loads into, with its contract's columns. `map` may
 * only name contract columns.
 */
export async function streamTarget(
  connection: DuckDBConnection,
  source: string,
  stream: FileStreamDefinition,
  map?: Readonly<Record<string, string>>,
): Promise<StreamTarget> {
  const schema = rawSchema(source);
  const columns = await contractColumns(connection, schema, stream.name);
  const unknownMapped = Object.keys(map ?? {}).filter((name) => !columns.some((column) => column.name === name));
  if (unknownMapped.length) throw new StreamError(`map names column(s) not in the ${stream.name} contract: ${unknownMapped.join(', ')}`);
  return { source, stream, table: `${sqlIdentifier(schema)}.${sqlIdentifier(stream.name)}`, columns };
}

/**
 * Runs a stream's load. With full refresh, the whole stream is replaced in
 * one transaction (its rows, its quarantine and its state in `stateTable`):
 * readers see the old rows or the new ones, never a half-reloaded stream;
 * `load` must then not commit on its own (ctx.fullRefresh tells it).
 */
export async function loadOrReplace(ctx: ExtractContext, target: StreamTarget, stateTable: string, load: () => Promise<void>): Promise<void> {
  if (!ctx.fullRefresh) return load();
  await inTransaction(ctx.connection, async () => {
    await ctx.connection.run(`delete from ${target.table}`);
    const where = `where source = ${sqlString(target.source)} and stream = ${sqlString(target.stream.name)}`;
    await ctx.connection.run(`delete from ${stateTable} ${where}; delete from _meta.quarantine ${where}`);
    await load();
  });
}

