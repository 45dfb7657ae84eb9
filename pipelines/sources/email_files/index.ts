// Email service activity exports as CSV files.
import type { SourceKindDefinition } from '../types.ts';

export const emailFiles: SourceKindDefinition = {
  kind: 'email_files',
  description: 'email service activity exports as CSV files (email_events*.csv)',
  streams: [
    { name: 'events', filePattern: /^email_events[^/]*\.csv(\.gz)?$/, format: 'csv', primaryKey: ['event_id'], disposition: 'append' },
  ],
};
