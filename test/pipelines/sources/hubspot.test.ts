// The crm_hubspot source against a real HTTP server on 127.0.0.1 that answers
// as HubSpot's CRM search and associations APIs do (test/support/api-server.ts):
// records nested under `properties`, the properties asked for alone, a
// since-filter in the body, and no paging past 10,000 results.
import { afterEach, describe, expect, it } from 'vitest';

import { loadConfig } from '../../../pipelines/config.ts';
import { killWhen, runTango, tempDir, writeConfig } from '../../helpers.ts';
import type { Route } from '../../support/api-server.ts';
import { startApiProject, TOKEN_ENV, type ApiProject } from '../../support/api-project.ts';

/** A record as HubSpot's search answers it. */
const record = (id: number, properties: Record<string, string | null>) => ({
  id: String(id),
  properties: { hs_object_id: String(id), ...properties },
  createdAt: '2024-01-01T00:00:00.000Z',
  updatedAt: properties.lastmodifieddate ?? properties.hs_lastmodifieddate,
  archived: false,
});

const contact = (id: number, lastModified: string, extra: Record<string, string | null> = {}) =>
  record(id, {
    email: `person${id}@example.com`,
    firstname: `First${id}`,
    lastname: `Last${id}`,
    phone: null,
    country: 'DE',
    city: 'Berlin',
    hs_analytics_source: 'ORGANIC_SEARCH',
    hubspot_owner_id: '77',
    hs_email_optout: 'false',
    createdate: '2024-01-02T08:00:00.000Z',
    lastmodifieddate: lastModified,
    favourite_colour: 'green',
    ...extra,
  });

function hubspotRoutes(): Record<string, Route> {
  const search = (records: Record<string, unknown>[], cursorField = 'hs_lastmodifieddate'): Route => ({ style: 'search', cursorField, keyField: 'id', records });
  return {
    '/crm/v3/objects/contacts': search(
      [
        contact(101, '2024-02-01T10:00:00.000Z'),
        contact(102, '2024-02-02T10:00:00.000Z', { hs_email_optout: 'true', hs_analytics_source: 'PAID_SOCIAL' }),
        // An opt-out that is no boolean: consent unknown, the record still loaded.
        contact(103, '2024-02-03T10:00:00.000Z', { hs_email_optout: '' }),
      ],
      'lastmodifieddate',
    ),
    '/crm/v3/objects/deals': search([
      record(201, { dealstage: 'closedwon', amount: '120.50', createdate: '2024-02-05T09:00:00.000Z', closedate: '2024-02-20T09:00:00.000Z', hs_lastmodifieddate: '2024-02-20T09:00:00.000Z' }),
      record(202, { dealstage: 'appointmentscheduled', amount: '40', createdate: '2024-02-06T09:00:00.000Z', closedate: '2024-03-31T09:00:00.000Z', hs_lastmodifieddate: '2024-02-21T09:00:00.000Z' }),
      // No contact associated: the contract's contact_id is required.
      record(203, { dealstage: 'closedlost', amount: '10', createdate: '2024-02-07T09:00:00.000Z', closedate: '2024-02-22T09:00:00.000Z', hs_lastmodifieddate: '2024-02-22T09:00:00.000Z' }),
    ]),
    '/crm/v3/objects/orders': search([
      record(301, { hs_createdate: '2024-02-10T12:30:00.000Z', hs_subtotal_price: '80.00', hs_order_discount: '5.00', hs_currency_code: 'EUR', hs_lastmodifieddate: '2024-02-10T12:31:00.000Z' }),
    ]),
    '/crm/v3/objects/tickets': search([
      record(401, { createdate: '2024-02-11T08:00:00.000Z', closed_date: '2024-02-12T08:00:00.000Z', hs_pipeline_stage: '4', hs_ticket_category: 'BILLING_ISSUE', hs_lastmodifieddate: '2024-02-12T08:00:00.000Z' }),
    ]),
  };
}

