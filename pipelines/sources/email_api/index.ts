// An email service's API in Mailchimp's style (offset paging with count and
// offset until total_items, and a since filter) that lists its activity at
// one endpoint: an email service of the company's own, say. Mailchimp itself
// is email_mailchimp.
import type { HttpSourceKind } from '../types.ts';

export const emailApi: HttpSourceKind = {
  transport: 'http',
  kind: 'email_api',
  domain: 'email',
  description: 'an email service API (Mailchimp style: offset paging, since filter, bearer token)',
  pagination: 'offset',
  sinceParam: 'since',
  pageSize: 1000,
  streams: [
    { name: 'campaigns', path: '/3.0/campaigns', itemsKey: 'campaigns', primaryKey: 'campaign_id', cursorField: 'updated_at' },
    { name: 'events', path: '/3.0/activity', itemsKey: 'activity', primaryKey: 'event_id', cursorField: 'occurred_at' },
  ],
};
