// Web analytics events dropped as NDJSON files, gzipped or not, typically one
// file per day (date=YYYY-MM-DD/events.ndjson.gz).
import { DEFAULT_READERS, type FileSourceKind } from '../types.ts';

export const webFiles: FileSourceKind = {
  transport: 'files',
  kind: 'web_files',
  domain: 'web',
  description: 'web analytics events as NDJSON files (events*.ndjson[.gz], in any sub-folder)',
  streams: [
    { name: 'events', filePattern: /(^|\/)events[^/]*\.ndjson(\.gz)?$/, reader: DEFAULT_READERS.ndjson, primaryKey: ['event_id'], disposition: 'append' },
  ],
};
