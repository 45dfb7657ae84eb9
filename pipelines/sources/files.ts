// Loads file streams (CSV, NDJSON, whitespace-separated; gzipped or not) into
// raw_<source>.<stream> with DuckDB's own readers. Every value is read as
// text, mapped into the stream's contract and checked in SQL; a row that
// breaks the contract is quarantined with its reason. New files are loaded in
// batches, each committed with its _meta.loaded_files rows in one transaction:
// a file is loaded entirely or not at all, and a file already loaded is
// skipped, so running the same extract twice changes nothing.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, createReadStream, mkdirSync, mkdtempSync, openSync, readdirSync, readSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createGunzip } from 'node:zlib';
import type { DuckDBConnection } from '@duckdb/node-api';

import type { SourceConfig, StreamOverride } from '../config.ts';
import type { Logger } from '../log.ts';
import { inTransaction, keepInsertionOrder, queryRows, sqlIdentifier, sqlString } from '../warehouse.ts';
import { DEFAULT_READERS, type FileReader, type FileSourceKind, type FileStreamDefinition, type StagedStream, type StreamCounts } from './types.ts';

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
  /** The contract's CHECK constraints on this column, as SQL over its column names. */
  checks: string[];
}

/**
 * Runs `work` with a folder for the pages and batches a source spools before
 * DuckDB reads them: `<warehouse>.spool/<name>`, beside the warehouse rather
 * than in the system's temp dir (often in memory, and never cleaned), emptied
 * first so that what a killed run left there goes with the next run, and
 * removed after.
 */
