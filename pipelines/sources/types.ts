// What a source kind declares. Adding a source kind = a folder beside this
// file with its streams, its contracts in sql/raw/<kind>/, and one line in
// registry.ts.
export type FileFormat = 'csv' | 'ndjson';

/** How a stream's new rows meet the rows already loaded. */
export type WriteDisposition =
  /** Events: every row is new. */
  | 'append'
  /** Snapshots of entities: a row replaces the loaded row with the same primary key. */
  | 'merge';

export interface FileStreamDefinition {
  /** Table name in raw_<source>; its contract is sql/raw/<kind>/<name>.sql. */
  name: string;
  /** Which files in the source folder (searched recursively) belong to this stream. */
  filePattern: RegExp;
  format: FileFormat;
  primaryKey: readonly string[];
  disposition: WriteDisposition;
}

export interface SourceKindDefinition {
  kind: string;
  description: string;
  streams: readonly FileStreamDefinition[];
}

/** Counts for one stream in one run; read = loaded + quarantined always. */
export interface StreamCounts {
  source: string;
  stream: string;
  files_loaded: number;
  files_skipped: number;
  rows_read: number;
  rows_loaded: number;
  rows_quarantined: number;
  error?: string;
}
