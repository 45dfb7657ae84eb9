// What a source kind declares. Adding a source kind = a folder beside this
// file with its streams, and one line in registry.ts. A kind loads one domain
// (crm, web, email), whose contracts are sql/raw/<domain>/<stream>.sql and
// whose dbt sources are raw_<domain>.
export type Domain = 'crm' | 'web' | 'email';

/**
 * How a file is read. Every value is read as text and checked against the
 * contract in SQL, so a bad value is quarantined instead of failing the load.
 * - csv: delimited text with quotes (DuckDB's CSV reader, no sniffing);
 * - ndjson: one JSON object per line;
 * - whitespace: columns separated by runs of spaces or tabs, no quoting;
 * - parquet: columns named as the contract's;
 * - auto: by the file's extension (.csv, .ndjson or .jsonl, .parquet; .gz allowed).
 */
export type FileFormat = 'csv' | 'ndjson' | 'whitespace' | 'parquet' | 'auto';

export interface FileReader {
  format: FileFormat;
  /** csv and whitespace: whether the first line names the columns (it is never a row). */
  header: boolean;
  /** Column names when there is no header line, in file order. */
  fileColumns?: readonly string[];
  /** csv only. */
  delimiter: string;
  encoding: 'utf-8' | 'latin-1';
}

export const DEFAULT_READERS: Record<FileFormat, FileReader> = {
  csv: { format: 'csv', header: true, delimiter: ',', encoding: 'utf-8' },
  ndjson: { format: 'ndjson', header: false, delimiter: ',', encoding: 'utf-8' },
  whitespace: { format: 'whitespace', header: false, delimiter: ',', encoding: 'utf-8' },
  parquet: { format: 'parquet', header: false, delimiter: ',', encoding: 'utf-8' },
  auto: { format: 'auto', header: true, delimiter: ',', encoding: 'utf-8' },
};

/** How a stream's new rows meet the rows already loaded. */
export type WriteDisposition =
  /** Events: every row is new. */
  | 'append'
  /** Snapshots of entities: a row replaces the loaded row with the same primary key. */
  | 'merge';

/**
 * What the shared staging needs to know of a stream, whatever brought its
 * rows (a file, a database batch, an API page written to a file).
 */
export interface StagedStream {
  /** Table name in raw_<source>; its contract is sql/raw/<domain>/<name>.sql. */
  name: string;
  reader: FileReader;
  primaryKey: readonly string[];
  disposition: WriteDisposition;
  /**
   * Contract column -> SQL expression over the file's columns (and `_record`,
   * the row number in the file). Without it, a contract column is read from
   * the file column of the same name.
   */
  map?: Readonly<Record<string, string>>;
  /** SQL condition over the file's columns: only these rows belong to the stream (a file may feed several). */
  where?: string;
}

export interface FileStreamDefinition extends StagedStream {
  /** Which files belong to this stream, matched against the path below the source folder. */
  filePattern: RegExp;
}

/** A stream read from a database table, incrementally on a cursor column. */
export interface TableStreamDefinition {
  /** Table name in raw_<source>; its contract is sql/raw/<domain>/<name>.sql. */
  name: string;
  /** The source table, schema-qualified or not, unless the config names another. */
  table: string;
  /** The contract columns that identify a row; with the cursor they order the reads. */
  primaryKey: readonly string[];
  /** Source column of the watermark (e.g. updated_at), unless the config names another. */
  cursor: string;
  disposition: WriteDisposition;
  /** Many systems have no such table: unless the config names the stream, a missing one is skipped with a notice. */
  optional?: boolean;
}

export interface FileSourceKind {
  transport: 'files';
  kind: string;
  domain: Domain;
  description: string;
  streams: readonly FileStreamDefinition[];
}

export interface PostgresSourceKind {
  transport: 'postgres';
  kind: string;
  domain: Domain;
  description: string;
  streams: readonly TableStreamDefinition[];
}

/** A stream read page by page from a JSON API. */
export interface ApiStreamDefinition {
  /** Table name in raw_<source>; its contract is sql/raw/<domain>/<name>.sql. */
  name: string;
  /** Path below the source's base_url. */
  path: string;
  /** The key in a page that holds the array of records. */
  itemsKey: string;
  primaryKey: string;
  /** Record field holding when the record last changed: the watermark sent as the since-filter. */
  cursorField: string;
  /** Many systems have no such endpoint: unless the config names the stream, a 404 skips it with a notice. */
  optional?: boolean;
  /**
   * search paging: record properties to ask for (a search answers with those
   * alone) besides the cursor field and those the map and where read as
   * `_json->>'name'`.
   */
  properties?: readonly string[];
  /**
   * search paging: record fields filled from the records each is associated
   * with, field -> object type (e.g. contact_id -> contacts: the id of the
   * first associated contact; null when there is none).
   */
  associations?: Readonly<Record<string, string>>;
  /** Contract column -> SQL over the record's fields (as `_json`); a config's map replaces it column by column. */
  map?: Readonly<Record<string, string>>;
  /**
   * Read by a reader of its own instead of the kind's paging:
   * mailchimp_reports: Mailchimp's reports of each sent campaign, as email
   * events (http/reports.ts).
   */
  reader?: 'mailchimp_reports';
}

export interface HttpSourceKind {
  transport: 'http';
  kind: string;
  domain: Domain;
  description: string;
  /**
   * cursor: `limit` and `after`, the next token at paging.next.after (HubSpot style);
   * offset: `count` and `offset`, until total_items (Mailchimp style);
   * search: HubSpot's CRM search, POST <path>/search with the since-filter on
   * the cursor property and sorted by it, `after` in the body; a record's
   * `properties` come up beside its `id` and `archived`.
   */
  pagination: 'cursor' | 'offset' | 'search';
  /**
   * cursor and offset paging: query parameter of the since-filter the server
   * applies (records changed at or after it); unset, the whole list is read
   * each run (an API that cannot filter it, and a short list).
   */
  sinceParam?: string;
  /** How the token is sent: bearer (the default), or as the password of HTTP Basic (an API key, Mailchimp's). */
  auth?: 'bearer' | 'basic';
  pageSize: number;
  /** At most this many page requests a second (a source's requests_per_second overrides it); unset, as fast as the server answers. */
  requestsPerSecond?: number;
  streams: readonly ApiStreamDefinition[];
}

export type SourceKindDefinition = FileSourceKind | PostgresSourceKind | HttpSourceKind;

/** Counts for one stream in one run; read = loaded + quarantined always. */
export interface StreamCounts {
  source: string;
  stream: string;
  /** Files, or batches for a database source. */
  files_loaded: number;
  files_skipped: number;
  rows_read: number;
  rows_loaded: number;
  rows_quarantined: number;
  error?: string;
}
