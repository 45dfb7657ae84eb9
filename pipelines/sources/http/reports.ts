// Mailchimp's campaign reports, the one place its Marketing API gives each
// recipient's activity, read as rows of the email events contract. For every
// sent campaign:
//   GET /reports/<id>/sent-to         its recipients: a `sent` event each at the
//                                     campaign's send time, and `delivered`
//                                     unless the address bounced (Mailchimp
//                                     keeps no delivery event of its own);
//   GET /reports/<id>/email-activity  opens, clicks and bounces, the one report
//                                     with a since-filter;
//   GET /reports/<id>/unsubscribed    unsubscribes;
//   GET /reports/<id>/abuse-reports   complaints.
// A campaign read for the first time is read whole and loaded in one
// transaction, so that its `sent` rows tell a later run that it was read
// (a campaign still sending at the last run may have activity from before
// the watermark). After that, each run asks for its activity since the
// watermark and lists its unsubscribes and complaints again (neither report
// filters on time; both are short), until `activity_days` after it was sent.
// Mailchimp gives activity no id: an event's is its campaign, recipient
// (Mailchimp's email_id, a hash of the address), action and time.
import { queryRows } from '../../warehouse.ts';
import type { ApiPage, PageReading } from './extract.ts';
import { offsetPages } from './pages.ts';

/** Days after a campaign's sending during which each run reads its activity again, unless the source's activity_days says otherwise. */
export const DEFAULT_ACTIVITY_DAYS = 30;

const DAY_MS = 24 * 60 * 60 * 1000;

interface SentCampaign {
  id: string;
  sendTime: string;
}

/** An email event as the contract has it. */
type EmailEvent = Record<string, string | null>;

const text = (value: unknown): string | null => (value === undefined || value === null || value === '' ? null : String(value));

function emailEvent(campaign: SentCampaign, recipient: Record<string, unknown>, type: string, at: unknown, extra: { url?: unknown; bounceType?: unknown } = {}): EmailEvent {
  const url = text(extra.url);
  const occurredAt = text(at);
  return {
    event_id: [campaign.id, text(recipient.email_id), type, occurredAt, url].filter((part) => part !== null).join(':'),
    campaign_id: campaign.id,
    subscriber_id: text(recipient.email_id),
    subscriber_email: text(recipient.email_address),
    event_type: type,
    occurred_at: occurredAt,
    url,
    bounce_type: text(extra.bounceType),
  };
}

const ACTIONS: Record<string, string> = { open: 'opened', click: 'clicked', bounce: 'bounced' };

/** One campaign's reports, page by page, as email events. */
function campaignReports(campaign: SentCampaign, since: string | undefined) {
  const path = (report: string) => `/reports/${encodeURIComponent(campaign.id)}/${report}`;
  return [
    {
      path: path('sent-to'),
      itemsKey: 'sent_to',
      params: { fields: 'sent_to.email_id,sent_to.email_address,sent_to.status,total_items' },
      events: (recipient: Record<string, unknown>) => [
        emailEvent(campaign, recipient, 'sent', campaign.sendTime),
        // hard and soft: the bounce itself comes with the activity.
        ...(recipient.status === 'sent' ? [emailEvent(campaign, recipient, 'delivered', campaign.sendTime)] : []),
      ],
      firstReadOnly: true,
    },
    {
      path: path('email-activity'),
      itemsKey: 'emails',
      params: { fields: 'emails.email_id,emails.email_address,emails.activity,total_items', since },
      events: (recipient: Record<string, unknown>) =>
        (Array.isArray(recipient.activity) ? (recipient.activity as Record<string, unknown>[]) : []).map((activity) =>
          emailEvent(campaign, recipient, ACTIONS[String(activity.action)] ?? String(activity.action), activity.timestamp, {
            url: activity.url,
            bounceType: activity.type,
          }),
        ),
      firstReadOnly: false,
    },
    {
      path: path('unsubscribed'),
      itemsKey: 'unsubscribes',
      params: { fields: 'unsubscribes.email_id,unsubscribes.email_address,unsubscribes.timestamp,total_items' },
      events: (recipient: Record<string, unknown>) => [emailEvent(campaign, recipient, 'unsubscribed', recipient.timestamp)],
      firstReadOnly: false,
    },
    {
      path: path('abuse-reports'),
      itemsKey: 'abuse_reports',
      params: { fields: 'abuse_reports.email_id,abuse_reports.email_address,abuse_reports.date,total_items' },
      events: (recipient: Record<string, unknown>) => [emailEvent(campaign, recipient, 'complained', recipient.date)],
      firstReadOnly: false,
    },
  ];
}

/** The pages of Mailchimp's reports of the campaigns that need reading, as email events. */
export async function* campaignReportPages(reading: PageReading): AsyncGenerator<ApiPage> {
  const campaigns: SentCampaign[] = [];
  const listed = offsetPages(reading, '/campaigns', 'campaigns', {
    status: 'sent',
    sort_field: 'send_time',
    sort_dir: 'ASC',
    fields: 'campaigns.id,campaigns.send_time,total_items',
  });
  for await (const { records } of listed) {
    for (const record of records) {
      const id = text(record.id);
      const sendTime = text(record.send_time);
      if (id && sendTime) campaigns.push({ id, sendTime });
    }
  }
  const read = new Set(
    (await queryRows<{ campaign_id: string }>(reading.ctx.connection, `select distinct campaign_id from ${reading.table} where event_type = 'sent'`)).map(
      (row) => row.campaign_id,
    ),
  );
  const activityDays = reading.source.activity_days ?? DEFAULT_ACTIVITY_DAYS;
  const stillActive = (campaign: SentCampaign) => Date.parse(campaign.sendTime) >= Date.now() - activityDays * DAY_MS;
  for (const campaign of campaigns) {
    const firstRead = !read.has(campaign.id);
    if (!firstRead && !stillActive(campaign)) continue;
    for (const report of campaignReports(campaign, firstRead ? undefined : reading.since)) {
      if (report.firstReadOnly && !firstRead) continue;
      for await (const { records, url } of offsetPages(reading, report.path, report.itemsKey, report.params)) {
        yield { records: records.flatMap(report.events), url, loadWithNext: firstRead };
      }
    }
    // The end of a first read: its pages are loaded together.
    if (firstRead) yield { records: [], url: '', loadWithNext: false };
  }
}
