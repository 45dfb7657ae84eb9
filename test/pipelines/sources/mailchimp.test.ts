// The email_mailchimp source against a real HTTP server on 127.0.0.1 that
// answers as Mailchimp's Marketing API does (test/support/api-server.ts):
// campaigns filtered by status, each sent campaign's reports (recipients,
// email activity with a since-filter on its actions, unsubscribes, abuse
// reports), offset paging, and the API key taken over HTTP Basic.
import { afterEach, describe, expect, it } from 'vitest';

import { loadConfig } from '../../../pipelines/config.ts';
import { killWhen, runTango, tempDir, writeConfig } from '../../helpers.ts';
import type { Route } from '../../support/api-server.ts';
import { startApiProject, TOKEN_ENV, type ApiProject } from '../../support/api-project.ts';

const offset = (itemsKey: string, records: Record<string, unknown>[], extra: Partial<Route> = {}): Route => ({
  style: 'offset',
  itemsKey,
  cursorField: 'none',
  keyField: 'email_id',
  records,
  ...extra,
});

const recipient = (emailId: string, extra: Record<string, unknown> = {}) => ({ email_id: emailId, email_address: `${emailId}@example.com`, ...extra });

/** Campaign c1 sent to three addresses (one bounced hard), with an open, a click, a bounce, an unsubscribe and a complaint; c2 a draft. */
function mailchimpRoutes(): Record<string, Route> {
  return {
    '/3.0/campaigns': offset(
      'campaigns',
      [
        {
          id: 'c1',
          type: 'regular',
          status: 'sent',
          create_time: '2024-02-28T10:00:00+00:00',
          send_time: '2024-03-01T09:00:00+00:00',
          settings: { title: 'March news', subject_line: 'Spring is here' },
        },
        { id: 'c2', type: 'regular', status: 'save', create_time: '2024-03-05T10:00:00+00:00', send_time: '', settings: { title: 'Draft', subject_line: '' } },
      ],
      { keyField: 'id', equalParams: ['status'] },
    ),
    '/3.0/reports/c1/sent-to': offset('sent_to', [recipient('e1', { status: 'sent' }), recipient('e2', { status: 'sent' }), recipient('e3', { status: 'hard' })]),
    '/3.0/reports/c1/email-activity': offset(
      'emails',
      [
        recipient('e1', {
          activity: [
            { action: 'open', timestamp: '2024-03-01T10:00:00+00:00', ip: '192.0.2.1' },
            { action: 'click', timestamp: '2024-03-01T10:01:00+00:00', url: 'https://shop.example/p1', ip: '192.0.2.1' },
          ],
        }),
        recipient('e3', { activity: [{ action: 'bounce', type: 'hard', timestamp: '2024-03-01T09:00:05+00:00' }] }),
      ],
      { nestedSince: 'activity' },
    ),
    '/3.0/reports/c1/unsubscribed': offset('unsubscribes', [recipient('e2', { timestamp: '2024-03-02T08:00:00+00:00', reason: 'too many emails' })]),
    '/3.0/reports/c1/abuse-reports': offset('abuse_reports', [recipient('e2', { id: 1, date: '2024-03-02T08:00:30+00:00' })]),
  };
}

