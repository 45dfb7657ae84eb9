// CRM exports dropped as CSV files, one file pattern per entity.
import { DEFAULT_READERS, type FileStreamDefinition, type FileSourceKind } from '../types.ts';

function csvStream(name: string, primaryKey: string | string[], disposition: FileStreamDefinition['disposition']): FileStreamDefinition {
  return { name, filePattern: new RegExp(`(^|/)${name}[^/]*\\.csv(\\.gz)?$`), reader: DEFAULT_READERS.csv, primaryKey: [primaryKey].flat(), disposition };
}

export const crmFiles: FileSourceKind = {
  transport: 'files',
  kind: 'crm_files',
  domain: 'crm',
  description: 'CRM exports as CSV files: contacts*, leads*, orders*, payments*, refunds*, referrals*, reviews*, support_tickets*, marketing_spend*.csv',
  streams: [
    csvStream('contacts', 'contact_id', 'merge'),
    csvStream('leads', 'lead_id', 'merge'),
    csvStream('orders', 'order_id', 'merge'),
    csvStream('payments', 'payment_id', 'merge'),
    csvStream('refunds', 'refund_id', 'merge'),
    csvStream('referrals', 'referral_id', 'merge'),
    csvStream('reviews', 'review_id', 'merge'),
    csvStream('support_tickets', 'ticket_id', 'merge'),
    // Optional, like reviews: no marketing_spend*.csv, nothing loaded.
    csvStream('marketing_spend', ['spend_month', 'channel', 'purpose'], 'merge'),
  ],
};
