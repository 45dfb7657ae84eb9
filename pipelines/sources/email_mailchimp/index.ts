// Mailchimp's Marketing API itself (base_url https://<dc>.api.mailchimp.com/3.0,
// <dc> the end of the API key, e.g. us21; the key goes over HTTP Basic):
// campaigns, listed whole each run (Mailchimp filters them by creation or
// send time only, never by change, and an account has hundreds, not
// millions), and email events from each sent campaign's reports
// (http/reports.ts).
import type { HttpSourceKind } from '../types.ts';

export const emailMailchimp: HttpSourceKind = {
  transport: 'http',
  kind: 'email_mailchimp',
  domain: 'email',
  description: "Mailchimp's Marketing API (campaigns, and each sent campaign's recipients, opens, clicks, bounces, unsubscribes and complaints), with an API key",
  pagination: 'offset',
  auth: 'basic',
  // The most a Mailchimp list or report page holds.
  pageSize: 1000,
  streams: [
    {
      name: 'campaigns',
      path: '/campaigns',
      itemsKey: 'campaigns',
      primaryKey: 'campaign_id',
      cursorField: 'create_time',
      // Mailchimp's own campaign types (regular, plaintext, rss, ...) are not
      // the contract's (newsletter, promo, ...): a config map can tell them,
      // from the title say; without one the type stays unknown.
      map: {
        campaign_id: `_json->>'id'`,
        name: `_json->'settings'->>'title'`,
        campaign_type: 'null',
        subject: `_json->'settings'->>'subject_line'`,
        scheduled_at: `_json->>'send_time'`,
      },
    },
    { name: 'events', path: '/reports', itemsKey: 'emails', primaryKey: 'event_id', cursorField: 'occurred_at', reader: 'mailchimp_reports' },
  ],
};
