import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { loadConfig, type Config } from '../../../pipelines/config.ts';
import { createLogger } from '../../../pipelines/log.ts';
import { extractSource } from '../../../pipelines/sources/extract.ts';
import { applyMetaContract, openWarehouse, queryRows, type Warehouse } from '../../../pipelines/warehouse.ts';
import { tinyProject } from '../../helpers.ts';

const log = createLogger({ quiet: true });

describe('file sources', () => {
  let config: Config;
  let dir: string;
  let warehouse: Warehouse;

  beforeEach(async () => {
    const project = tinyProject();
    dir = project.dir;
    config = loadConfig(project.configFile);
    warehouse = await openWarehouse(config.warehousePath);
    await applyMetaContract(warehouse.connection);
  });
  afterEach(() => warehouse.close());

  const source = (name: string) => config.sources.find((candidate) => candidate.name === name)!;
  const extractAll = (name: string, fullRefresh = false) =>
    extractSource({ connection: warehouse.connection, runId: 'test-run', log, fullRefresh }, source(name));
  /** The counts of the named streams of one source, in the order asked. */
  const extract = async (name: string, fullRefresh = false, ...streams: string[]) => {
    const counts = await extractAll(name, fullRefresh);
    return streams.map((stream) => counts.find((candidate) => candidate.stream === stream));
  };
  const count = async (sql: string) => Number((await queryRows<{ n: bigint }>(warehouse.connection, sql))[0]!.n);

  it('loads good rows and quarantines bad ones with the reason, and the counts add up', async () => {
    const [contacts, orders] = await extract('crm', false, 'contacts', 'orders');
    expect(contacts).toMatchObject({ rows_read: 6, rows_loaded: 6, rows_quarantined: 0, files_loaded: 1 });
    expect(orders).toMatchObject({ rows_read: 10, rows_loaded: 9, rows_quarantined: 1, files_loaded: 1 });
    expect(await count('select count(*) as n from raw_crm.orders')).toBe(9);
    const [quarantined] = await queryRows<{ reason: string; record: string; line: bigint }>(
      warehouse.connection,
      `select reason, record, line from _meta.quarantine where stream = 'orders'`,
    );
    expect(quarantined?.reason).toBe('ordered_at: not a TIMESTAMP WITH TIME ZONE: not-a-date');
    expect(JSON.parse(quarantined!.record)).toMatchObject({ order_id: 'o10', ordered_at: 'not-a-date' });
    expect(Number(quarantined?.line)).toBe(10);
  });

  it('keeps quoted commas and converts offsets to UTC', async () => {
    await extract('crm');
    const [fay] = await queryRows<{ first_name: string }>(warehouse.connection, `select first_name from raw_crm.contacts where contact_id = 'c6'`);
    expect(fay?.first_name).toBe('Fay, Jr.');
    const [o3] = await queryRows<{ utc: string }>(
      warehouse.connection,
      `select strftime(ordered_at at time zone 'UTC', '%Y-%m-%d %H:%M') as utc from raw_crm.orders where order_id = 'o3'`,
    );
    expect(o3?.utc).toBe('2024-02-01 01:30');
  });

  it('quarantines a required value that is missing, and reads NDJSON with absent keys as null', async () => {
    const [email] = await extract('email', false, 'events');
    expect(email).toMatchObject({ rows_read: 4, rows_loaded: 3, rows_quarantined: 1 });
    const [web] = await extract('web', false, 'events');
    expect(web).toMatchObject({ rows_read: 4, rows_loaded: 4, rows_quarantined: 0 });
    expect(await count(`select count(*) as n from raw_web.events where event_id = 'w4' and utm_source is null`)).toBe(1);
  });

  it('changes nothing when the same files are extracted again', async () => {
    await extract('crm');
    const before = await count('select count(*) as n from raw_crm.orders');
    const [contacts, orders] = await extract('crm', false, 'contacts', 'orders');
    expect(contacts).toMatchObject({ files_loaded: 0, files_skipped: 1, rows_read: 0 });
    expect(orders).toMatchObject({ files_loaded: 0, files_skipped: 1, rows_read: 0 });
    expect(await count('select count(*) as n from raw_crm.orders')).toBe(before);
    expect(await count('select count(*) as n from _meta.quarantine')).toBe(1);
  });

  it('reports a file that changed after loading instead of reloading it, and the other stream still runs', async () => {
    await extract('crm');
    appendFileSync(path.join(dir, 'sources/crm/orders.csv'), 'o11,c5,2024-03-01T00:00:00Z,paid,5.00,EUR\n');
    writeFileSync(
      path.join(dir, 'sources/crm/contacts-2.csv'),
      'contact_id,email,created_at\nc7,gus@example.com,2024-03-01T00:00:00Z\n',
    );
    const [contacts, orders] = await extract('crm', false, 'contacts', 'orders');
    expect(orders?.error).toMatch(/source crm, stream orders: .*orders\.csv changed since it was loaded .*--full-refresh/);
    expect(contacts).toMatchObject({ files_loaded: 1, rows_loaded: 1 });
    expect(await count('select count(*) as n from raw_crm.orders')).toBe(9);
  });

  it('reloads a stream from scratch with full refresh', async () => {
    await extract('crm');
    appendFileSync(path.join(dir, 'sources/crm/orders.csv'), 'o11,c5,2024-03-01T00:00:00Z,paid,5.00,EUR\n');
    const [orders] = await extract('crm', true, 'orders');
    expect(orders).toMatchObject({ rows_read: 11, rows_loaded: 10, rows_quarantined: 1 });
    expect(await count('select count(*) as n from raw_crm.orders')).toBe(10);
    expect(await count(`select count(*) as n from _meta.quarantine where stream = 'orders'`)).toBe(1);
  });

  it('quarantines a malformed CSV line and keeps the rest of the file', async () => {
    writeFileSync(
      path.join(dir, 'sources/crm/orders.csv'),
      'order_id,contact_id,ordered_at,status,amount,currency\no1,c1,2024-01-03T10:00:00Z,paid,20.00,EUR,surplus\no2,c1,2024-02-14T10:00:00Z,paid,35.50,EUR\n',
    );
    const [orders] = await extract('crm', false, 'orders');
    expect(orders).toMatchObject({ rows_read: 2, rows_loaded: 1, rows_quarantined: 1 });
    const [row] = await queryRows<{ reason: string }>(warehouse.connection, `select reason from _meta.quarantine`);
    expect(row?.reason).toMatch(/^malformed CSV: TOO MANY COLUMNS/);
  });

  it('fails a file that lacks a required column, naming it, and loads nothing from it', async () => {
    writeFileSync(path.join(dir, 'sources/crm/orders.csv'), 'order_id,contact_id,status,amount,currency\no1,c1,paid,20.00,EUR\n');
    const [orders] = await extract('crm', false, 'orders');
    expect(orders?.error).toMatch(/orders\.csv: missing required column\(s\) ordered_at/);
    expect(await count('select count(*) as n from raw_crm.orders')).toBe(0);
    expect(await count(`select count(*) as n from _meta.loaded_files where stream = 'orders'`)).toBe(0);
  });

  it('quarantines all but the last row of a key repeated within a file', async () => {
    writeFileSync(
      path.join(dir, 'sources/crm/orders.csv'),
      'order_id,contact_id,ordered_at,status,amount,currency\no1,c1,2024-01-03T10:00:00Z,paid,20.00,EUR\no1,c1,2024-01-03T10:00:00Z,refunded,20.00,EUR\n',
    );
    const [orders] = await extract('crm', false, 'orders');
    expect(orders).toMatchObject({ rows_read: 2, rows_loaded: 1, rows_quarantined: 1 });
    expect(await count(`select count(*) as n from raw_crm.orders where status = 'refunded'`)).toBe(1);
  });
});
