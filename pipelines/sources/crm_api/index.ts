// A CRM's REST API (HubSpot style): /crm/v3/objects/<entity>, cursor paging,
// records changed since the last run asked for with updated_since.
import type { ApiStreamDefinition, HttpSourceKind } from '../types.ts';

function objects(name: string, primaryKey: string, optional = false, object = name): ApiStreamDefinition {
  return { name, path: `/crm/v3/objects/${object}`, itemsKey: 'results', primaryKey, cursorField: 'updated_at', optional };
}

export const crmApi: HttpSourceKind = {
  transport: 'http',
  kind: 'crm_api',
  domain: 'crm',
  description: 'a CRM REST API (HubSpot style: cursor paging, updated_since filter, bearer token)',
  pagination: 'cursor',
  sinceParam: 'updated_since',
  pageSize: 500,
  streams: [
    objects('contacts', 'contact_id'),
    objects('leads', 'lead_id'),
    objects('orders', 'order_id'),
    objects('payments', 'payment_id'),
    objects('refunds', 'refund_id'),
    objects('referrals', 'referral_id'),
    objects('reviews', 'review_id', true),
    // HubSpot calls them tickets.
    objects('support_tickets', 'ticket_id', true, 'tickets'),
  ],
};
