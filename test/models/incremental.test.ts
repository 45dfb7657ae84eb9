// The incremental web events, sessions and email events against a full
// build: a warehouse that got its web events in two runs (the last days, and
// a late file, arriving in the second, with late CRM contacts, email events
// and campaigns) must end with the same sessions and email events as one
// built from all of them at once; a full refresh of the raw events that no
// longer has some of them must drop their sessions too.
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

import { openWarehouse, queryRows } from '../../pipelines/warehouse.ts';
import { generateDemoSources, runTango, tempDir, writeConfig } from '../helpers.ts';

const SOURCES = ['crm', 'web', 'email'].map((domain) => ({ name: domain, kind: `${domain}_files`, path: `sources/${domain}` }));
const HELD_BACK_DAYS = 10;
const ONCE_COOKIE = 'a-seen-once';

async function rows<Row>(warehouse: string, sql: string): Promise<Row[]> {
  const db = await openWarehouse(warehouse, { readOnly: true });
  try {
    return await queryRows<Row>(db.connection, sql);
  } finally {
    db.close();
  }
}

async function run(configFile: string, args: string[] = ['run', '--steps', 'extract,transform']): Promise<void> {
  const result = await runTango(['--config', configFile, ...args]);
  expect(result.code, result.stderr).toBe(0);
}

/** Every session, in a stable order, with the columns given. */
function sessions(warehouse: string, table: string, columns: string): Promise<Record<string, unknown>[]> {
  return rows(warehouse, `select ${columns} from ${table} order by all`);
}

/** The staged events' columns but their load time. */
const EVENT_COLUMNS = {
  'staging.stg_web__events': 'event_id, anonymous_id, event_type, occurred_at, utm_source, utm_medium, utm_campaign, device',
  'staging.stg_email__events': 'event_id, campaign_id, subscriber_id, email, event_type, occurred_at, clicked_url, bounce_type',
};

/** A table's row count and a fingerprint of its rows (the same rows in any order give the same one). */
function fingerprintSql(table: string, columns: string): string {
  return `select count(*) as events, sum(hash(${columns})) as fingerprint from ${table}`;
}

const SESSION_COLUMNS = 'anonymous_id, session_number, started_at, ended_at, events, page_views, product_views, has_add_to_cart, has_sign_up, has_purchase, utm_source, utm_medium, utm_campaign, device';