describe('HubSpot CRM source (crm_hubspot)', () => {
  let project: ApiProject;
  afterEach(() => project.close());

  const start = async (hubspot: Record<string, unknown> = {}, { kindsPace = false } = {}) => {
    // As fast as the local server answers, unless a test asks for the kind's own pace.
    const pace = kindsPace ? {} : { requests_per_second: 1000 };
    const source = { name: 'hubspot', kind: 'crm_hubspot', token_env: TOKEN_ENV, page_size: 2, ...pace, ...hubspot };
    project = await startApiProject((url) => [{ ...source, base_url: url }], {}, hubspotRoutes());
    project.server.associations = {
      'deals/contacts': { '201': ['101'], '202': ['102', '103'] },
      'orders/contacts': { '301': ['101'] },
      'tickets/contacts': { '401': ['103'] },
    };
    return project;
  };
  /** A new project whose hubspot source has these options, extracted once. */
  const startAgainWith = async (hubspot: Record<string, unknown>) => {
    await project.close();
    await start(hubspot);
    return project.extract('hubspot');
  };
  const searchesOf = (object: string) => project.requestsTo(`/crm/v3/objects/${object}/search`);

  it('reads contacts, deals, orders and tickets through the search, maps their properties into the contract, and takes contacts from the associations', async () => {
    await start();
    const counts = await project.extract('hubspot');
    // Three contacts at two a page: two searches.
    expect(counts.contacts).toMatchObject({ rows_read: 3, rows_loaded: 3, rows_quarantined: 0, files_loaded: 2 });
    expect(searchesOf('contacts')).toHaveLength(2);
    const [first, second] = searchesOf('contacts');
    expect(first!.authorization).toBe(`Bearer ${project.server.token}`);
    // The first run asks for everything, oldest change first, and for the properties its map reads.
    expect(first!.body).toMatchObject({ filterGroups: [], sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }], limit: 2 });
    expect((first!.body as { after?: string }).after).toBeUndefined();
    expect((second!.body as { after?: string }).after).toBe('2');
    const asked = (first!.body as { properties: string[] }).properties;
    expect([...asked].sort()).toEqual(
      ['city', 'country', 'createdate', 'email', 'firstname', 'hs_analytics_source', 'hs_email_optout', 'hubspot_owner_id', 'lastmodifieddate', 'lastname', 'phone'].sort(),
    );
    expect(await project.query('select contact_id, email, first_name, last_name, country, acquisition_channel, owner, email_consent, is_deleted from raw_hubspot.contacts order by contact_id')).toEqual([
      { contact_id: '101', email: 'person101@example.com', first_name: 'First101', last_name: 'Last101', country: 'DE', acquisition_channel: 'organic_search', owner: '77', email_consent: true, is_deleted: false },
      { contact_id: '102', email: 'person102@example.com', first_name: 'First102', last_name: 'Last102', country: 'DE', acquisition_channel: 'paid_social', owner: '77', email_consent: false, is_deleted: false },
      { contact_id: '103', email: 'person103@example.com', first_name: 'First103', last_name: 'Last103', country: 'DE', acquisition_channel: 'organic_search', owner: '77', email_consent: null, is_deleted: false },
    ]);
    const [created] = await project.query<{ created: string; updated: string }>(
      `select strftime(created_at at time zone 'UTC', '%Y-%m-%d %H:%M') as created, strftime(updated_at at time zone 'UTC', '%Y-%m-%d %H:%M') as updated from raw_hubspot.contacts where contact_id = '101'`,
    );
    expect(created).toEqual({ created: '2024-01-02 08:00', updated: '2024-02-01 10:00' });

    // Deals are leads: won, open (its close date only expected, so none), and one without a contact, quarantined.
    expect(counts.leads).toMatchObject({ rows_read: 3, rows_loaded: 2, rows_quarantined: 1 });
    expect(
      await project.query(`select lead_id, contact_id, lead_type, status, amount::varchar as amount, strftime(closed_at at time zone 'UTC', '%Y-%m-%d') as closed from raw_hubspot.leads order by lead_id`),
    ).toEqual([
      { lead_id: '201', contact_id: '101', lead_type: 'quote', status: 'won', amount: '120.50', closed: '2024-02-20' },
      // Associated with two contacts: the first.
      { lead_id: '202', contact_id: '102', lead_type: 'quote', status: 'open', amount: '40.00', closed: null },
    ]);
    const quarantined = await project.query<{ stream: string; reason: string; origin: string }>('select stream, reason, origin from _meta.quarantine');
    expect(quarantined).toEqual([{ stream: 'leads', reason: 'contact_id: required but empty', origin: `POST ${project.server.url}/crm/v3/objects/deals/search after=2` }]);
    expect(project.requestsTo('/crm/v4/associations/deals/contacts/batch/read').map((request) => request.body)).toEqual([
      { inputs: [{ id: '201' }, { id: '202' }] },
      { inputs: [{ id: '203' }] },
    ]);

    expect(await project.query(`select order_id, contact_id, status, amount::varchar as amount, discount::varchar as discount, currency from raw_hubspot.orders`)).toEqual([
      { order_id: '301', contact_id: '101', status: 'paid', amount: '80.00', discount: '5.00', currency: 'EUR' },
    ]);
    expect(await project.query(`select ticket_id, contact_id, status, topic, solved_at > opened_at as solved_after from raw_hubspot.support_tickets`)).toEqual([
      { ticket_id: '401', contact_id: '103', status: 'closed', topic: 'billing_issue', solved_after: true },
    ]);
  });

  it('sends the watermark as a filter on the modification date, loads only what changed, and a run with nothing new changes nothing', async () => {
    await start();
    await project.extract('hubspot');
    const contacts = project.server.routes.get('/crm/v3/objects/contacts')!;
    const changed = contact(101, '2024-03-01T10:00:00.000Z', { lastname: 'Married' });
    contacts.records = [changed, ...contacts.records.slice(1)];
    project.server.requests.length = 0;

    const again = await project.extract('hubspot');
    // At or after the last run's newest change (contact 103, 2024-02-03 10:00 UTC), in milliseconds: 103 itself comes again, and 101.
    expect(searchesOf('contacts')[0]!.body).toMatchObject({
      filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: String(Date.UTC(2024, 1, 3, 10)) }] }],
    });
    expect(again.contacts).toMatchObject({ rows_read: 2, rows_loaded: 2 });
    const rows = () => project.query('select * exclude (_loaded_at, _run_id, _origin, _line) from raw_hubspot.contacts order by contact_id');
    const afterChange = await rows();
    expect(afterChange).toHaveLength(3);
    expect(afterChange.map((row) => row.last_name)).toEqual(['Married', 'Last102', 'Last103']);

    const third = await project.extract('hubspot');
    expect(third.contacts).toMatchObject({ rows_read: 1, rows_loaded: 1 });
    expect(await rows()).toEqual(afterChange);
  });

  it('flags the rows of records archived in HubSpot as deleted, and unflags one restored', async () => {
    await start({ streams: { contacts: {} } });
    await project.extract('hubspot');
    const contacts = project.server.routes.get('/crm/v3/objects/contacts')!;
    const [first, second, third] = contacts.records;
    // 102 archived (the search no longer finds it), and 999, archived before any run saw it.
    contacts.records = [first!, third!];
    contacts.archived = [{ ...second!, archived: true }, { ...contact(999, '2024-01-01T00:00:00.000Z'), archived: true }];
    const flagged = () => project.query(`select contact_id, is_deleted from raw_hubspot.contacts order by contact_id`);
    const again = await project.extract('hubspot');
    expect(again.contacts).toMatchObject({ rows_read: 1, rows_loaded: 1, rows_quarantined: 0 });
    expect(project.requestsTo('/crm/v3/objects/contacts').map((request) => request.params.get('archived'))).toContain('true');
    expect(await flagged()).toEqual([
      { contact_id: '101', is_deleted: false },
      { contact_id: '102', is_deleted: true },
      { contact_id: '103', is_deleted: false },
    ]);
    // Restored: found by the search again (changed later), merged back unflagged.
    contacts.records = [first!, contact(102, '2024-04-01T00:00:00.000Z'), third!];
    contacts.archived = [];
    await project.extract('hubspot');
    expect((await flagged()).map((row) => row.is_deleted)).toEqual([false, false, false]);
  });

  it("pages past HubSpot's 10,000-result cap by starting a new search from the newest modification date read", async () => {
    await start({ page_size: 200, streams: { contacts: {} } });
    const contacts = project.server.routes.get('/crm/v3/objects/contacts')!;
    // One a second from 2024-01-01 00:00 UTC.
    contacts.records = Array.from({ length: 10_150 }, (_, index) => contact(1000 + index, new Date(Date.UTC(2024, 0, 1) + index * 1000).toISOString()));
    const counts = await project.extract('hubspot');
    // The 10,000th record (index 9,999) starts the second search; it comes twice.
    expect(counts.contacts).toMatchObject({ rows_read: 10_151, rows_loaded: 10_151, rows_quarantined: 0 });
    const [count] = await project.query<{ n: bigint }>('select count(*) as n from raw_hubspot.contacts');
    expect(count!.n).toBe(10_150n);
    const restart = searchesOf('contacts').find((request) => (request.body as { filterGroups: unknown[] }).filterGroups.length);
    expect(restart!.body).toMatchObject({ filterGroups: [{ filters: [{ value: String(Date.UTC(2024, 0, 1) + 9_999_000) }] }] });
    expect((restart!.body as { after?: string }).after).toBeUndefined();
    expect(searchesOf('contacts').every((request) => Number((request.body as { after?: string }).after ?? 0) < 10_000)).toBe(true);
  });

  it('fails the stream with a clear message when more than 10,000 records share one modification date', async () => {
    await start({ page_size: 200, streams: { contacts: {} } });
    project.server.routes.get('/crm/v3/objects/contacts')!.records = Array.from({ length: 10_001 }, (_, index) => contact(1000 + index, '2024-01-01T00:00:00.000Z'));
    const counts = await project.extract('hubspot');
    expect(counts.contacts!.error).toMatch(/source hubspot, stream contacts: POST .* more than 10000 records share lastmodifieddate = 2024-01-01T00:00:00.000Z; the search cannot page past them/);
    // The stream keeps its old watermark (none): the next run reads from the start again.
    expect(await project.query(`select * from _meta.stream_state where source = 'hubspot'`)).toEqual([]);
  });

  it('waits as a 429 asks (HubSpot allows a few searches a second) and retries a 502, then goes on', async () => {
    await start({ streams: { contacts: {} } });
    project.server.faults.push({ kind: 'status', status: 429, retryAfter: '1' }, { kind: 'status', status: 502 });
    const counts = await project.extract('hubspot');
    expect(counts.contacts).toMatchObject({ rows_read: 3, rows_loaded: 3 });
    const [limited, failed, retried] = searchesOf('contacts');
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(1000);
    // The same page asked again, body and all.
    expect(failed!.body).toEqual(limited!.body);
    expect(retried!.body).toEqual(limited!.body);
  });

  it('asks at most 4 searches a second, as HubSpot allows, unless the config says otherwise', async () => {
    await start({ streams: { contacts: {} } }, { kindsPace: true });
    project.server.routes.get('/crm/v3/objects/contacts')!.records = Array.from({ length: 10 }, (_, index) => contact(1000 + index, `2024-01-0${1 + (index % 9)}T00:00:00.000Z`));
    await project.extract('hubspot');
    // Ten contacts at two a page: five searches, a quarter of a second apart.
    // Measured where they arrive, each gap also holds the difference of two
    // requests' latencies (the first also opens the connection: 10-15 ms more
    // on this machine): the pace is the mean gap, and no gap is far below it.
    const searches = searchesOf('contacts');
    expect(searches).toHaveLength(5);
    const gaps = searches.slice(1).map((request, index) => request.at - searches[index]!.at);
    const meanGap = gaps.reduce((sum, gap) => sum + gap, 0) / gaps.length;
    expect(meanGap, `gaps ${gaps.join(', ')} ms`).toBeGreaterThanOrEqual(245);
    expect(Math.min(...gaps), `gaps ${gaps.join(', ')} ms`).toBeGreaterThanOrEqual(220);
  });

  it('after kill -9 in the middle of a load, a rerun gives exactly the state of an uninterrupted run', async () => {
    await start({ page_size: 10, streams: { contacts: {} } });
    project.server.routes.get('/crm/v3/objects/contacts')!.records = Array.from({ length: 1000 }, (_, index) =>
      contact(1000 + index, new Date(Date.UTC(2024, 0, 1) + index * 60_000).toISOString()),
    );
    project.server.delayMs = 20;
    const env = { [TOKEN_ENV]: project.server.token };
    const args = ['--config', project.configFile, 'extract', '--source', 'hubspot'];
    // Killed when the 30th page is asked for: each page is committed before the next is asked for.
    const killed = await runTango(args, {
      env,
      onStart: killWhen(() => searchesOf('contacts').length >= 30),
    });
    expect(killed.signal).toBe('SIGKILL');
    const rows = () => project.query('select * exclude (_loaded_at, _run_id, _origin, _line) from raw_hubspot.contacts order by contact_id');
    const partial = await rows();
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.length).toBeLessThan(1000);
    const rerun = await runTango(args, { env });
    expect(rerun.code, rerun.stderr).toBe(0);
    const afterRerun = await rows();

    await project.extractAnew('hubspot');
    const uninterrupted = await rows();
    expect(uninterrupted).toHaveLength(1000);
    expect(afterRerun).toEqual(uninterrupted);
  });

  it("asks for a portal's own properties that a config map reads, and refuses properties on a kind that does not search", async () => {
    await start({ streams: { contacts: { map: { custom_properties: `json_object('favourite_colour', _json ->> 'favourite_colour')` } } } });
    await project.extract('hubspot');
    expect((searchesOf('contacts')[0]!.body as { properties: string[] }).properties).toContain('favourite_colour');
    const rows = await project.query<{ custom: string; first_name: string }>(`select custom_properties::varchar as custom, first_name from raw_hubspot.contacts order by contact_id limit 1`);
    // The rest of the kind's map still applies.
    expect(rows).toEqual([{ custom: '{"favourite_colour":"green"}', first_name: 'First101' }]);

    const failing = await startAgainWith({ streams: { contacts: { map: { birth_year: `cast(_json ->> 'firstname' as integer)` } } } });
    // A map that fails on a value names the page it was reading, not a spooled file.
    expect(failing.contacts!.error).toContain(
      `source hubspot, stream contacts: POST ${project.server.url}/crm/v3/objects/contacts/search after=0: cannot be mapped into contacts: Conversion Error`,
    );

    const file = writeConfig(tempDir(), { sources: [{ name: 'crm', kind: 'crm_api', base_url: 'http://127.0.0.1:1', token_env: TOKEN_ENV, streams: { contacts: { properties: ['x'] } } }] });
    expect(() => loadConfig(file)).toThrow(/sources\[0\]\.streams\.contacts\.properties: not used by kind crm_api/);
  });
});
