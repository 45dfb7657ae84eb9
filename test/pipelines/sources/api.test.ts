// The API sources (CRM HubSpot style, email Mailchimp style) against a real
// HTTP server on 127.0.0.1 that misbehaves on demand.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

import { loadConfig, type Config } from '../../../pipelines/config.ts';
import { createLogger } from '../../../pipelines/log.ts';
import { extractSource } from '../../../pipelines/sources/extract.ts';
import type { StreamCounts } from '../../../pipelines/sources/types.ts';
import { applyMetaContract, openWarehouse, queryRows } from '../../../pipelines/warehouse.ts';
import { runTango, tempDir } from '../../helpers.ts';
import { startApiServer, type ApiServer, type Route } from '../../support/api-server.ts';

const TOKEN_ENV = 'TANGO_TEST_API_TOKEN';

function contacts(count: number, updatedAt = (n: number) => `2024-01-${String(1 + (n % 28)).padStart(2, '0')}T10:00:00Z`) {
  return Array.from({ length: count }, (_, index) => ({
    contact_id: `c${index + 1}`,
    email: `person${index + 1}@example.com`,
    created_at: '2024-01-01T00:00:00Z',
    updated_at: updatedAt(index + 1),
  }));
}

function routes(): Record<string, Route> {
  return {
    '/crm/v3/objects/contacts': { style: 'cursor', cursorField: 'updated_at', keyField: 'contact_id', records: contacts(25) },
    '/crm/v3/objects/orders': {
      style: 'cursor',
      cursorField: 'updated_at',
      keyField: 'order_id',
      records: [
        { order_id: 'o1', contact_id: 'c1', ordered_at: '2024-01-05T12:00:00+01:00', status: 'paid', amount: 20, currency: 'EUR', updated_at: '2024-01-05T11:00:00Z' },
        { order_id: 'o2', contact_id: 'c2', ordered_at: 'soon', status: 'paid', amount: 5, currency: 'EUR', updated_at: '2024-01-06T11:00:00Z' },
      ],
    },
    '/3.0/campaigns': {
      style: 'offset',
      itemsKey: 'campaigns',
      cursorField: 'updated_at',
      keyField: 'campaign_id',
      records: [{ campaign_id: 'm1', name: 'January news', campaign_type: 'newsletter', scheduled_at: '2024-01-10T09:00:00Z', updated_at: '2024-01-10T09:00:00Z' }],
    },
    '/3.0/activity': {
      style: 'offset',
      itemsKey: 'activity',
      cursorField: 'occurred_at',
      keyField: 'event_id',
      records: Array.from({ length: 7 }, (_, index) => ({
        event_id: `e${index + 1}`,
        campaign_id: 'm1',
        subscriber_email: `person${index + 1}@example.com`,
        event_type: index % 2 ? 'opened' : 'delivered',
        occurred_at: `2024-01-10T09:0${index}:00Z`,
      })),
    },
  };
}

