// The CRM in the company's own PostgreSQL database: one table per entity,
// read incrementally on updated_at. Tables and columns named differently are
// mapped in the config (sources[].streams.<stream>.table / map / cursor).
import type { PostgresSourceKind, TableStreamDefinition } from '../types.ts';

function table(name: string, primaryKey: string | string[], optional = false): TableStreamDefinition {
  return { name, table: name, primaryKey: [primaryKey].flat(), cursor: 'updated_at', disposition: 'merge', optional };
}

export const crmPostgres: PostgresSourceKind = {
  transport: 'postgres',
  kind: 'crm_postgres',
  domain: 'crm',
  description: 'CRM tables in PostgreSQL (contacts, leads, orders, payments, refunds, referrals; reviews, support_tickets and marketing_spend if there), incremental on updated_at',
  streams: [
    table('contacts', 'contact_id'),
    table('leads', 'lead_id'),
    table('orders', 'order_id'),
    table('payments', 'payment_id'),
    table('refunds', 'refund_id'),
    table('referrals', 'referral_id'),
    table('reviews', 'review_id', true),
    table('support_tickets', 'ticket_id', true),
    table('marketing_spend', ['spend_month', 'channel', 'purpose'], true),
  ],
};
