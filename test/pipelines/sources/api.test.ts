// The API sources (CRM HubSpot style, email Mailchimp style) against a real
// HTTP server on 127.0.0.1. How they meet a misbehaving server is in the
// fault suite (test/faults/sources.test.ts).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { killWhen, runTango } from '../../helpers.ts';
import { contacts, startApiProject, TOKEN_ENV, type ApiProject } from '../../support/api-project.ts';

describe('API sources', () => {
  let project: ApiProject;
  let server: ApiProject['server'];
  let configFile: string;

  beforeEach(async () => {
    project = await startApiProject();
    ({ server, configFile } = project);
  });
  afterEach(() => project.close());

  const extract = (name: string) => project.extract(name);
  const query = <Row = Record<string, unknown>>(sql: string) => project.query<Row>(sql);
  const contactRequests = () => project.requestsTo('/crm/v3/objects/contacts');

  it('pages through a CRM API with a bearer token, and quarantines a record that breaks the contract', async () => {
    const counts = await extract('crm');
    // 25 contacts at 10 a page: three pages.
    expect(counts.contacts).toMatchObject({ rows_read: 25, rows_loaded: 25, rows_quarantined: 0, files_loaded: 3 });
    expect(contactRequests()).toHaveLength(3);
    expect(contactRequests().every((request) => request.authorization === `Bearer ${server.token}`)).toBe(true);
    expect(counts.orders).toMatchObject({ rows_read: 2, rows_loaded: 1, rows_quarantined: 1 });
    const [bad] = await query<{ reason: string; origin: string }>('select reason, origin from _meta.quarantine');
    expect(bad?.reason).toBe('ordered_at: not a TIMESTAMP WITH TIME ZONE: soon');
    expect(bad?.origin).toBe(`${server.url}/crm/v3/objects/orders?limit=10`);
  });

  it('skips the reviews of a CRM API that has none (a 404) unless the config names the stream', async () => {
    await project.close();
    project = await startApiProject([], { streams: undefined });
    const counts = await extract('crm');
    expect(Object.values(counts).filter((stream) => stream.error)).toEqual([]);
    expect(counts.contacts).toMatchObject({ rows_loaded: 25 });
    expect(counts.reviews).toMatchObject({ rows_read: 0, files_loaded: 0 });
    expect(project.requestsTo('/crm/v3/objects/reviews')).toHaveLength(1);
    // Reviews that came while the API had them stay when it no longer does, a full refresh included.
    const review = { review_id: 'v1', contact_id: 'c1', rating: 5, reviewed_at: '2024-01-09T10:00:00Z', updated_at: '2024-01-09T10:00:00Z' };
    project.server.routes.set('/crm/v3/objects/reviews', { style: 'cursor', cursorField: 'updated_at', keyField: 'review_id', records: [review] });
    expect((await extract('crm')).reviews).toMatchObject({ rows_loaded: 1 });
    project.server.routes.delete('/crm/v3/objects/reviews');
    const refreshed = await project.extract('crm', true);
    expect(Object.values(refreshed).filter((stream) => stream.error)).toEqual([]);
    expect(await query('select review_id, rating from raw_crm.reviews')).toEqual([{ review_id: 'v1', rating: 5 }]);

    await project.close();
    project = await startApiProject([], { streams: { reviews: {} } });
    const required = await extract('crm');
    expect(required.reviews?.error).toMatch(/^source crm, stream reviews: http:\/\/127\.0\.0\.1:\d+\/crm\/v3\/objects\/reviews\?limit=10: HTTP 404 /);
  });

  it("reads support tickets from HubSpot's tickets object, when the API has it", async () => {
    await project.close();
    project = await startApiProject([], { streams: undefined });
    expect((await extract('crm')).support_tickets).toMatchObject({ rows_read: 0, files_loaded: 0 });
    expect(project.requestsTo('/crm/v3/objects/tickets')).toHaveLength(1);
    const ticket = {
      ticket_id: 'k1', contact_id: 'c1', opened_at: '2024-01-09T10:00:00Z', solved_at: '2024-01-09T12:00:00Z', status: 'solved', topic: 'delivery', satisfaction: 4,
      updated_at: '2024-01-09T12:00:00Z',
    };
    project.server.routes.set('/crm/v3/objects/tickets', { style: 'cursor', cursorField: 'updated_at', keyField: 'ticket_id', records: [ticket] });
    expect((await extract('crm')).support_tickets).toMatchObject({ rows_loaded: 1 });
    expect(await query('select ticket_id, status, satisfaction from raw_crm.support_tickets')).toEqual([{ ticket_id: 'k1', status: 'solved', satisfaction: 4 }]);
  });

  it('sends the watermark to the server as updated_since and loads only what changed', async () => {
    await extract('crm');
    const route = server.routes.get('/crm/v3/objects/contacts')!;
    route.records.push({ contact_id: 'c26', email: 'new@example.com', created_at: '2024-02-01T00:00:00Z', updated_at: '2024-02-01T00:00:00Z' });
    route.records[0]!.email = 'changed@example.com';
    route.records[0]!.updated_at = '2024-02-02T00:00:00Z';
    server.requests.length = 0;
    const counts = await extract('crm');
    // The last run's latest updated_at: contact 25's, 2024-01-26.
    expect(contactRequests()[0]!.params.get('updated_since')).toBe('2024-01-26T10:00:00Z');
    // Changed since then: the one at the watermark itself (inclusive), c26 and c1.
    expect(counts.contacts).toMatchObject({ rows_read: 3, rows_loaded: 3 });
    expect(await query(`select email from raw_crm.contacts where contact_id in ('c1', 'c26') order by contact_id`)).toEqual([
      { email: 'changed@example.com' },
      { email: 'new@example.com' },
    ]);
    const before = await query('select * exclude (_loaded_at, _run_id, _origin, _line) from raw_crm.contacts order by contact_id');
    await extract('crm');
    expect(await query('select * exclude (_loaded_at, _run_id, _origin, _line) from raw_crm.contacts order by contact_id')).toEqual(before);
  });

  it('pages through an email API by offset until total_items', async () => {
    const counts = await extract('email');
    expect(counts.campaigns).toMatchObject({ rows_read: 1, rows_loaded: 1 });
    // 7 events at 3 a page: offsets 0, 3, 6.
    expect(counts.events).toMatchObject({ rows_read: 7, rows_loaded: 7, files_loaded: 3 });
    expect(server.requests.filter((request) => request.path === '/3.0/activity').map((request) => request.params.get('offset'))).toEqual(['0', '3', '6']);
  });

  it('sends since to the email API on the next run, which changes nothing when nothing changed', async () => {
    await extract('email');
    const before = await query('select * exclude (_loaded_at, _run_id, _origin, _line) from raw_email.events order by event_id');
    server.requests.length = 0;
    const again = await extract('email');
    // The latest event was at 09:06; the since-filter is inclusive, so that one event comes again.
    expect(server.requests.find((request) => request.path === '/3.0/activity')?.params.get('since')).toBe('2024-01-10T09:06:00Z');
    expect(again.events).toMatchObject({ rows_read: 1, rows_loaded: 1 });
    expect(await query('select * exclude (_loaded_at, _run_id, _origin, _line) from raw_email.events order by event_id')).toEqual(before);
  });

  it('after kill -9 in the middle of a load, a rerun gives exactly the state of an uninterrupted run', async () => {
    server.routes.get('/crm/v3/objects/contacts')!.records = contacts(3000, (n) => `2024-03-01T${String(Math.floor(n / 60) % 24).padStart(2, '0')}:${String(n % 60).padStart(2, '0')}:00Z`);
    server.delayMs = 20;
    const env = { [TOKEN_ENV]: server.token };
    // 3,000 contacts at 10 a page, 20 ms a page. Killed when the 50th page is
    // asked for: pages are read one after the other, each committed before the
    // next is asked for, so 49 are in (however slowly the process started).
    const killed = await runTango(['--config', configFile, 'extract', '--source', 'crm'], {
      env,
      onStart: killWhen(() => contactRequests().length >= 50),
    });
    expect(killed.signal).toBe('SIGKILL');
    // Pages are spooled beside the warehouse; the killed run left its folder there.
    const spool = `${project.config.warehousePath}.spool`;
    expect(existsSync(path.join(spool, 'crm.contacts'))).toBe(true);
    const [partial] = await query<{ n: bigint }>('select count(*) as n from raw_crm.contacts');
    expect(Number(partial!.n)).toBeGreaterThan(0);
    expect(Number(partial!.n)).toBeLessThan(3000);
    const rerun = await runTango(['--config', configFile, 'extract', '--source', 'crm'], { env });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(existsSync(spool)).toBe(false);
    const afterRerun = await query('select * exclude (_loaded_at, _run_id, _origin, _line) from raw_crm.contacts order by contact_id');

    await project.extractAnew('crm');
    const uninterrupted = await query('select * exclude (_loaded_at, _run_id, _origin, _line) from raw_crm.contacts order by contact_id');
    expect(uninterrupted).toHaveLength(3000);
    expect(afterRerun).toEqual(uninterrupted);
  });
});
