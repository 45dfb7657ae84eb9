// Web analytics events dropped as files in a landing folder, typically one per
// day (date=YYYY-MM-DD/events.ndjson.gz): NDJSON or CSV, gzipped or not, or
// Parquet; the format comes from each file's extension.
import { DEFAULT_READERS, type FileSourceKind } from '../types.ts';

export const webFiles: FileSourceKind = {
  transport: 'files',
  kind: 'web_files',
  domain: 'web',
  description: 'web analytics events as files (events*.ndjson, .jsonl or .csv, gzipped or not, or .parquet; in any sub-folder)',
  streams: [
    {
      name: 'events',
      filePattern: /(^|\/)events[^/]*\.((ndjson|jsonl|csv)(\.gz)?|parquet)$/,
      reader: DEFAULT_READERS.auto,
      primaryKey: ['event_id'],
      disposition: 'append',
    },
  ],
};