describe('incremental web sessions', () => {
  const dir = tempDir();
  const web = path.join(dir, 'sources', 'web');
  const incremental = path.join(dir, 'incremental.duckdb');
  const configFile = writeConfig(dir, { warehouse: { path: 'incremental.duckdb' }, sources: SOURCES });
  let joined: { anonymous_id: string; ended_at: Date };
  let linked: { anonymous_id: string; started_at: Date };
  let merged: { anonymous_id: string; midpoint: Date };
  let relinked: { anonymous_id: string; first_seen_at: Date; customer_id: string };
  let otherContact: { contact_id: string; email: string };
  let resent: { event_id: string; anonymous_id: string; event_type: string; occurred_at: Date; device: string };
  let rekeyed: { customer_id: string; subscriber_id: string; email: string; created_at: Date };
  let flipped: { subscriber_id: string; first_at: Date };
  let renamed: { campaign_id: string; campaign_type: string };

  beforeAll(async () => {
    await generateDemoSources(dir, { customers: 1500, seed: 3, startDate: '2024-01-01', endDate: '2024-12-31' });
    // The first run loads all but the last days of web events.
    const days = readdirSync(web).filter((name) => name.startsWith('date=')).sort();
    const held = days.slice(-HELD_BACK_DAYS);
    mkdirSync(path.join(dir, 'held'));
    for (const day of held) renameSync(path.join(web, day), path.join(dir, 'held', day));
    await run(configFile);

    // A late file for the second run: an event 10 minutes after an identified
    // cookie's last session (it joins that session); a login by an
    // anonymous cookie a day before its first session (a new first session,
    // which renumbers the others, and a customer for all of them); and an
    // event halfway between two sessions 35 to 55 minutes apart, which
    // merges them into one (the sessions after it lose a number).
    const [firstJoined] = await rows<{ anonymous_id: string; ended_at: Date }>(
      incremental,
      `select anonymous_id, max(ended_at) as ended_at from marts.fct_web_sessions where customer_id is not null
       group by anonymous_id having count(*) >= 2 order by anonymous_id limit 1`,
    );
    const [firstLinked] = await rows<{ anonymous_id: string; started_at: Date }>(
      incremental,
      `select anonymous_id, min(started_at) as started_at from marts.fct_web_sessions where customer_id is null
       group by anonymous_id having count(*) >= 2 order by anonymous_id limit 1`,
    );
    const [contact] = await rows<{ contact_id: string; email: string }>(
      incremental,
      `select contact_id, email from raw_crm.contacts where email is not null order by contact_id limit 1`,
    );
    const [firstMerged] = await rows<{ anonymous_id: string; midpoint: Date }>(
      incremental,
      `with gaps as (
         select anonymous_id, session_number, ended_at,
           lead(started_at) over (partition by anonymous_id order by session_number) as next_started_at
         from intermediate.int_web_sessions
       )
       select anonymous_id, ended_at + (next_started_at - ended_at) / 2 as midpoint
       from gaps
       where next_started_at - ended_at between interval 35 minute and interval 55 minute
         and anonymous_id <> '${firstJoined?.anonymous_id}' and anonymous_id <> '${firstLinked?.anonymous_id}'
       order by anonymous_id, session_number limit 1`,
    );
    // An identified cookie that a late login names as another customer, a
    // minute before its first identity: it is that customer from then on.
    const [firstRelinked] = await rows<typeof relinked>(
      incremental,
      `select identities.anonymous_id, min(identities.first_seen_at) as first_seen_at, any_value(keys.customer_id) as customer_id
       from intermediate.int_web_cookie_identities as identities
       join intermediate.int_customer_keys_resolved as keys on keys.key_type = 'anonymous_id' and keys.key_value = identities.anonymous_id
       where identities.anonymous_id not in ('${firstJoined?.anonymous_id}', '${firstLinked?.anonymous_id}')
       group by identities.anonymous_id order by identities.anonymous_id limit 1`,
    );
    const [firstOtherContact] = await rows<typeof otherContact>(
      incremental,
      `select contacts.contact_id, contacts.email from raw_crm.contacts as contacts
       join intermediate.int_customer_keys_resolved as keys on keys.key_type = 'contact_id' and keys.key_value = contacts.contact_id
       where contacts.email is not null and keys.customer_id <> '${firstRelinked?.customer_id}' and not keys.is_internal
       order by contacts.contact_id limit 1`,
    );
    // A stored event that a late file sends again, changed: the stored, first copy still counts.
    const [firstResent] = await rows<typeof resent>(
      incremental,
      `select event_id, anonymous_id, event_type, occurred_at, device from staging.stg_web__events
       where device is not null order by event_id limit 1`,
    );
    expect(firstJoined && firstLinked && contact && firstMerged && firstResent && firstRelinked && firstOtherContact).toBeTruthy();
    relinked = firstRelinked!;
    otherContact = firstOtherContact!;
    resent = firstResent!;
    merged = firstMerged!;
    joined = firstJoined!;
    linked = firstLinked!;
    const at = (date: Date, minutes: number) => new Date(date.getTime() + minutes * 60_000).toISOString();
    const event = (id: string, anonymousId: string, type: string, occurredAt: string, user?: { contact_id: string; email: string }, device = 'desktop') =>
      JSON.stringify({
        event_id: id, anonymous_id: anonymousId, session_id: null, user_id: user?.contact_id ?? null, user_email: user?.email ?? null,
        event_type: type, occurred_at: occurredAt, page_url: '/', product_id: null, utm_source: null, utm_medium: null, utm_campaign: null, device,
      });
    mkdirSync(path.join(web, 'late'));
    writeFileSync(
      path.join(web, 'late', 'events.ndjson'),
      [
        event('Wlate1', joined.anonymous_id, 'page_view', at(joined.ended_at, 10)),
        event('Wlate2', linked.anonymous_id, 'login', at(linked.started_at, -24 * 60), contact),
        event('Wlate3', merged.anonymous_id, 'page_view', at(merged.midpoint, 0)),
        event('Wlate4', relinked.anonymous_id, 'login', at(relinked.first_seen_at, -1), otherContact),
        event(resent.event_id, resent.anonymous_id, resent.event_type, resent.occurred_at.toISOString(), undefined, 're-sent'),
      ].join('\n') + '\n',
    );
    // And a file with the only event of a new cookie, for the full refresh below to take away.
    mkdirSync(path.join(web, 'once'));
    writeFileSync(path.join(web, 'once', 'events.ndjson'), event('Wonce1', ONCE_COOKIE, 'page_view', at(joined.ended_at, 60)) + '\n');

    // Email changes for the second run, each of which makes stored email
    // events stale: a contact created a day before the earliest one of a
    // customer, with its email (the person is named by its earliest contact
    // now, so the customer of its subscriber's events changes); an event of
    // another subscriber a day before its first, from one of the shop's own
    // addresses (its events are the shop's own from now on); a campaign
    // renamed; and a new event.
    const [firstRekeyed] = await rows<typeof rekeyed>(
      incremental,
      `select events.customer_id, any_value(events.subscriber_id) as subscriber_id, any_value(events.email) as email, any_value(contacts.created_at) as created_at
       from marts.fct_email_events as events join raw_crm.contacts as contacts on events.customer_id = contacts.contact_id
       where contacts.created_at is not null group by events.customer_id order by events.customer_id limit 1`,
    );
    const [firstFlipped] = await rows<typeof flipped>(
      incremental,
      `select subscriber_id, min(occurred_at) as first_at from marts.fct_email_events
       where customer_id <> '${firstRekeyed?.customer_id}' group by subscriber_id having count(*) >= 2 order by subscriber_id limit 1`,
    );
    const [firstRenamed] = await rows<typeof renamed>(incremental, `select campaign_id, campaign_type from raw_email.campaigns order by campaign_id limit 1`);
    expect(firstRekeyed && firstFlipped && firstRenamed).toBeTruthy();
    rekeyed = firstRekeyed!;
    flipped = firstFlipped!;
    renamed = firstRenamed!;
    const crm = path.join(dir, 'sources', 'crm');
    const email = path.join(dir, 'sources', 'email');
    const dayBefore = (date: Date) => at(date, -24 * 60);
    writeFileSync(
      path.join(crm, 'contacts-late.csv'),
      `contact_id,email,created_at,updated_at\nC-late,${rekeyed.email},${dayBefore(rekeyed.created_at)},${dayBefore(rekeyed.created_at)}\n`,
    );
    // campaigns_late.csv sorts after campaigns.csv: the reference, loading both at once, keeps its row too.
    writeFileSync(path.join(email, 'campaigns_late.csv'), `campaign_id,name,campaign_type\n${renamed.campaign_id},Renamed campaign,${renamed.campaign_type}\n`);
    writeFileSync(
      path.join(email, 'email_events-late.csv'),
      'event_id,campaign_id,subscriber_id,subscriber_email,event_type,occurred_at,url,bounce_type\n' +
        `Elate-flip,${renamed.campaign_id},${flipped.subscriber_id},flip@tango-shop.example,sent,${dayBefore(flipped.first_at)},,\n` +
        `Elate-new,${renamed.campaign_id},${rekeyed.subscriber_id},${rekeyed.email},sent,${dayBefore(rekeyed.created_at)},,\n`,
    );
    for (const day of held) renameSync(path.join(dir, 'held', day), path.join(web, day));
    await run(configFile);
  }, 600_000);

  it('ends with the same sessions as a build from all the events at once', async () => {
    const reference = path.join(dir, 'reference.duckdb');
    await run(writeConfig(dir, { warehouse: { path: 'reference.duckdb' }, sources: SOURCES }, 'reference.yaml'));
    const fct = 'web_session_id, session_number, customer_id, started_at, ended_at, started_date, events, page_views, product_views, has_add_to_cart, has_sign_up, has_purchase, utm_source, utm_medium, utm_campaign, utm_channel, device';
    const built = await sessions(incremental, 'marts.fct_web_sessions', fct);
    expect(built.length).toBeGreaterThan(1000);
    expect(built).toEqual(await sessions(reference, 'marts.fct_web_sessions', fct));
    expect(await sessions(incremental, 'intermediate.int_web_sessions', SESSION_COLUMNS)).toEqual(await sessions(reference, 'intermediate.int_web_sessions', SESSION_COLUMNS));
    // The email events, written again where the second run made them stale (load times aside).
    const emailColumns = 'email_event_id, customer_id, subscriber_id, email, campaign_id, campaign_name, campaign_type, event_type, is_engagement, occurred_at, occurred_date, clicked_url, bounce_type';
    const emailEvents = await sessions(incremental, 'marts.fct_email_events', emailColumns);
    expect(emailEvents.length).toBeGreaterThan(1000);
    expect(emailEvents).toEqual(await sessions(reference, 'marts.fct_email_events', emailColumns));
    // Each cookie's identities, and the identity bridge they feed (load times aside).
    const identityColumns = 'anonymous_id, contact_id, email, first_seen_at';
    const identities = await sessions(incremental, 'intermediate.int_web_cookie_identities', identityColumns);
    expect(identities.length).toBeGreaterThan(1000);
    expect(identities).toEqual(await sessions(reference, 'intermediate.int_web_cookie_identities', identityColumns));
    const keyColumns = 'key_type, key_value, customer_id, is_internal';
    expect(await sessions(incremental, 'intermediate.int_customer_keys_resolved', keyColumns)).toEqual(
      await sessions(reference, 'intermediate.int_customer_keys_resolved', keyColumns),
    );
    // The incremental staging of events (load times aside: the two warehouses loaded at different times).
    for (const [table, columns] of Object.entries(EVENT_COLUMNS)) {
      const [fingerprint] = await rows<{ events: bigint; fingerprint: bigint }>(incremental, fingerprintSql(table, columns));
      expect(fingerprint!.events).toBeGreaterThan(1000n);
      expect(await rows(reference, fingerprintSql(table, columns))).toEqual([fingerprint]);
    }

    // The late events did what they were made for.
    // The session that ended at the old end now ends 10 minutes later (the cookie may have later sessions, from the held-back days).
    const extended = await rows<{ ended_at: Date }>(
      incremental,
      `select ended_at from marts.fct_web_sessions
       where anonymous_id = '${joined.anonymous_id}' and started_at <= '${joined.ended_at.toISOString()}' and ended_at >= '${joined.ended_at.toISOString()}'`,
    );
    expect(extended.map((session) => session.ended_at.getTime() - joined.ended_at.getTime())).toEqual([10 * 60_000]);
    const linkedSessions = await rows<{ session_number: bigint; customer_id: string | null }>(
      incremental,
      `select session_number, customer_id from marts.fct_web_sessions
       where anonymous_id = '${linked.anonymous_id}' order by session_number`,
    );
    expect(linkedSessions.length).toBeGreaterThanOrEqual(3);
    expect(linkedSessions.every((session) => session.customer_id !== null)).toBe(true);
    const [spanning] = await rows<{ n: bigint }>(
      incremental,
      `select count(*) as n from intermediate.int_web_sessions
       where anonymous_id = '${merged.anonymous_id}' and started_at < '${merged.midpoint.toISOString()}' and ended_at > '${merged.midpoint.toISOString()}'`,
    );
    expect(spanning!.n).toBe(1n);
    // The relinked cookie is now the other contact's customer (whatever that
    // customer is called after this run's other changes), and so are its sessions.
    const [otherCustomer] = await rows<{ customer_id: string }>(
      incremental,
      `select customer_id from intermediate.int_customer_keys_resolved where key_type = 'contact_id' and key_value = '${otherContact.contact_id}'`,
    );
    expect(await rows(incremental, `select customer_id from intermediate.int_customer_keys_resolved where key_type = 'anonymous_id' and key_value = '${relinked.anonymous_id}'`)).toEqual([
      otherCustomer,
    ]);
    expect(await rows(incremental, `select distinct customer_id from marts.fct_web_sessions where anonymous_id = '${relinked.anonymous_id}'`)).toEqual([otherCustomer]);
    expect(resent.device).not.toBe('re-sent');
    expect(await rows(incremental, `select device from staging.stg_web__events where event_id = '${resent.event_id}'`)).toEqual([{ device: resent.device }]);
    // And the email changes did theirs.
    const emailOf = (where: string) => rows<{ n: bigint }>(incremental, `select count(*) as n from marts.fct_email_events where ${where}`);
    expect(await emailOf(`subscriber_id = '${rekeyed.subscriber_id}' and customer_id <> 'C-late'`)).toEqual([{ n: 0n }]);
    expect(await emailOf(`email_event_id = 'Elate-new' and customer_id = 'C-late'`)).toEqual([{ n: 1n }]);
    expect(await emailOf(`subscriber_id = '${flipped.subscriber_id}'`)).toEqual([{ n: 0n }]);
    expect(await emailOf(`campaign_id = '${renamed.campaign_id}' and campaign_name is distinct from 'Renamed campaign'`)).toEqual([{ n: 0n }]);
    expect((await emailOf(`campaign_id = '${renamed.campaign_id}'`))[0]!.n).toBeGreaterThan(1n);
  });

  it('drops the sessions whose events a full refresh of the raw events no longer has', async () => {
    const cookieSessions = () => rows<{ n: bigint }>(incremental, `select count(*) as n from intermediate.int_web_sessions where anonymous_id = '${ONCE_COOKIE}'`);
    expect(await cookieSessions()).toEqual([{ n: 1n }]);
    // The new cookie's file and a day of events are gone when the stream is loaded again.
    rmSync(path.join(web, 'once'), { recursive: true });
    rmSync(path.join(web, readdirSync(web).filter((name) => name.startsWith('date=')).sort()[100]!), { recursive: true });
    await run(configFile, ['extract', '--source', 'web', '--full-refresh']);
    await run(configFile, ['transform']);
    expect(await cookieSessions()).toEqual([{ n: 0n }]);
    const [counts] = await rows<{ session_events: bigint; events: bigint; session_cookies: bigint; cookies: bigint }>(
      incremental,
      `select (select sum(events) from intermediate.int_web_sessions) as session_events,
         (select count(*) from staging.stg_web__events where anonymous_id is not null) as events,
         (select count(distinct anonymous_id) from intermediate.int_web_sessions) as session_cookies,
         (select count(distinct anonymous_id) from staging.stg_web__events where anonymous_id is not null) as cookies`,
    );
    expect(counts!.session_events).toBe(counts!.events);
    expect(counts!.session_cookies).toBe(counts!.cookies);
    // The cookies' identities are those of the events as loaded again: none of the first load's stays.
    const fromEvents = `select anonymous_id, contact_id, email, min(occurred_at) as first_seen_at
        from (select *, nullif(lower(trim(email_as_sent)), '') as email from staging.stg_web__event_identities)
        where contact_id is not null or email is not null group by anonymous_id, contact_id, email`;
    const [identityDifferences] = await rows<{ stored_only: bigint; events_only: bigint; stored: bigint }>(
      incremental,
      `select (select count(*) from (select anonymous_id, contact_id, email, first_seen_at from intermediate.int_web_cookie_identities except all (${fromEvents}))) as stored_only,
         (select count(*) from ((${fromEvents}) except all select anonymous_id, contact_id, email, first_seen_at from intermediate.int_web_cookie_identities)) as events_only,
         (select count(*) from intermediate.int_web_cookie_identities) as stored`,
    );
    expect(identityDifferences).toEqual({ stored_only: 0n, events_only: 0n, stored: identityDifferences!.stored });
    expect(identityDifferences!.stored).toBeGreaterThan(1000n);
    // The staged events are those of the raw events as loaded again, not a mix of both loads.
    const [staged] = await rows<{ staged: bigint; raw: bigint; stale: bigint }>(
      incremental,
      `select (select count(*) from staging.stg_web__events) as staged,
         (select count(distinct event_id) from raw_web.events) as raw,
         (select count(*) from staging.stg_web__events where loaded_at < (select min(_loaded_at) from raw_web.events)) as stale`,
    );
    expect(staged!.staged).toBe(staged!.raw);
    expect(staged!.stale).toBe(0n);
  });
});