describe('API sources', () => {
  let server: ApiServer;
  let config: Config;
  let configFile: string;

  beforeEach(async () => {
    server = await startApiServer(routes());
    process.env[TOKEN_ENV] = server.token;
    process.env.TANGO_HTTP_RETRY_BASE_MS = '20';
    const dir = tempDir();
    configFile = path.join(dir, 'tango.config.yaml');
    writeFileSync(
      configFile,
      stringify({
        warehouse: { path: 'warehouse.duckdb' },
        sources: [
          { name: 'crm', kind: 'crm_api', base_url: server.url, token_env: TOKEN_ENV, page_size: 10, streams: { contacts: {}, orders: {} } },
          { name: 'email', kind: 'email_api', base_url: server.url, token_env: TOKEN_ENV, page_size: 3 },
        ],
      }),
    );
    config = loadConfig(configFile);
  });
  afterEach(async () => {
    delete process.env.TANGO_HTTP_TIMEOUT_MS;
    await server.close();
  });

  async function extract(name: string): Promise<Record<string, StreamCounts>> {
    const warehouse = await openWarehouse(config.warehousePath);
    try {
      await applyMetaContract(warehouse.connection);
      const source = config.sources.find((candidate) => candidate.name === name)!;
      const counts = await extractSource({ connection: warehouse.connection, runId: 'test', log: createLogger({ quiet: true }) }, source);
      return Object.fromEntries(counts.map((stream) => [stream.stream, stream]));
    } finally {
      warehouse.close();
    }
  }

  async function query<Row>(sql: string): Promise<Row[]> {
    const warehouse = await openWarehouse(config.warehousePath, { readOnly: true });
    try {
      return await queryRows<Row>(warehouse.connection, sql);
    } finally {
      warehouse.close();
    }
  }

  const contactRequests = () => server.requests.filter((request) => request.path === '/crm/v3/objects/contacts');

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

  it('retries 500s and a cut-off body, and waits as long as a 429 Retry-After asks', async () => {
    server.faults.push({ kind: 'status', status: 500 }, { kind: 'truncate' }, { kind: 'status', status: 429, retryAfter: '1' });
    const counts = await extract('crm');
    expect(counts.contacts).toMatchObject({ rows_read: 25, rows_loaded: 25 });
    const requests = contactRequests();
    // Three failures, then three good pages.
    expect(requests).toHaveLength(6);
    expect(requests[3]!.at - requests[2]!.at).toBeGreaterThanOrEqual(1000);
  });

  it('gives up after the retries with a message naming the page', async () => {
    for (let i = 0; i < 6; i++) server.faults.push({ kind: 'status', status: 503 });
    const counts = await extract('crm');
    expect(counts.contacts?.error).toBe(
      `source crm, stream contacts: ${server.url}/crm/v3/objects/contacts?limit=10: HTTP 503, still after 5 retries`,
    );
    // The other stream still ran.
    expect(counts.orders).toMatchObject({ rows_loaded: 1 });
  });

  it('retries a page that does not answer in time', async () => {
    process.env.TANGO_HTTP_TIMEOUT_MS = '300';
    server.faults.push({ kind: 'slow', ms: 1000 });
    const counts = await extract('crm');
    expect(counts.contacts).toMatchObject({ rows_read: 25, rows_loaded: 25 });
  });

  it('survives a page sent twice, without duplicates', async () => {
    // The second request is answered with the first page again (a no-op fault first).
    server.faults.push({ kind: 'slow', ms: 0 }, { kind: 'repeat' });
    const counts = await extract('crm');
    expect(counts.contacts).toMatchObject({ rows_read: 35, rows_loaded: 35, rows_quarantined: 0 });
    expect(await query('select count(*) as n, count(distinct contact_id) as keys from raw_crm.contacts')).toEqual([{ n: 25n, keys: 25n }]);
  });

  it('names the token variable on 401, without retrying', async () => {
    process.env[TOKEN_ENV] = 'wrong-token';
    const counts = await extract('crm');
    expect(counts.contacts?.error).toMatch(/the server refused the token in TANGO_TEST_API_TOKEN \(HTTP 401\)/);
    expect(contactRequests()).toHaveLength(1);
    delete process.env[TOKEN_ENV];
    const unset = await extract('crm');
    expect(unset.orders?.error).toBe('source crm, stream orders: set TANGO_TEST_API_TOKEN to the API token of crm');
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
    // 3,000 contacts at 10 a page, 20 ms a page: about 6 s in all.
    const killed = await runTango(['--config', configFile, 'extract', '--source', 'crm'], {
      env,
      onStart: (child) => setTimeout(() => child.kill('SIGKILL'), 2500),
    });
    expect(killed.signal).toBe('SIGKILL');
    const [partial] = await query<{ n: bigint }>('select count(*) as n from raw_crm.contacts');
    expect(Number(partial!.n)).toBeGreaterThan(0);
    expect(Number(partial!.n)).toBeLessThan(3000);
    const rerun = await runTango(['--config', configFile, 'extract', '--source', 'crm'], { env });
    expect(rerun.code, rerun.stderr).toBe(0);
    const afterRerun = await query('select * exclude (_loaded_at, _run_id, _origin, _line) from raw_crm.contacts order by contact_id');

    const cleanDir = tempDir();
    const cleanConfig = path.join(cleanDir, 'tango.config.yaml');
    writeFileSync(cleanConfig, stringify({ ...loadConfigObject(configFile), warehouse: { path: 'warehouse.duckdb' } }));
    const clean = await runTango(['--config', cleanConfig, 'extract', '--source', 'crm'], { env });
    expect(clean.code, clean.stderr).toBe(0);
    config = loadConfig(cleanConfig);
    const uninterrupted = await query('select * exclude (_loaded_at, _run_id, _origin, _line) from raw_crm.contacts order by contact_id');
    expect(uninterrupted).toHaveLength(3000);
    expect(afterRerun).toEqual(uninterrupted);
  });
});

function loadConfigObject(file: string): Record<string, unknown> {
  const config = loadConfig(file);
  return { sources: config.sources.map(({ absolutePath: _absolutePath, ...source }) => source) };
}