export async function withSpoolDir<T>(ctx: ExtractContext, name: string, work: (dir: string) => Promise<T>): Promise<T> {
  const [database] = await queryRows<{ path: string | null }>(ctx.connection, 'select path from duckdb_databases() where database_name = current_database()');
  // A warehouse in memory has no folder: a temp dir stands in.
  const base = database?.path ? `${database.path}.spool` : mkdtempSync(path.join(tmpdir(), 'tango-spool-'));
  const dir = path.join(base, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    return await work(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    try {
      rmdirSync(base);
    } catch {
      // another source's folder is still there
    }
  }
}

export class StreamError extends Error {
  override name = 'StreamError';
}

/**
 * A batch is committed at once; these bound how much one transaction holds,
 * and so the memory a load takes, whatever the number of files: counted in
 * bytes of text (a gzip file by its uncompressed size), since that is what
 * DuckDB holds, and in files, since DuckDB also holds some memory for every
 * file a statement reads until the statement ends (about 0.4 MB for a web
 * event file, however short: 1,100 small files took more than the default
 * 512 MB). (One file is never split: a larger file is a batch alone.)
 */
const BATCH_MAX_FILES = 250;
/** Megabytes of text per batch; $TANGO_FILE_BATCH_MB overrides it. */
export const DEFAULT_FILE_BATCH_MB = 256;

/** $variable as a number above zero (a whole one if `integer`), or `fallback` when it is unset or not such a number. */
export function positiveNumberFromEnv(variable: string, fallback: number, integer = false): number {
  const value = Number(process.env[variable]);
  return (integer ? Number.isInteger(value) : Number.isFinite(value)) && value > 0 ? value : fallback;
}

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
 * A stream the config lists is required: an optional one (a table or
 * endpoint many systems lack) is optional no more.
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
    return { ...adapt(base, override), optional: false };
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
 * A file source that lists its streams reads those alone. The files no
 * listed stream reads that the kind's own layout gives to an unlisted one
 * (contacts*.csv beside a remapped support_tickets stream) are named, one
 * line per such stream: a config meant to remap one stream must not stop
 * loading the others unnoticed.
 */
export function filesOfUnlistedStreams(kind: FileSourceKind, source: SourceConfig, folder: string): string[] {
  if (!source.streams) return [];
  const listed = resolveFileStreams(kind, source);
  const unlisted = kind.streams.filter((stream) => !(stream.name in source.streams!));
  if (!unlisted.length) return [];
  let files: string[];
  try {
    files = sourceFiles(folder);
  } catch {
    return []; // each listed stream reports the unreadable folder itself
  }
  const unread = files.filter((file) => !listed.some((stream) => stream.filePattern.test(file)));
  return unlisted.flatMap((stream) => {
    const its = unread.filter((file) => stream.filePattern.test(file));
    if (!its.length) return [];
    const shown = its.slice(0, 3).join(', ') + (its.length > 3 ? `, and ${its.length - 3} more` : '');
    return [
      `${source.name}.${stream.name}: not read, as the config lists only ${Object.keys(source.streams!).join(', ')}, ` +
        `though ${its.length} file(s) are in its layout (${shown}); list it under streams (as ${stream.name}: {} to keep its layout) to load them`,
    ];
  });
}

const GUNZIP_CHECK_CHUNK_BYTES = 256 * 1024;

/**
 * The file's SHA-256. A gzipped file is also decompressed on the way, because
 * DuckDB reads a cut-off gzip file without an error, returning only the rows
 * before the cut: such a file must fail here instead.
 */
async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  // Output in 256 KiB pieces, not zlib's 16 KiB: the output is thrown away,
  // and handing it over in small pieces cost as much as the inflating (web
  // files of 155,000 people: 9.9 -> 4.9 CPU seconds).
  const gunzip = file.endsWith('.gz') ? createGunzip({ chunkSize: GUNZIP_CHECK_CHUNK_BYTES }) : undefined;
  let gzipError: Error | undefined;
  // Settles when the gzip data ends or turns out bad; never rejects, so a bad
  // file cannot leave an unhandled rejection behind while reading goes on.
  const gunzipDone = new Promise<void>((resolve) => {
    if (!gunzip) return resolve();
    gunzip
      .on('data', () => undefined)
      .on('end', resolve)
      .on('error', (error) => {
        gzipError = error;
        resolve();
      });
  });
  try {
    for await (const chunk of createReadStream(file)) {
      hash.update(chunk as Buffer);
      if (gunzip && !gzipError && !gunzip.write(chunk)) await Promise.race([once(gunzip, 'drain').catch(() => undefined), gunzipDone]);
    }
  } catch (error) {
    throw new StreamError(`${file}: cannot read the file (${(error as Error).message})`, { cause: error });
  }
  if (gunzip && !gzipError) gunzip.end();
  await gunzipDone;
  if (gzipError) throw new StreamError(`${file}: the gzip data is cut off or corrupt (${gzipError.message}); nothing of it was loaded`, { cause: gzipError });
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

/** Every file below the source folder, as a path relative to it with / between folders, sorted. */
function sourceFiles(folder: string): string[] {
  let entries;
  try {
    entries = readdirSync(folder, { withFileTypes: true, recursive: true });
  } catch (error) {
    throw new StreamError(`source folder ${folder} cannot be read (${(error as NodeJS.ErrnoException).code})`, { cause: error });
  }
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(folder, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort();
}

function listStreamFiles(folder: string, stream: FileStreamDefinition): string[] {
  return sourceFiles(folder)
    .filter((file) => stream.filePattern.test(file))
    .map((file) => path.join(folder, file));
}

async function contractColumns(connection: DuckDBConnection, schema: string, table: string): Promise<ContractColumn[]> {
  const rows = await queryRows<{ column_name: string; data_type: string; is_nullable: string }>(
    connection,
    `select column_name, data_type, is_nullable from information_schema.columns
     where table_schema = $schema and table_name = $table order by ordinal_position`,
    { schema, table },
  );
  const checks = await queryRows<{ column_name: string; expression: string }>(
    connection,
    `select constraint_column_names[1] as column_name, expression from duckdb_constraints()
     where schema_name = $schema and table_name = $table and constraint_type = 'CHECK' order by constraint_index`,
    { schema, table },
  );
  return rows
    .filter((row) => !row.column_name.startsWith('_'))
    .map((row) => ({
      name: row.column_name,
      type: row.data_type,
      required: row.is_nullable === 'NO',
      checks: checks.filter((check) => check.column_name === row.column_name).map((check) => check.expression),
    }));
}

/**
 * A contract CHECK expression over the typed values: each bare column name
 * (not a string, a quoted name or a function call) becomes its `_typed_` column.
 */
function checkOverTypedValues(expression: string, columns: ContractColumn[]): string {
  return expression.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|\b[A-Za-z_][A-Za-z0-9_]*\b(?!\s*\()/g, (token) => {
    const column = columns.find((candidate) => candidate.name === token);
    return column ? typedName(column) : token;
  });
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
  if (header.trim() === '') {
    throw new StreamError(statSync(file).size === 0 ? `${file}: the file is empty, not even a header line` : `${file}: the first line is empty, not a header`);
  }
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
 * Lines DuckDB's CSV reader cannot read (malformed CSV, invalid UTF-8, longer
 * than its maximum line size) go to these tables, to be quarantined, instead
 * of failing the read.
 */
const REJECTS_OPTIONS = `store_rejects = true, rejects_table = '_tango_rejects', rejects_scan = '_tango_rejects_scan'`;

/** The read options of a line-oriented file: one text value per line. */
function linesOptions(reader: FileReader): string {
  // A delimiter and quote that valid text never holds, so no line is split or
  // rejected by the reader itself.
  return `columns = {'line': 'VARCHAR'}, header = false, auto_detect = false,
      delim = chr(1), quote = '', escape = '', strict_mode = false, encoding = ${sqlString(reader.encoding)}, ${REJECTS_OPTIONS}`;
}

/**
 * SQL reading a group of files of one layout, in file and line order, as
 * text: `_file` (the file's key, `fileKey` over DuckDB's `filename`) and the
 * raw columns (or `line`).
 */
function readSql(files: readonly string[], reader: FileReader, fileColumns: string[], fileKey: string): string {
  const list = `[${files.map(sqlString).join(', ')}]`;
  if (reader.format === 'csv') {
    const columns = `{${fileColumns.map((name) => `${sqlString(name)}: 'VARCHAR'`).join(', ')}}`;
    // No sniffing: the dialect is fixed and every column is text, so a
    // malformed line is rejected (and quarantined) instead of failing the load.
    return `select ${fileKey} as _file, * exclude (filename)
      from read_csv(${list}, auto_detect = false, header = ${reader.header}, delim = ${sqlString(reader.delimiter)},
        quote = '"', escape = '"', columns = ${columns}, encoding = ${sqlString(reader.encoding)}, filename = true, ${REJECTS_OPTIONS})`;
  }
  if (reader.format === 'parquet') {
    // Parquet has types: every column is cast to text so the contract checks it like any other value.
    const fields = fileColumns.map((name) => `cast(${sqlIdentifier(name)} as varchar) as ${sqlIdentifier(name)}`).join(', ');
    return `select ${fileKey} as _file, ${fields} from read_parquet(${list}, filename = true)`;
  }
  return `select ${fileKey} as _file, line from read_csv(${list}, ${linesOptions(reader)}, filename = true)`;
}

/**
 * SQL giving, for every row the reader gives (every line of a format read by
 * lines), in order: `_file`, `_record` (as `read` gives it), `_skipped` (a blank line: no row), `_malformed`
 * (why a line cannot be read), `_source_line` (the line as it came in, for a
 * format read by lines; null for CSV and Parquet, whose rows are their
 * fields) and each file column as text. Nothing is filtered out, so that
 * the staged rows' rowids can number the records (see STAGED_ROWS).
 */
function rowsSql(reader: FileReader, fileColumns: string[], read: string): string {
  if (reader.format === 'csv' || reader.format === 'parquet') {
    const fields = fileColumns.map(sqlIdentifier).join(', ');
    return `select _file, _record, false as _skipped, null::varchar as _malformed, null::varchar as _source_line, ${fields} from (${read})`;
  }
  // trim() scans the whole line: only lines that start with white space need
  // it. A case, not an or: DuckDB may evaluate an or's terms in any order (it
  // put the trim first, on every line), a case's branches only where they apply.
  const blank = `case when line is null or line = '' then true
      when ascii(line) in (32, 9, 13) then trim(line, ' ' || chr(9) || chr(13)) = '' else false end`;
  // Every line, a blank one marked as skipped rather than left out.
  const lines = `select _file, _record, line, ${blank} as _skipped from (${read})`;
  if (reader.format === 'ndjson') {
    // One JSON parse per line for every field at once (json_transform into a
    // struct of text); _json stays available to a stream's map, for nested fields.
    const shape = sqlString(JSON.stringify(Object.fromEntries(fileColumns.map((name) => [name, 'VARCHAR']))));
    const fields = fileColumns.map((name) => `_values[${sqlString(name)}] as ${sqlIdentifier(name)}`).join(', ');
    return `select _file, _record, _skipped,
        case when _skipped then null when not _valid then 'malformed JSON: ' || left(line, 80)
             when not _object then 'not a JSON object: ' || left(line, 80) end as _malformed, line as _source_line,
        case when _valid then line::json end as _json, ${fields}
      from (select *, case when _valid and _object then json_transform(line, ${shape}) end as _values
            from (select *, case when _skipped then false else json_valid(line) end as _valid,
                    case when starts_with(line, '{') then true else starts_with(ltrim(line, ' ' || chr(9)), '{') end as _object
                  from (${lines})))`;
  }
  const parts = `regexp_split_to_array(trim(line, ' ' || chr(9) || chr(13)), '[ \\t]+')`;
  const fields = fileColumns.map((name, index) => `_parts[${index + 1}] as ${sqlIdentifier(name)}`).join(', ');
  return `select _file, _record, _skipped,
      case when not _skipped and len(_parts) <> ${fileColumns.length}
        then 'expected ${fileColumns.length} whitespace-separated fields, found ' || len(_parts) || ': ' || left(line, 80) end as _malformed,
      line as _source_line, ${fields}
    from (select _file, _record, line, _skipped, case when not _skipped then ${parts} end as _parts
      from (${lines} ${reader.header ? 'where _record > 1' : ''}))`;
}

/** SQL for a row as a JSON object of the contract's columns, each value given by `value`. */
function recordJsonSql(columns: ContractColumn[], value: (column: ContractColumn) => string): string {
  return `json_object(${columns.map((column) => `${sqlString(column.name)}, ${value(column)}`).join(', ')})::varchar`;
}

/** The typed value of a contract column, computed once per row and kept as `_typed_<name>`. */
function typedName(column: { name: string }): string {
  return sqlIdentifier(`_typed_${column.name}`);
}

/**
 * The value of a contract column as text, trimmed, null when empty: computed
 * once per row as `_text_<name>` for the columns whose checks or cast need it
 * (each trim scans the value; the checks below would otherwise repeat it).
 */
function textName(column: { name: string }): string {
  return sqlIdentifier(`_text_${column.name}`);
}

function needsText(column: ContractColumn): boolean {
  return column.required || column.type !== 'VARCHAR';
}

function textValueSql(column: ContractColumn): string {
  const value = sqlIdentifier(column.name);
  // trim() decodes the whole value to find its end, and removes only Unicode
  // space separators: a value all ASCII (its byte length is its length) that
  // neither begins nor ends with a space has nothing to trim, and most values
  // are such (email events of 155,000 people: the trims 1.6-2.2 -> 0.8-1.0 s).
  return `case when ${value} = '' then null
    when not starts_with(${value}, ' ') and not ends_with(${value}, ' ') and strlen(${value}) = length(${value}) then ${value}
    else nullif(trim(${value}), '') end`;
}

function typedValueSql(column: ContractColumn): string {
  return column.type === 'VARCHAR' ? `nullif(${sqlIdentifier(column.name)}, '')` : `try_cast(${textName(column)} as ${column.type})`;
}

/**
 * Why a mapped text row breaks the contract, from its text and typed values:
 * SQL giving the reason, or '' if it does not. A row is checked like the
 * table would check it (not null, the type, the CHECK constraints), so it is
 * quarantined instead of failing the insert.
 */
function reasonSql(columns: ContractColumn[]): string {
  // Each check as a condition true (never null) when the row fails it, and its message.
  const checks = columns.flatMap((column) => {
    const value = sqlIdentifier(column.name);
    const checksForColumn: { fails: string; message: string }[] = [];
    if (column.required) checksForColumn.push({ fails: `${textName(column)} is null`, message: `'${column.name}: required but empty'` });
    if (column.type !== 'VARCHAR') {
      checksForColumn.push({
        fails: `(${typedName(column)} is null and ${textName(column)} is not null)`,
        message: `'${column.name}: not a ${column.type}: ' || left(${value}, 80)`,
      });
    }
    for (const check of column.checks) {
      checksForColumn.push({
        fails: `not coalesce(${checkOverTypedValues(check, columns)}, true)`,
        message: `${sqlString(`${column.name}: fails the contract's check ${check}: `)} || left(${value}, 80)`,
      });
    }
    return checksForColumn;
  });
  if (!checks.length) return `coalesce(_malformed, '')`;
  // The messages are built only for the rows that fail a check: a good row
  // costs one test per check, not the building and joining of empty messages.
  const messages = checks.map((check) => `case when ${check.fails} then ${check.message} end`);
  return `coalesce(_malformed, case when ${checks.map((check) => check.fails).join(' or ')} then concat_ws('; ', ${messages.join(', ')}) else '' end)`;
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
  /** Modification time, microseconds since the epoch. */
  modifiedUs: number;
}

/** A file to stage, and the origin its rows are recorded under (the file, or e.g. a database batch). */
export interface StagedInput {
  path: string;
  origin: string;
}

export interface StreamTarget {
  /** The source guarantees one row per key in a load (a table's primary key): no duplicate check needed. */
  uniqueKeys?: boolean;
  source: string;
  stream: StagedStream;
  table: string;
  columns: ContractColumn[];
}

/** Files of one layout, staged with one read. */
interface StageGroup {
  inputs: { input: StagedInput; index: number }[];
  reader: FileReader;
  fileColumns: string[];
}

/** Splits a batch into runs of consecutive files that share a layout (format and columns), of at most BATCH_MAX_FILES files. */
async function stageGroups(ctx: ExtractContext, target: StreamTarget, inputs: readonly StagedInput[]): Promise<StageGroup[]> {
  const { stream, columns } = target;
  const groups: StageGroup[] = [];
  for (const [index, input] of inputs.entries()) {
    const reader = readerFor(input.path, stream.reader);
    const fileColumns = await fileColumnsOf(ctx.connection, input.path, reader, columns);
    if (!stream.map) {
      const missing = columns.filter((column) => column.required && !fileColumns.includes(column.name));
      if (missing.length) {
        throw new StreamError(`${input.path}: missing required column(s) ${missing.map((c) => c.name).join(', ')} (header: ${fileColumns.join(',')})`);
      }
      const extra = fileColumns.filter((name) => !name.startsWith('_tango_') && !columns.some((column) => column.name === name));
      if (extra.length) ctx.log.warn(`${input.path}: column(s) not in the contract are ignored: ${extra.join(', ')}`);
    }
    const last = groups[groups.length - 1];
    // One read holds memory for each of its files (see BATCH_MAX_FILES): a
    // caller staging more at once (an API's pages loaded together) is read in parts.
    const sameRead = last && last.inputs.length < BATCH_MAX_FILES && JSON.stringify([last.reader, last.fileColumns]) === JSON.stringify([reader, fileColumns]);
    if (sameRead) last.inputs.push({ input, index });
    else groups.push({ inputs: [{ input, index }], reader, fileColumns });
  }
  return groups;
}

/**
 * The batch's files in _tango_files: each with its position, origin and key,
 * the hash of its path that every staged row holds (a path is many times its
 * 8 bytes). Returns the SQL giving the key from DuckDB's `filename`: keys
 * must differ within the batch, so should two paths share a hash (about one
 * batch in 10^13), the hash takes a seed too.
 */
export async function createFileTable(
  connection: DuckDBConnection,
  inputs: readonly StagedInput[],
  // A parameter so that a test can make paths collide.
  pathHash: (name: string, seed: number) => string = (name, seed) => (seed === 0 ? `hash(${name})` : `hash(${name}, ${seed})`),
): Promise<string> {
  const fileRows = inputs.map((input, index) => `(${sqlString(input.path)}, ${index}, ${sqlString(input.origin)})`);
  for (let seed = 0; seed < 8; seed++) {
    const fileKey = (name: string) => pathHash(name, seed);
    await connection.run(
      `create or replace temp table _tango_files as
       select *, ${fileKey('_tango_path')} as _tango_file_key, null::bigint as _tango_first_rowid
       from (values ${fileRows.join(', ')}) as files(_tango_path, _tango_file_index, _tango_origin)`,
    );
    const [keys] = await queryRows<{ unique_keys: boolean }>(connection, 'select count(distinct _tango_file_key) = count(*) as unique_keys from _tango_files');
    if (keys?.unique_keys) return fileKey('filename');
  }
  throw new Error('the paths of the batch share hashes under every seed: a path is listed twice');
}

/**
 * Reads a group of files into _tango_checked: contract-shaped text rows,
 * their typed values and why each breaks the contract (if it does); the
 * lines the CSV reader rejected go to _tango_rejected.
 *
 * Without a map or where, the rows go straight from the reader into
 * _tango_checked in one pass, in file and line order, a blank line among them
 * with a null _reason (no row): their rowids number each file's records. A
 * map or where may use the record number (`_record`) and reorder rows (a
 * window), and a header line of whitespace-separated files is told by its
 * number: the files are then first read into _tango_read, whose rowids
 * number the records.
 */
async function stageGroup(ctx: ExtractContext, target: StreamTarget, group: StageGroup, first: boolean, fileKey: string): Promise<void> {
  const { connection } = ctx;
  const { stream, columns } = target;
  const { reader, fileColumns } = group;
  const paths = group.inputs.map(({ input }) => input.path);
  const mapped = columns.map((column) => {
    const expression = stream.map?.[column.name] ?? (fileColumns.includes(column.name) ? sqlIdentifier(column.name) : 'null');
    return `cast((${expression}) as varchar) as ${sqlIdentifier(column.name)}`;
  });
  // A malformed line still counts as read: it is kept whatever the filter says.
  const where = stream.where ? `where _malformed is not null or coalesce((${stream.where}), false)` : '';
  // Named by origin: a file's path, or the API page or database batch its rows came from.
  const origins = group.inputs.map(({ input }) => input.origin);
  const described = origins.length === 1 ? origins[0] : `${origins[0]} (and ${origins.length - 1} more file(s) of this batch)`;
  const cannotRead = (error: unknown) =>
    new StreamError(`${described}: cannot be read as ${reader.format}: ${(error as Error).message.split('\n')[0]}`, { cause: error });
  await connection.run('drop table if exists _tango_rejects; drop table if exists _tango_rejects_scan');
  // Rowids number the records: rows in file order, with nothing between the
  // reader and the table that may reorder them (a join or a window would).
  await keepInsertionOrder(connection, true);
  const read = readSql(paths, reader, fileColumns, fileKey);
  const numberedFirst = Boolean(stream.map || stream.where || (reader.format === 'whitespace' && reader.header));
  let source = `select *, null::bigint as _record from (${read})`;
  if (numberedFirst) {
    try {
      await connection.run(`create or replace temp table _tango_read as ${read}`);
    } catch (error) {
      throw cannotRead(error);
    }
    source = `select *, rowid - min(rowid) over (partition by _file) + 1 as _record from _tango_read`;
  }
  try {
    // The first group creates the table from its rows: DuckDB writes a
    // table it creates from a query faster than it inserts into one.
    await connection.run(
      `${first ? 'create or replace temp table _tango_checked as' : 'insert into _tango_checked by name'}
       select _file, _record,
         ${columns.map((column) => `cast(${typedName(column)} as ${column.type}) as ${typedName(column)}`).join(', ')}, _reason,
         -- The row as it came in is kept for the quarantine only: its line, or its fields.
         case when _reason <> '' then coalesce(_source_line, ${recordJsonSql(columns, (column) => sqlIdentifier(column.name))}) end as _raw, '' as _duplicate
       from (
       select *, case when not _skipped then ${reasonSql(columns)} end as _reason
       from (
         select *, ${columns.map((column) => `${typedValueSql(column)} as ${typedName(column)}`).join(', ')}
         from (
         select *${columns.filter(needsText).map((column) => `, ${textValueSql(column)} as ${textName(column)}`).join('')}
         from (
           select _file, _record, _skipped, _malformed, _source_line, ${mapped.join(', ')}
           from (${rowsSql(reader, fileColumns, source)}) ${where}
         ))
       ))`,
    );
  } catch (error) {
    if (!numberedFirst && /^(Invalid Input|IO) Error/.test((error as Error).message)) throw cannotRead(error);
    const hint = stream.map || stream.where ? " (check the stream's map and where expressions; try_strptime and try_cast keep bad values to quarantine)" : '';
    throw new StreamError(`${described}: cannot be mapped into ${stream.name}: ${(error as Error).message.split('\n')[0]}${hint}`, { cause: error });
  }
  if (numberedFirst) await connection.run('drop table _tango_read');
  if (reader.format !== 'parquet') {
    const rejects = `_tango_rejects as rejects join _tango_rejects_scan as scan using (scan_id, file_id)
      join _tango_files on scan.file_path = _tango_files._tango_path`;
    await connection.run(
      `insert into _tango_rejected
       select any_value(_tango_origin), rejects.line, any_value(rejects.csv_line),
         ${sqlString(reader.format === 'csv' ? 'malformed CSV: ' : 'unreadable line: ')} || string_agg(rejects.error_type || ' (' || rejects.error_message || ')', '; ')
       from ${rejects} group by scan.file_path, rejects.line`,
    );
  }
}

/**
 * The staged rows with their file's position and origin, and `_record_number`:
 * the record's number in its file, from its rowid and the first rowid of its
 * file (a file's rows are staged together, in order), unless the row holds
 * it already (see the duplicate check).
 */
const STAGED_ROWS = `(select _tango_checked.*, _tango_file_index as _file_index, _tango_origin as _origin,
    coalesce(_record, _tango_checked.rowid - _tango_first_rowid + 1) as _record_number
  from _tango_checked join _tango_files on _tango_checked._file = _tango_files._tango_file_key)`;

/** Whether two good staged rows share a key: a grouping, much cheaper than the window that picks the winners. */
async function hasDuplicateKeys(connection: DuckDBConnection, keyColumns: string): Promise<boolean> {
  const [row] = await queryRows<{ duplicated: boolean }>(
    connection,
    `select exists (select 1 from _tango_checked where _reason = '' group by ${keyColumns} having count(*) > 1) as duplicated`,
  );
  return Boolean(row?.duplicated);
}

/**
 * Loads a batch of files of one stream into its raw table: stages them, checks
 * every row against the contract, then in one transaction quarantines the bad
 * rows, merges or appends the good ones and runs `commitWith` (the caller's
 * bookkeeping, e.g. its cursor). Staging happens before the transaction:
 * DuckDB scans temp tables created inside a transaction on one thread only.
 * With a full refresh the caller holds the transaction. Returns counts per
 * origin.
 */
export async function loadStagedFiles(
  ctx: ExtractContext,
  target: StreamTarget,
  files: readonly StagedInput[],
  commitWith: (counts: Map<string, FileCounts>) => Promise<void> = async () => undefined,
): Promise<Map<string, FileCounts>> {
  const { connection, runId } = ctx;
  const { stream, columns, table } = target;
  const typedColumns = columns.map((column) => `${typedName(column)} ${column.type}`);
  await connection.run(
    `create or replace temp table _tango_checked (_file ubigint, _record bigint,
       ${typedColumns.join(', ')}, _reason varchar, _raw varchar, _duplicate varchar);
     create or replace temp table _tango_rejected (_origin varchar, _record bigint, _raw varchar, _reason varchar)`,
  );
  const fileKey = await createFileTable(connection, files);
  for (const [index, group] of (await stageGroups(ctx, target, files)).entries()) await stageGroup(ctx, target, group, index === 0, fileKey);
  await connection.run(
    `update _tango_files set _tango_first_rowid = firsts.first_rowid
     from (select _file, min(rowid) as first_rowid from _tango_checked group by _file) as firsts where _tango_file_key = firsts._file`,
  );

  const typedKey = (key: string) => typedName({ name: key });
  const keyColumns = stream.primaryKey.map(typedKey).join(', ');
  if (stream.disposition === 'merge' && !target.uniqueKeys && (await hasDuplicateKeys(connection, keyColumns))) {
    // A key twice in one load of a merged stream: the last row wins, the
    // others are quarantined. (Appended events keep every row; staging
    // deduplicates them.) Rows that break the contract sit in their own
    // window partitions, so only good rows compete for a key. The rows are
    // written again, in any order: each now holds its record number.
    const keyWindow = `partition by ${keyColumns}, _reason = '' order by _file_index desc, _record_number desc`;
    await connection.run(
      `create or replace temp table _tango_checked as
       select _file, _record_number as _record, ${columns.map(typedName).join(', ')}, _reason, _raw,
         case when _reason = '' and row_number() over (${keyWindow}) > 1
           then 'duplicate key in this load; ' || first_value(_origin || ' record ' || _record_number) over (${keyWindow}) || ' kept'
           else '' end as _duplicate
       from ${STAGED_ROWS}`,
    );
  }
  const good = `_reason = '' and _duplicate = ''`;
  const bad = `_reason <> '' or _duplicate <> ''`;
  const perOrigin = new Map(
    (
      await queryRows<{ origin: string; loaded: bigint; quarantined: bigint }>(
        connection,
        `select _origin as origin, sum(loaded)::bigint as loaded, sum(quarantined)::bigint as quarantined from (
           select _tango_origin as _origin, loaded, quarantined
           from (select _file, count(*) filter (where ${good}) as loaded, count(*) filter (where ${bad}) as quarantined
                 from _tango_checked group by _file) as staged
             join _tango_files on staged._file = _tango_files._tango_file_key
           union all
           select _origin, 0, count(*) from _tango_rejected group by _origin)
         group by _origin`,
      )
    ).map((row) => [row.origin, row]),
  );
  const counts = new Map<string, FileCounts>();
  for (const { origin } of files) {
    const row = perOrigin.get(origin);
    const loaded = Number(row?.loaded ?? 0);
    const quarantined = Number(row?.quarantined ?? 0);
    counts.set(origin, { read: loaded + quarantined, loaded, quarantined });
  }
  // Every staged row (a non-null _reason) and every rejected line must be counted under its file.
  const [totals] = await queryRows<{ staged: bigint; rejected: bigint }>(
    connection,
    'select (select count(_reason) from _tango_checked) as staged, (select count(*) from _tango_rejected) as rejected',
  );
  const staged = Number(totals?.staged ?? 0);
  const rejectedTotal = Number(totals?.rejected ?? 0);
  const readTotal = [...counts.values()].reduce((sum, file) => sum + file.read, 0);
  if (staged + rejectedTotal !== readTotal) {
    throw new StreamError(`${stream.name}: rows do not add up: ${staged} staged + ${rejectedTotal} rejected <> ${readTotal} counted`);
  }

  const commit = async () => {
    const quarantine = `insert into _meta.quarantine (source, stream, origin, line, record, reason, run_id, quarantined_at)`;
    const tags = `${sqlString(target.source)}, ${sqlString(stream.name)}`;
    await connection.run(`${quarantine} select ${tags}, _origin, _record, _raw, _reason, ${sqlString(runId)}, now()::timestamp from _tango_rejected`);
    // A duplicate's values were all valid: its typed values describe it.
    await connection.run(
      `${quarantine}
       select ${tags}, _origin, _record_number,
         coalesce(_raw, ${recordJsonSql(columns, (column) => `cast(${typedName(column)} as varchar)`)}),
         case when _reason <> '' then _reason else _duplicate end, ${sqlString(runId)}, now()::timestamp
       from ${STAGED_ROWS} where ${bad}`,
    );
    if (stream.disposition === 'merge') {
      const keyMatch = stream.primaryKey.map((key) => `${table}.${sqlIdentifier(key)} = loading.${sqlIdentifier(key)}`).join(' and ');
      const loadingKeys = stream.primaryKey.map((key) => `${typedKey(key)} as ${sqlIdentifier(key)}`).join(', ');
      await connection.run(`delete from ${table} using (select ${loadingKeys} from _tango_checked where ${good}) as loading where ${keyMatch}`);
    }
    const columnList = columns.map((column) => sqlIdentifier(column.name)).join(', ');
    // Each raw row names its origin and record: their order in the table
    // serves nothing. (Should the insert fail, the next stage turns order back on.)
    await keepInsertionOrder(connection, false);
    await connection.run(
      `insert into ${table} (${columnList}, _loaded_at, _run_id, _origin, _line)
       select ${columns.map(typedName).join(', ')}, now()::timestamp, ${sqlString(runId)}, _origin, _record_number
       from ${STAGED_ROWS} where ${good}`,
    );
    await keepInsertionOrder(connection, true);
    await commitWith(counts);
  };
  await commitForStream(ctx, commit);
  await connection.run('drop table _tango_checked; drop table _tango_rejected; drop table _tango_files');
  return counts;
}

/** Loads a batch of new files and lists them in _meta.loaded_files, in one transaction. */
async function loadBatch(ctx: ExtractContext, target: StreamTarget, files: PendingFile[]): Promise<Map<string, FileCounts>> {
  const inputs = files.map((file) => ({ path: file.path, origin: file.path }));
  return loadStagedFiles(ctx, target, inputs, async (counts) => {
    const values = files.map((file) => {
      const fileCounts = counts.get(file.path)!;
      return `(${sqlString(target.source)}, ${sqlString(target.stream.name)}, ${sqlString(file.path)}, ${file.size}, ${sqlString(file.sha256)},
        ${sqlString(ctx.runId)}, now()::timestamp, ${fileCounts.read}, ${fileCounts.loaded}, ${fileCounts.quarantined}, make_timestamp(${file.modifiedUs}))`;
    });
    await ctx.connection.run(
      `insert into _meta.loaded_files (source, stream, path, size_bytes, sha256, run_id, loaded_at, rows_read, rows_loaded, rows_quarantined, modified_at)
       values ${values.join(', ')}`,
    );
  });
}

/** Files hashed (and gunzip-checked) at once, so that zlib's threads work while the next file is read. */
const FINGERPRINT_CONCURRENCY = 4;

/** `work` over every item, at most `limit` at a time; results in item order. */
async function mapConcurrently<Item, Result>(items: readonly Item[], limit: number, work: (item: Item) => Promise<Result>): Promise<Result[]> {
  const results: Result[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * About how many bytes of text a file holds: for a gzip file the uncompressed
 * size its last four bytes record (modulo 4 GiB, as gzip keeps it), otherwise
 * its size.
 */
function textBytes(file: string, size: number): number {
  if (!file.endsWith('.gz') || size < 18) return size;
  const descriptor = openSync(file, 'r');
  try {
    const trailer = Buffer.alloc(4);
    readSync(descriptor, trailer, 0, 4, size - 4);
    return Math.max(size, trailer.readUInt32LE(0));
  } finally {
    closeSync(descriptor);
  }
}

/** Splits files into batches of bounded count and text size, in file order. */
function batches<File extends { file: string; size: number }>(files: File[]): File[][] {
  const maxBytes = positiveNumberFromEnv('TANGO_FILE_BATCH_MB', DEFAULT_FILE_BATCH_MB) * 1024 ** 2;
  const result: File[][] = [];
  let current: File[] = [];
  let bytes = 0;
  for (const file of files) {
    const text = textBytes(file.file, file.size);
    if (current.length && (current.length >= BATCH_MAX_FILES || bytes + text > maxBytes)) {
      result.push(current);
      current = [];
      bytes = 0;
    }
    current.push(file);
    bytes += text;
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
  const target = await streamTarget(connection, source.name, stream);
  const files = listStreamFiles(source.absolutePath, stream);
  if (!files.length) log.debug(`extract: ${source.name}.${stream.name}: no files match in ${source.absolutePath}`);
  const loaded = new Map(
    (
      await queryRows<{ path: string; sha256: string; loaded_at: Date; size_bytes: bigint; modified_us: bigint | null }>(
        connection,
        `select path, sha256, loaded_at, size_bytes, epoch_us(modified_at) as modified_us
         from _meta.loaded_files where source = $source and stream = $stream`,
        { source: source.name, stream: stream.name },
      )
    ).map((row) => [row.path, row]),
  );

  const loadAll = async () => {
    const found = files.map((file) => {
      const stat = statSync(file, { bigint: true });
      return { file, size: Number(stat.size), modifiedUs: Number(stat.mtimeNs / 1000n), previous: ctx.fullRefresh ? undefined : loaded.get(file) };
    });
    // A file loaded before that still has the size and modification time it
    // had then is taken as unchanged without reading it again (as rsync and
    // make do), so a daily run reads only what is new. A touched one is
    // hashed before anything is loaded, to tell a change.
    const unchanged = (entry: (typeof found)[number]) =>
      entry.previous !== undefined && Number(entry.previous.size_bytes) === entry.size && Number(entry.previous.modified_us) === entry.modifiedUs;
    counts.files_skipped += found.filter(unchanged).length;
    const fingerprint = (entries: (typeof found)[number][]) => {
      const digests = mapConcurrently(entries, FINGERPRINT_CONCURRENCY, (entry) => sha256(entry.file));
      // Handled here, thrown where awaited: a load failing meanwhile must not leave it unhandled.
      digests.catch(() => undefined);
      return digests;
    };
    const touched = found.filter((entry) => entry.previous !== undefined && !unchanged(entry));
    const touchedDigests = await fingerprint(touched);
    for (const [index, { file, previous }] of touched.entries()) {
      if (previous!.sha256 !== touchedDigests[index]) {
        throw new StreamError(
          `${file} changed since it was loaded (${previous!.loaded_at.toISOString()}); a changed file is not reloaded silently. ` +
            `Run \`tango extract --source ${source.name} --full-refresh\` to reload the stream.`,
        );
      }
    }
    // Touched but the same: recorded with their new times, so the next run need not read them again.
    counts.files_skipped += touched.length;
    if (touched.length) {
      const times = touched.map(({ file, modifiedUs }) => `(${sqlString(file)}, make_timestamp(${modifiedUs}))`);
      await connection.run(
        `update _meta.loaded_files set modified_at = touched.modified_at from (values ${times.join(', ')}) as touched(path, modified_at)
         where source = $source and stream = $stream and loaded_files.path = touched.path`,
        { source: source.name, stream: stream.name },
      );
    }
    // New files are hashed a batch ahead: zlib's threads check the next
    // batch's gzip data while DuckDB loads this one.
    const newBatches = batches(found.filter((entry) => entry.previous === undefined));
    const total = newBatches.reduce((sum, batch) => sum + batch.length, 0);
    let done = 0;
    let nextDigests = newBatches.length ? fingerprint(newBatches[0]!) : undefined;
    for (const [index, batch] of newBatches.entries()) {
      const digests = await nextDigests!;
      nextDigests = index + 1 < newBatches.length ? fingerprint(newBatches[index + 1]!) : undefined;
      const pending = batch.map((entry, position) => ({ path: entry.file, size: entry.size, sha256: digests[position]!, modifiedUs: entry.modifiedUs }));
      const batchCounts = await loadBatch(ctx, target, pending);
      for (const [file, fileCounts] of batchCounts) {
        counts.files_loaded++;
        counts.rows_read += fileCounts.read;
        counts.rows_loaded += fileCounts.loaded;
        counts.rows_quarantined += fileCounts.quarantined;
        log.debug('file loaded', { source: source.name, stream: stream.name, file, ...fileCounts });
      }
      done += batch.length;
      log.progress(`${source.name}.${stream.name}: files`, done, total);
    }
  };

  await loadOrReplace(ctx, target, '_meta.loaded_files', loadAll);
}

/**
 * The raw table a stream loads into, with its contract's columns. `map` (the
 * stream's own, unless a source applies its map before staging) may only
 * name contract columns.
 */
export async function streamTarget(
  connection: DuckDBConnection,
  source: string,
  stream: StagedStream,
  map: Readonly<Record<string, string>> | undefined = stream.map,
): Promise<StreamTarget> {
  const schema = rawSchema(source);
  const columns = await contractColumns(connection, schema, stream.name);
  const unknownMapped = Object.keys(map ?? {}).filter((name) => !columns.some((column) => column.name === name));
  if (unknownMapped.length) throw new StreamError(`map names column(s) not in the ${stream.name} contract: ${unknownMapped.join(', ')}`);
  return { source, stream, table: `${sqlIdentifier(schema)}.${sqlIdentifier(stream.name)}`, columns };
}

/** Runs `work` in a transaction of its own, or, during a full refresh, in the one loadOrReplace holds. */
export async function commitForStream<T>(ctx: ExtractContext, work: () => Promise<T>): Promise<T> {
  return ctx.fullRefresh ? work() : inTransaction(ctx.connection, work);
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

