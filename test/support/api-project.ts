// A project whose CRM and email sources are APIs served by the test API
// server (test/support/api-server.ts), with helpers to extract and query.

import { loadConfig, type Config } from '../../pipelines/config.ts';
import { createLogger } from '../../pipelines/log.ts';
import { extractSource } from '../../pipelines/sources/extract.ts';
import type { StreamCounts } from '../../pipelines/sources/types.ts';
import { applyMetaContract, openWarehouse, queryRows } from '../../pipelines/warehouse.ts';
import { runTango, tempDir, writeConfig } from '../helpers.ts';
import { startApiServer, type ApiServer, type Route } from './api-server.ts';

export const TOKEN_ENV = 'TANGO_TEST_API_TOKEN';

export function contacts(count: number, updatedAt = (n: number) => `2024-01-${String(1 + (n % 28)).padStart(2, '0')}T10:00:00Z`) {
  return Array.from({ length: count }, (_, index) => ({
    contact_id: `c${index + 1}`,
    email: `person${index + 1}@example.com`,
    created_at: '2024-01-01T00:00:00Z',
    updated_at: updatedAt(index + 1),
  }));
}

/** 25 contacts, two orders (one with a bad timestamp), no leads, payments, refunds or referrals, one campaign and 7 email events. No reviews endpoint. */
export function routes(): Record<string, Route> {
  const none = (keyField: string): Route => ({ style: 'cursor', cursorField: 'updated_at', keyField, records: [] });
  return {
    '/crm/v3/objects/leads': none('lead_id'),
    '/crm/v3/objects/payments': none('payment_id'),
    '/crm/v3/objects/refunds': none('refund_id'),
    '/crm/v3/objects/referrals': none('referral_id'),
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

export interface ApiProject {
  server: ApiServer;
  config: Config;
  configFile: string;
  dir: string;
  /** Extracts one source in this process; counts by stream. */
  extract(name: string, fullRefresh?: boolean): Promise<Record<string, StreamCounts>>;
  query<Row = Record<string, unknown>>(sql: string): Promise<Row[]>;
  /**
   * Runs the real `tango extract --source <name>` into a new warehouse with
   * the same sources, and points `query` at it: the state of an
   * uninterrupted run, to compare a killed and rerun one with.
   */
  extractAnew(name: string): Promise<void>;
  /** The requests the server got for one path. */
  requestsTo(pathname: string): ApiServer['requests'];
  close(): Promise<void>;
}

/**
 * Starts the server and writes the config: source crm (crm_api, contacts and
 * orders, 10 a page) and email (email_api, 3 a page), both with the token in
 * TANGO_TEST_API_TOKEN; `crmOptions` go into the crm source, `extraSources`
 * (given the server's URL) are added as they are, and `extraRoutes` served.
 */
export async function startApiProject(
  extraSources: Record<string, unknown>[] | ((url: string) => Record<string, unknown>[]) = [],
  crmOptions: Record<string, unknown> = {},
  extraRoutes: Record<string, Route> = {},
): Promise<ApiProject> {
  const server = await startApiServer({ ...routes(), ...extraRoutes });
  process.env[TOKEN_ENV] = server.token;
  process.env.TANGO_HTTP_RETRY_BASE_MS = '20';
  const dir = tempDir();
  const configFile = writeConfig(dir, {
    warehouse: { path: 'warehouse.duckdb' },
    sources: [
      { name: 'crm', kind: 'crm_api', base_url: server.url, token_env: TOKEN_ENV, page_size: 10, streams: { contacts: {}, orders: {} }, ...crmOptions },
      { name: 'email', kind: 'email_api', base_url: server.url, token_env: TOKEN_ENV, page_size: 3 },
      ...(typeof extraSources === 'function' ? extraSources(server.url) : extraSources),
    ],
  });
  const project: ApiProject = {
    server,
    config: loadConfig(configFile),
    configFile,
    dir,
    async extract(name, fullRefresh = false) {
      const warehouse = await openWarehouse(project.config.warehousePath);
      try {
        await applyMetaContract(warehouse.connection);
        const source = project.config.sources.find((candidate) => candidate.name === name)!;
        const counts = await extractSource({ connection: warehouse.connection, runId: 'test', log: createLogger({ quiet: true }), fullRefresh }, source);
        return Object.fromEntries(counts.map((stream) => [stream.stream, stream]));
      } finally {
        warehouse.close();
      }
    },
    async query<Row>(sql: string) {
      const warehouse = await openWarehouse(project.config.warehousePath, { readOnly: true });
      try {
        return await queryRows<Row>(warehouse.connection, sql);
      } finally {
        warehouse.close();
      }
    },
    async extractAnew(name) {
      const cleanFile = writeConfig(tempDir(), { ...writtenSources(configFile), warehouse: { path: 'warehouse.duckdb' } });
      const clean = await runTango(['--config', cleanFile, 'extract', '--source', name], { env: { [TOKEN_ENV]: server.token } });
      if (clean.code !== 0) throw new Error(`the uninterrupted extract of ${name} failed: ${clean.stderr}`);
      project.config = loadConfig(cleanFile);
    },
    requestsTo: (pathname) => server.requests.filter((request) => request.path === pathname),
    async close() {
      delete process.env.TANGO_HTTP_TIMEOUT_MS;
      await server.close();
    },
  };
  return project;
}

/** A config's sources as written (without the paths the loader resolves), to write into another config. */
export function writtenSources(file: string): { sources: Record<string, unknown>[] } {
  return { sources: loadConfig(file).sources.map(({ absolutePath: _absolutePath, ...source }) => source) };
}
