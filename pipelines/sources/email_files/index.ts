// Email service exports as CSV files: the campaign list and the activity log.
import { DEFAULT_READERS, type FileSourceKind } from '../types.ts';

export const emailFiles: FileSourceKind = {
  transport: 'files',
  kind: 'email_files',
  domain: 'email',
  description: 'email service exports as CSV files: campaigns*.csv and email_events*.csv',
  streams: [
    { name: 'campaigns', filePattern: /(^|\/)campaigns[^/]*\.csv(\.gz)?$/, reader: DEFAULT_READERS.csv, primaryKey: ['campaign_id'], disposition: 'merge' },
    { name: 'events', filePattern: /(^|\/)email_events[^/]*\.csv(\.gz)?$/, reader: DEFAULT_READERS.csv, primaryKey: ['event_id'], disposition: 'append' },
  ],
};
