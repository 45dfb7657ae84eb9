// Web analytics events dropped as NDJSON files, gzipped or not, one file per day.
import type { SourceKindDefinition } from '../types.ts';

export const webFiles: SourceKindDefinition = {
  kind: 'web_files',
  description: 'web analytics events as NDJSON files (events*.ndjson[.gz])',
  streams: [
    { name: 'events', filePattern: /^events[^/]*\.ndjson(\.gz)?$/, format: 'ndjson', primaryKey: ['event_id'], disposition: 'append' },
  ],
};
