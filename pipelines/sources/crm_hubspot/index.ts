// HubSpot's CRM API itself (base_url https://api.hubapi.com, a private app's
// token): contacts, deals as leads, commerce orders and tickets, each read
// through the CRM search so that only what changed since the last run comes
// (http/search.ts). Each stream maps HubSpot's default properties into the
// raw contract; a config's map replaces a column's expression, and its
// properties ask for more (a portal's own properties, pipeline stages).
import type { ApiStreamDefinition, HttpSourceKind } from '../types.ts';

/** SQL for a record field (HubSpot sends every property value as text); the search asks for the properties so named. */
const field = (name: string) => `_json->>'${name}'`;

function search(
  name: string,
  object: string,
  primaryKey: string,
  map: Record<string, string>,
  options: { associations?: Record<string, string>; optional?: boolean; cursorField?: string } = {},
): ApiStreamDefinition {
  return {
    name,
    path: `/crm/v3/objects/${object}`,
    itemsKey: 'results',
    primaryKey,
    // Contacts keep it as lastmodifieddate, every other object as hs_lastmodifieddate.
    cursorField: options.cursorField ?? 'hs_lastmodifieddate',
    optional: options.optional,
    associations: options.associations,
    map: { [primaryKey]: field('id'), is_deleted: `try_cast(${field('archived')} as boolean)`, ...map },
  };
}

const CLOSED_DEAL = `${field('dealstage')} in ('closedwon', 'closedlost')`;

export const crmHubspot: HttpSourceKind = {
  transport: 'http',
  kind: 'crm_hubspot',
  domain: 'crm',
  description: "HubSpot's CRM API (contacts; deals as leads, orders and tickets where the portal has them), through its search, with a private app's token",
  pagination: 'search',
  // The most a HubSpot search page holds is 200.
  pageSize: 100,
  // HubSpot answers at most 4 searches a second per token, more with 429s.
  requestsPerSecond: 4,
  streams: [
    search(
      'contacts',
      'contacts',
      'contact_id',
      {
        email: field('email'),
        phone: field('phone'),
        first_name: field('firstname'),
        last_name: field('lastname'),
        country: field('country'),
        city: field('city'),
        // Original source: ORGANIC_SEARCH, PAID_SEARCH, EMAIL_MARKETING, SOCIAL_MEDIA, REFERRALS, DIRECT_TRAFFIC, ...
        acquisition_channel: `lower(${field('hs_analytics_source')})`,
        owner: field('hubspot_owner_id'),
        // try_cast: a value that is no boolean leaves consent unknown instead of failing the page.
        email_consent: `not try_cast(${field('hs_email_optout')} as boolean)`,
        created_at: field('createdate'),
        updated_at: field('lastmodifieddate'),
      },
      { cursorField: 'lastmodifieddate' },
    ),
    search(
      'leads',
      'deals',
      'lead_id',
      {
        contact_id: field('contact_id'),
        // A deal is a quote that is won, lost or still open; a map can tell other kinds apart by pipeline.
        lead_type: `'quote'`,
        status: `case ${field('dealstage')} when 'closedwon' then 'won' when 'closedlost' then 'lost' else 'open' end`,
        amount: field('amount'),
        created_at: field('createdate'),
        // closedate is the expected date while the deal is open.
        closed_at: `case when ${CLOSED_DEAL} then ${field('closedate')} end`,
      },
      { associations: { contact_id: 'contacts' }, optional: true },
    ),
    search(
      'orders',
      'orders',
      'order_id',
      {
        contact_id: field('contact_id'),
        ordered_at: field('hs_createdate'),
        // HubSpot keeps refunds and cancellations in the portal's own order pipeline: map its stages here.
        status: `'paid'`,
        amount: field('hs_subtotal_price'),
        discount: field('hs_order_discount'),
        currency: field('hs_currency_code'),
      },
      { associations: { contact_id: 'contacts' }, optional: true },
    ),
    search(
      'support_tickets',
      'tickets',
      'ticket_id',
      {
        contact_id: field('contact_id'),
        opened_at: field('createdate'),
        solved_at: field('closed_date'),
        // The stages of HubSpot's default support pipeline: 1 new, 2 waiting on contact, 3 waiting on us, 4 closed.
        status: `case ${field('hs_pipeline_stage')} when '1' then 'open' when '2' then 'pending' when '3' then 'open' when '4' then 'closed' end`,
        topic: `lower(${field('hs_ticket_category')})`,
      },
      { associations: { contact_id: 'contacts' }, optional: true },
    ),
  ],
};
