// CRM exports dropped as CSV files: contacts and orders snapshots.
import type { SourceKindDefinition } from '../types.ts';

export const crmFiles: SourceKindDefinition = {
  kind: 'crm_files',
  description: 'CRM exports as CSV files (contacts*.csv, orders*.csv)',
  streams: [
    { name: 'contacts', filePattern: /^contacts[^/]*\.csv(\.gz)?$/, format: 'csv', primaryKey: ['contact_id'], disposition: 'merge' },
    { name: 'orders', filePattern: /^orders[^/]*\.csv(\.gz)?$/, format: 'csv', primaryKey: ['order_id'], disposition: 'merge' },
  ],
};