describe('Mailchimp source (email_mailchimp)', () => {
  let project: ApiProject;
  afterEach(() => project.close());

  const start = async (mailchimp: Record<string, unknown> = {}) => {
    const source = { name: 'mailchimp', kind: 'email_mailchimp', token_env: TOKEN_ENV, page_size: 2, activity_days: 3650, ...mailchimp };
    project = await startApiProject((url) => [{ ...source, base_url: `${url}/3.0` }], {}, mailchimpRoutes());
    return project;
  };
  const events = () =>
    project.query<Record<string, string | null>>(
      `select event_id, campaign_id, subscriber_id, subscriber_email, event_type, strftime(occurred_at at time zone 'UTC', '%Y-%m-%d %H:%M:%S') as occurred_at, url, bounce_type
       from raw_mailchimp.events order by event_id`,
    );
  const eventTypes = async () =>
    Object.fromEntries(
      (await project.query<{ event_type: string; n: bigint }>('select event_type, count(*) as n from raw_mailchimp.events group by event_type')).map((row) => [row.event_type, Number(row.n)]),
    );

  it("reads campaigns and each sent campaign's recipients, activity, unsubscribes and complaints as email events, with the API key over HTTP Basic", async () => {
    await start();
    const counts = await project.extract('mailchimp');
    expect(counts.campaigns).toMatchObject({ rows_read: 2, rows_loaded: 2, rows_quarantined: 0 });
    const [listed] = project.requestsTo('/3.0/campaigns');
    const [user, key] = Buffer.from(listed!.authorization!.replace(/^Basic /, ''), 'base64').toString().split(':');
    expect(user).not.toBe('');
    expect(key).toBe(project.server.token);
    expect(
      await project.query(
        `select campaign_id, name, campaign_type, subject, strftime(scheduled_at at time zone 'UTC', '%Y-%m-%d %H:%M') as scheduled from raw_mailchimp.campaigns order by campaign_id`,
      ),
    ).toEqual([
      { campaign_id: 'c1', name: 'March news', campaign_type: null, subject: 'Spring is here', scheduled: '2024-03-01 09:00' },
      { campaign_id: 'c2', name: 'Draft', campaign_type: null, subject: null, scheduled: null },
    ]);

    // Three sent, two delivered (e3 bounced hard), an open and a click of e1, the bounce, e2's unsubscribe and complaint.
    expect(counts.events).toMatchObject({ rows_read: 10, rows_loaded: 10, rows_quarantined: 0 });
    expect(await eventTypes()).toEqual({ sent: 3, delivered: 2, opened: 1, clicked: 1, bounced: 1, unsubscribed: 1, complained: 1 });
    const rows = await events();
    expect(rows.find((row) => row.event_type === 'clicked')).toEqual({
      event_id: 'c1:e1:clicked:2024-03-01T10:01:00+00:00:https://shop.example/p1',
      campaign_id: 'c1',
      subscriber_id: 'e1',
      subscriber_email: 'e1@example.com',
      event_type: 'clicked',
      occurred_at: '2024-03-01 10:01:00',
      url: 'https://shop.example/p1',
      bounce_type: null,
    });
    expect(rows.find((row) => row.event_type === 'bounced')).toMatchObject({ subscriber_id: 'e3', occurred_at: '2024-03-01 09:00:05', bounce_type: 'hard' });
    expect(rows.filter((row) => row.event_type === 'delivered').map((row) => [row.subscriber_id, row.occurred_at])).toEqual([
      ['e1', '2024-03-01 09:00:00'],
      ['e2', '2024-03-01 09:00:00'],
    ]);
    expect(rows.find((row) => row.event_type === 'complained')).toMatchObject({ subscriber_id: 'e2', occurred_at: '2024-03-02 08:00:30' });
    // Only sent campaigns have reports: the draft's were never asked for.
    expect(project.server.requests.filter((request) => request.path.includes('/c2/'))).toEqual([]);
    expect(project.requestsTo('/3.0/campaigns').some((request) => request.params.get('status') === 'sent')).toBe(true);
    // Three recipients at two a page.
    expect(project.requestsTo('/3.0/reports/c1/sent-to').map((request) => request.params.get('offset'))).toEqual(['0', '2']);
  });

  it('asks for the activity since the last run, reads a campaign sent since whole, and a run with nothing new changes nothing', async () => {
    await start();
    await project.extract('mailchimp');
    const routes = project.server.routes;
    // e2 opens c1 after the first run; c3, still sending at the first run, was opened before its newest event.
    const c1Activity = routes.get('/3.0/reports/c1/email-activity')!;
    c1Activity.records = [...c1Activity.records, recipient('e2', { activity: [{ action: 'open', timestamp: '2024-03-03T12:00:00+00:00' }] })];
    routes.get('/3.0/campaigns')!.records.push({
      id: 'c3',
      type: 'regular',
      status: 'sent',
      create_time: '2024-03-01T08:00:00+00:00',
      send_time: '2024-03-01T12:00:00+00:00',
      settings: { title: 'Flash sale', subject_line: 'Today only' },
    });
    routes.set('/3.0/reports/c3/sent-to', offset('sent_to', [recipient('e1', { status: 'sent' })]));
    routes.set('/3.0/reports/c3/email-activity', offset('emails', [recipient('e1', { activity: [{ action: 'open', timestamp: '2024-03-01T13:00:00+00:00' }] })], { nestedSince: 'activity' }));
    routes.set('/3.0/reports/c3/unsubscribed', offset('unsubscribes', []));
    routes.set('/3.0/reports/c3/abuse-reports', offset('abuse_reports', []));
    project.server.requests.length = 0;

    const again = await project.extract('mailchimp');
    // The last run's newest event was e2's complaint: c1's activity since then (e2's new open); c3 read whole, its open of 13:00 too.
    expect(project.requestsTo('/3.0/reports/c1/email-activity').map((request) => request.params.get('since'))).toEqual(['2024-03-02T08:00:30+00:00']);
    expect(project.requestsTo('/3.0/reports/c3/email-activity').map((request) => request.params.get('since'))).toEqual([null]);
    expect(project.requestsTo('/3.0/reports/c1/sent-to')).toEqual([]);
    // c1: e2's open and its unsubscribe and complaint again (merged); c3: sent, delivered, opened.
    expect(again.events).toMatchObject({ rows_read: 6, rows_loaded: 6 });
    expect(await eventTypes()).toEqual({ sent: 4, delivered: 3, opened: 3, clicked: 1, bounced: 1, unsubscribed: 1, complained: 1 });
    const afterChange = await events();
    expect(afterChange.filter((row) => row.campaign_id === 'c3' && row.event_type === 'opened')).toMatchObject([{ subscriber_id: 'e1', occurred_at: '2024-03-01 13:00:00' }]);

    const third = await project.extract('mailchimp');
    expect(third.events?.error).toBeUndefined();
    expect(await events()).toEqual(afterChange);
  });

  it('reads no more activity of a campaign sent more than activity_days ago, once it was read', async () => {
    await start({ activity_days: 30 });
    await project.extract('mailchimp');
    expect(project.requestsTo('/3.0/reports/c1/email-activity')).toHaveLength(1);
    project.server.requests.length = 0;
    const again = await project.extract('mailchimp');
    expect(again.events).toMatchObject({ rows_read: 0, rows_loaded: 0 });
    expect(project.server.requests.filter((request) => request.path.startsWith('/3.0/reports/'))).toEqual([]);
  });

  it("loads a campaign's first read in one transaction: a failure half-way leaves none of it, and the next run reads it all", async () => {
    await start();
    // The unsubscribes of c1 fail (after its recipients and activity were read), every retry too.
    const unsubscribed = project.server.routes.get('/3.0/reports/c1/unsubscribed')!;
    project.server.routes.delete('/3.0/reports/c1/unsubscribed');
    const failed = await project.extract('mailchimp');
    expect(failed.events?.error).toMatch(/reports\/c1\/unsubscribed.*HTTP 404/);
    expect(await project.query('select count(*)::int as n from raw_mailchimp.events')).toEqual([{ n: 0 }]);
    expect(failed.campaigns?.error).toBeUndefined();

    project.server.routes.set('/3.0/reports/c1/unsubscribed', unsubscribed);
    const rerun = await project.extract('mailchimp');
    expect(rerun.events).toMatchObject({ rows_read: 10, rows_loaded: 10 });
  });

  it('loads a first read of more pages than one read of the staging takes (250 files), numbering each page\'s records', async () => {
    await start({ page_size: 1, streams: { events: {} } });
    project.server.routes.get('/3.0/reports/c1/sent-to')!.records = Array.from({ length: 300 }, (_, index) => recipient(`r${index}`, { status: 'sent' }));
    const counts = await project.extract('mailchimp');
    // 300 pages of one recipient (sent, delivered), two of activity (an open and a click; a bounce), one unsubscribe, one complaint.
    expect(counts.events).toMatchObject({ rows_read: 605, rows_loaded: 605, rows_quarantined: 0, files_loaded: 304 });
    expect(
      await project.query(`select _line, count(*)::int as n from raw_mailchimp.events where _origin like '%/sent-to%' group by _line order by _line`),
    ).toEqual([
      { _line: 1n, n: 300 },
      { _line: 2n, n: 300 },
    ]);
  });

  it('after kill -9 in the middle of a first read, a rerun gives exactly the state of an uninterrupted run', async () => {
    await start({ page_size: 10, streams: { events: {} } });
    const many = Array.from({ length: 400 }, (_, index) => recipient(`r${String(index).padStart(3, '0')}`, { status: index % 10 ? 'sent' : 'soft' }));
    project.server.routes.get('/3.0/reports/c1/sent-to')!.records = many;
    project.server.routes.get('/3.0/reports/c1/email-activity')!.records = many.map((one, index) => ({
      ...one,
      activity: [{ action: 'open', timestamp: new Date(Date.UTC(2024, 2, 1, 10) + index * 60_000).toISOString() }],
    }));
    project.server.delayMs = 20;
    const env = { [TOKEN_ENV]: project.server.token };
    const args = ['--config', project.configFile, 'extract', '--source', 'mailchimp'];
    // Killed at the 30th page of c1's activity: its recipients were all read, nothing of it committed.
    const killed = await runTango(args, {
      env,
      onStart: killWhen(() => project.requestsTo('/3.0/reports/c1/email-activity').length >= 30),
    });
    expect(killed.signal).toBe('SIGKILL');
    const rows = () => project.query('select * exclude (_loaded_at, _run_id, _origin, _line) from raw_mailchimp.events order by event_id');
    expect(await rows()).toEqual([]);
    const rerun = await runTango(args, { env });
    expect(rerun.code, rerun.stderr).toBe(0);
    const afterRerun = await rows();

    await project.extractAnew('mailchimp');
    const uninterrupted = await rows();
    // 400 sent, 360 delivered (every tenth bounced softly), 400 opens, e2's unsubscribe and complaint.
    expect(uninterrupted).toHaveLength(400 + 360 + 400 + 2);
    expect(afterRerun).toEqual(uninterrupted);
  });

  it('refuses activity_days on a kind that reads no campaign reports', async () => {
    await start();
    const file = writeConfig(tempDir(), { sources: [{ name: 'email', kind: 'email_api', base_url: project.server.url, token_env: TOKEN_ENV, activity_days: 7 }] });
    expect(() => loadConfig(file)).toThrow(/sources\[0\]\.activity_days: not used by kind email_api/);
  });
});
