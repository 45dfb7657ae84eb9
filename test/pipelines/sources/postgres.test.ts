// The PostgreSQL CRM source against a real PostgreSQL server.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

import { loadConfig, type Config } from '../../../pipelines/config.ts';
import { createLogger } from '../../../pipelines/log.ts';
import { extractSource } from '../../../pipelines/sources/extract.ts';
import type { StreamCounts } from '../../../pipelines/sources/types.ts';
import { applyMetaContract, openWarehouse, queryRows } from '../../../pipelines/warehouse.ts';
import { killWhen, runTango, tempDir } from '../../helpers.ts';
import { startPostgres, type TestPostgres } from '../../support/postgres.ts';

const URL_ENV = 'TANGO_TEST_CRM_DATABASE_URL';
let server: TestPostgres;
let admin: pg.Client;
let database = 0;

/** A fresh database per test, with a CRM schema like a company's own. */
async function freshCrm(): Promise<string> {
  const name = `crm_${++database}`;
  await admin.query(`create database ${name}`);
  const url = server.url.replace(/\/postgres$/, `/${name}`);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`
    create table contacts (
      contact_id text primary key, email text, first_name text, country text,
      created_at timestamptz not null, updated_at timestamptz not null, deleted_at timestamptz);
    create table orders (
      id bigint primary key, customer text not null, ordered_at timestamptz not null, status text not null,
      total text, currency text not null, modified timestamptz not null);
    insert into contacts values
      ('c1', 'Ann@Example.com', 'Ann', 'DE', '2024-01-02 10:00+00', '2024-01-02 10:00+00', null),
      ('c2', 'bob@example.com', 'Bob', 'FR', '2024-01-03 10:00+00', '2024-01-03 10:00+00', null),
      ('c3', 'cy@example.com', 'Cy', 'GB', '2024-01-04 10:00+00', '2024-01-05 10:00+00', '2024-01-05 10:00+00');
    insert into orders values
      (1, 'c1', '2024-01-05 12:00+01', 'paid', '20.00', 'EUR', '2024-01-05 11:00+00'),
      (2, 'c1', '2024-02-10 09:30+00', 'paid', '35.50', 'EUR', '2024-02-10 09:30+00'),
      (3, 'c2', '2024-01-20 18:00+00', 'refunded', 'twelve', 'EUR', '2024-01-21 08:00+00');`);
  await client.end();
  return url;
}

/** The orders table is laid out differently: mapped in the config. */
const STREAMS = {
  contacts: { deleted: 'deleted_at is not null' },
  orders: {
    table: 'public.orders',
    cursor: 'modified',
    map: { order_id: 'id', contact_id: 'customer', ordered_at: 'ordered_at', status: 'status', amount: 'total', currency: 'currency' },
  },
};

function project(url: string) {
  const dir = tempDir();
  const configFile = path.join(dir, 'tango.config.yaml');
  writeFileSync(
    configFile,
    stringify({ warehouse: { path: 'warehouse.duckdb' }, sources: [{ name: 'crm', kind: 'crm_postgres', connection_env: URL_ENV, streams: STREAMS }] }),
  );
  process.env[URL_ENV] = url;
  return { dir, configFile, config: loadConfig(configFile), env: { [URL_ENV]: url } };
}

async function extractOnce(config: Config, fullRefresh = false): Promise<Record<string, StreamCounts>> {
  const warehouse = await openWarehouse(config.warehousePath);
  try {
    await applyMetaContract(warehouse.connection);
    const counts = await extractSource({ connection: warehouse.connection, runId: 'test', log: createLogger({ quiet: true }), fullRefresh }, config.sources[0]!);
    return Object.fromEntries(counts.map((stream) => [stream.stream, stream]));
  } finally {
    warehouse.close();
  }
}

async function query<Row>(config: Config, sql: string): Promise<Row[]> {
  const warehouse = await openWarehouse(config.warehousePath, { readOnly: true });
  try {
    return await queryRows<Row>(warehouse.connection, sql);
  } finally {
    warehouse.close();
  }
}

describe('PostgreSQL CRM source', () => {
  beforeAll(async () => {
    server = await startPostgres();
    admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    server?.stop();
  });
  beforeEach(() => {
    delete process.env.TANGO_POSTGRES_BATCH_ROWS;
    delete process.env.TANGO_POSTGRES_RETRY_BASE_MS;
  });

  it('loads mapped tables, quarantines a value that breaks the contract, and carries soft deletes', async () => {
    const { config } = project(await freshCrm());
    const counts = await extractOnce(config);
    expect(counts.contacts).toMatchObject({ rows_read: 3, rows_loaded: 3, rows_quarantined: 0 });
    expect(counts.orders).toMatchObject({ rows_read: 3, rows_loaded: 2, rows_quarantined: 1 });
    const contacts = await query<{ contact_id: string; email: string; is_deleted: boolean }>(
      config,
      'select contact_id, email, is_deleted from raw_crm.contacts order by contact_id',
    );
    expect(contacts).toEqual([
      { contact_id: 'c1', email: 'Ann@Example.com', is_deleted: false },
      { contact_id: 'c2', email: 'bob@example.com', is_deleted: false },
      { contact_id: 'c3', email: 'cy@example.com', is_deleted: true },
    ]);
    // 12:00 at +01 is 11:00 UTC.
    const [first] = await query<{ utc: string; amount: number }>(
      config,
      `select strftime(ordered_at at time zone 'UTC', '%Y-%m-%d %H:%M') as utc, amount from raw_crm.orders where order_id = '1'`,
    );
    expect(first).toEqual({ utc: '2024-01-05 11:00', amount: 20 });
    const [bad] = await query<{ reason: string; origin: string; line: bigint }>(config, `select reason, origin, line from _meta.quarantine`);
    expect(bad?.reason).toBe('amount: not a DECIMAL(18,2): twelve');
    expect(bad?.origin).toBe('postgres public.orders after the start');
    // A batch's records are numbered in the order the server sent them: here
    // the order the rows were inserted in, the bad one third.
    expect(bad?.line).toBe(3n);
    expect(await query(config, 'select order_id, _line from raw_crm.orders order by order_id')).toEqual([
      { order_id: '1', _line: 1n },
      { order_id: '2', _line: 2n },
    ]);
  });

  it('reads only what changed since the cursor, and a second run changes nothing', async () => {
    const url = await freshCrm();
    const { config } = project(url);
    await extractOnce(config);
    const crm = new pg.Client({ connectionString: url });
    await crm.connect();
    await crm.query(`
      update contacts set first_name = 'Anne', updated_at = '2024-03-01 00:00+00' where contact_id = 'c1';
      insert into contacts values ('c4', 'dee@example.com', 'Dee', 'NL', '2024-03-02 00:00+00', '2024-03-02 00:00+00', null);`);
    await crm.end();
    const second = await extractOnce(config);
    expect(second.contacts).toMatchObject({ rows_read: 2, rows_loaded: 2 });
    expect(second.orders).toMatchObject({ rows_read: 0 });
    expect(await query(config, `select contact_id, first_name from raw_crm.contacts order by contact_id`)).toEqual([
      { contact_id: 'c1', first_name: 'Anne' },
      { contact_id: 'c2', first_name: 'Bob' },
      { contact_id: 'c3', first_name: 'Cy' },
      { contact_id: 'c4', first_name: 'Dee' },
    ]);
    const before = await query(config, 'select * exclude (_loaded_at) from raw_crm.contacts order by contact_id');
    const third = await extractOnce(config);
    expect(third.contacts).toMatchObject({ rows_read: 0, files_loaded: 0 });
    expect(await query(config, 'select * exclude (_loaded_at) from raw_crm.contacts order by contact_id')).toEqual(before);
    expect(await query(config, `select cursor_value, cursor_key, rows_loaded from _meta.stream_state where stream = 'contacts'`)).toEqual([
      { cursor_value: '2024-03-02 00:00:00+00', cursor_key: 'c4', rows_loaded: 5n },
    ]);
  });

  it('pages through rows that share one cursor value without losing or repeating any', async () => {
    const url = await freshCrm();
    const crm = new pg.Client({ connectionString: url });
    await crm.connect();
    await crm.query(`insert into contacts select 'd' || n, null, null, null, '2024-05-01+00', '2024-05-01+00', null from generate_series(1, 10) as n`);
    await crm.end();
    const { config } = project(url);
    process.env.TANGO_POSTGRES_BATCH_ROWS = '3';
    const counts = await extractOnce(config);
    // 13 contacts in batches of 3: five batches, the last one short.
    expect(counts.contacts).toMatchObject({ rows_read: 13, rows_loaded: 13, files_loaded: 5 });
    expect(await query(config, 'select count(*) as n, count(distinct contact_id) as keys from raw_crm.contacts')).toEqual([{ n: 13n, keys: 13n }]);
  });

  it('pages through a key of several columns (marketing spend: month, channel, purpose) and merges on it', async () => {
    const url = await freshCrm();
    const sql = async (text: string) => {
      const crm = new pg.Client({ connectionString: url });
      await crm.connect();
      try {
        await crm.query(text);
      } finally {
        await crm.end();
      }
    };
    // Eight rows booked at one instant: only the key orders them.
    await sql(`
      create table marketing_spend (spend_month date, channel text, purpose text, amount numeric(18,2), currency text, updated_at timestamptz not null,
        primary key (spend_month, channel, purpose));
      insert into marketing_spend
      select month::date, channel, purpose, 10, 'EUR', '2024-03-01+00'
      from unnest(array['2024-01-01', '2024-02-01']) as month, unnest(array['email', 'social']) as channel, unnest(array['acquisition', 'retention']) as purpose`);
    const { dir } = project(url);
    const configFile = path.join(dir, 'spend.yaml');
    writeFileSync(configFile, stringify({ warehouse: { path: 'warehouse.duckdb' }, sources: [{ name: 'crm', kind: 'crm_postgres', connection_env: URL_ENV, streams: { marketing_spend: {} } }] }));
    const config = loadConfig(configFile);
    process.env.TANGO_POSTGRES_BATCH_ROWS = '3';
    expect((await extractOnce(config)).marketing_spend).toMatchObject({ rows_read: 8, rows_loaded: 8, files_loaded: 3 });
    // February's social acquisition booked again: replaced, not added.
    await sql(`update marketing_spend set amount = 25, updated_at = '2024-03-02+00' where spend_month = '2024-02-01' and channel = 'social' and purpose = 'acquisition'`);
    expect((await extractOnce(config)).marketing_spend).toMatchObject({ rows_read: 1, rows_loaded: 1 });
    expect(await query(config, 'select count(*) as n, sum(amount)::integer as total from raw_crm.marketing_spend')).toEqual([{ n: 8n, total: 95 }]);
  });

  it('reloads a stream from scratch with full refresh', async () => {
    const url = await freshCrm();
    const { config } = project(url);
    await extractOnce(config);
    const crm = new pg.Client({ connectionString: url });
    await crm.connect();
    await crm.query(`delete from orders where id = 2`);
    await crm.end();
    const refreshed = await extractOnce(config, true);
    expect(refreshed.orders).toMatchObject({ rows_read: 2, rows_loaded: 1, rows_quarantined: 1 });
    expect(await query(config, `select order_id from raw_crm.orders`)).toEqual([{ order_id: '1' }]);
    expect(await query(config, `select count(*) as n from _meta.quarantine where stream = 'orders'`)).toEqual([{ n: 1n }]);
  });

  it('a stream whose read fails in the database fails alone; the stream after it loads in full', async () => {
    const url = await freshCrm();
    const dir = tempDir();
    const configFile = path.join(dir, 'tango.config.yaml');
    // orders first, with a map naming a column the table does not have, read in
    // one batch (one snapshot, in a transaction that must end); then contacts.
    const streams = { orders: { ...STREAMS.orders, map: { ...STREAMS.orders.map, amount: 'total_cents' } }, contacts: STREAMS.contacts };
    writeFileSync(configFile, stringify({ warehouse: { path: 'warehouse.duckdb' }, sources: [{ name: 'crm', kind: 'crm_postgres', connection_env: URL_ENV, streams }] }));
    process.env[URL_ENV] = url;
    const config = loadConfig(configFile);
    const counts = await extractOnce(config);
    expect(counts.orders?.error).toMatch(/^source crm, stream orders: postgres public\.orders after the start: the read failed: column "total_cents" does not exist/);
    expect(counts.orders).toMatchObject({ rows_read: 0, files_loaded: 0 });
    expect(counts.contacts).toMatchObject({ rows_read: 3, rows_loaded: 3, files_loaded: 1 });
    expect(counts.contacts?.error).toBeUndefined();
    expect(await query(config, 'select stream, cursor_value, cursor_key, rows_loaded from _meta.stream_state order by stream')).toEqual([
      { stream: 'contacts', cursor_value: '2024-01-05 10:00:00+00', cursor_key: 'c3', rows_loaded: 3n },
    ]);
    expect(await query(config, 'select count(*) as n from raw_crm.orders')).toEqual([{ n: 0n }]);
  });

  it('names the environment variable when it is unset, and never prints the password', async () => {
    const { config } = project('postgres://tango:hunter2-secret@127.0.0.1:1/nowhere');
    process.env.TANGO_POSTGRES_RETRY_BASE_MS = '10';
    const refused = await extractOnce(config);
    expect(refused.contacts?.error).toMatch(/^source crm, stream contacts: cannot connect to the crm database \(TANGO_TEST_CRM_DATABASE_URL\): /);
    expect(refused.contacts?.error).not.toContain('hunter2');
    delete process.env[URL_ENV];
    const unset = await extractOnce(config);
    expect(unset.orders?.error).toBe('source crm, stream orders: set TANGO_TEST_CRM_DATABASE_URL to the postgres:// URL of the crm database');
  });

  it('reads the generated CRM, written into PostgreSQL by tango generate, with no mapping at all', async () => {
    const name = `crm_${++database}`;
    await admin.query(`create database ${name}`);
    const url = server.url.replace(/\/postgres$/, `/${name}`);
    const out = tempDir();
    const generated = await runTango(['generate', '--customers', '1000', '--start', '2024-01-01', '--end', '2024-06-30', '--out', out, '--postgres-env', URL_ENV], {
      env: { [URL_ENV]: url },
    });
    expect(generated.code, generated.stderr).toBe(0);
    const written = JSON.parse(readFileSync(path.join(out, 'truth', 'parameters.json'), 'utf8')) as { rows: Record<string, number> };
    const dir = tempDir();
    const configFile = path.join(dir, 'tango.config.yaml');
    writeFileSync(configFile, stringify({ warehouse: { path: 'warehouse.duckdb' }, sources: [{ name: 'crm', kind: 'crm_postgres', connection_env: URL_ENV }] }));
    process.env[URL_ENV] = url;
    const counts = await extractOnce(loadConfig(configFile));
    // The database holds the valid rows of each export: exactly what the generator wrote, malformed rows aside.
    for (const stream of ['contacts', 'leads', 'orders', 'payments', 'refunds', 'referrals', 'reviews', 'support_tickets', 'marketing_spend']) {
      expect({ stream, ...counts[stream] }).toMatchObject({ stream, rows_read: written.rows[`crm.${stream}`], rows_quarantined: 0 });
    }

    // Many CRMs keep no reviews: without the table, the stream is skipped,
    // the others load, and the reviews already loaded stay.
    const crm = new pg.Client({ connectionString: url });
    await crm.connect();
    await crm.query('drop table reviews');
    await crm.end();
    const withoutReviews = await extractOnce(loadConfig(configFile));
    expect(Object.values(withoutReviews).filter((stream) => stream.error)).toEqual([]);
    expect(withoutReviews.reviews).toMatchObject({ rows_read: 0, files_loaded: 0 });
    expect(await query(loadConfig(configFile), 'select count(*) as n from raw_crm.reviews')).toEqual([{ n: BigInt(written.rows['crm.reviews']!) }]);
    await extractOnce(loadConfig(configFile), true);
    expect(await query(loadConfig(configFile), 'select count(*) as n from raw_crm.reviews')).toEqual([{ n: BigInt(written.rows['crm.reviews']!) }]);
    // Named in the config, the stream must have its table.
    writeFileSync(configFile, stringify({ warehouse: { path: 'warehouse.duckdb' }, sources: [{ name: 'crm', kind: 'crm_postgres', connection_env: URL_ENV, streams: { reviews: {} } }] }));
    const required = await extractOnce(loadConfig(configFile));
    expect(required.reviews?.error).toBe('source crm, stream reviews: table reviews not found (or has no columns) in the database');
  });

  it('after kill -9 in the middle of a load, a rerun gives exactly the state of an uninterrupted run', async () => {
    const url = await freshCrm();
    const crm = new pg.Client({ connectionString: url });
    await crm.connect();
    await crm.query(
      `insert into contacts
       select 'k' || lpad(n::text, 7, '0'), 'k' || n || '@example.com', 'K', 'DE', '2024-06-01+00',
              timestamptz '2024-06-01+00' + (n % 5000) * interval '1 minute', null
       from generate_series(1, 600000) as n`,
    );
    const env = { [URL_ENV]: url, TANGO_POSTGRES_BATCH_ROWS: '50000' };

    const killed = project(url);
    // About 12 batches of about 50,000 rows. Killed when the 4th is spooled:
    // each batch is copied while the one before it loads, so batches 1 and 2
    // are committed and the load is not done, however fast the machine (a
    // kill after a fixed time once came after the whole load).
    const fourthBatch = path.join(`${killed.config.warehousePath}.spool`, 'crm', 'contacts-4.csv');
    const first = await runTango(['--config', killed.configFile, 'extract'], {
      env,
      onStart: killWhen(() => existsSync(fourthBatch)),
    });
    expect(first.signal).toBe('SIGKILL');
    // Batches commit whole, each with its cursor: the killed run left exactly
    // the rows up to the cursor it committed, as PostgreSQL counts them.
    const [partial] = await query<{ n: bigint }>(killed.config, 'select count(*) as n from raw_crm.contacts');
    expect(Number(partial!.n)).toBeGreaterThan(0);
    expect(Number(partial!.n)).toBeLessThan(600_003);
    const [state] = await query<{ cursor_value: string | null; cursor_key: string | null }>(
      killed.config,
      `select any_value(cursor_value) as cursor_value, any_value(cursor_key) as cursor_key from _meta.stream_state where source = 'crm' and stream = 'contacts'`,
    );
    let upToCursor = 0;
    if (state?.cursor_value != null) {
      const counted = await crm.query<{ n: string }>(
        `select count(*) as n from contacts where (updated_at, contact_id::text collate "C") <= ($1::timestamptz, $2)`,
        [state.cursor_value, state.cursor_key],
      );
      upToCursor = Number(counted.rows[0]!.n);
    }
    await crm.end();
    expect(Number(partial!.n)).toBe(upToCursor);
    const rerun = await runTango(['--config', killed.configFile, 'extract'], { env });
    expect(rerun.code, rerun.stderr).toBe(0);
    // The batches the killed run spooled beside the warehouse went with the rerun.
    expect(existsSync(`${killed.config.warehousePath}.spool`)).toBe(false);

    const clean = project(url);
    const whole = await runTango(['--config', clean.configFile, 'extract'], { env });
    expect(whole.code, whole.stderr).toBe(0);

    const fingerprint = (config: Config) =>
      query(
        config,
        `select count(*) as n, count(distinct contact_id) as keys, sum(hash(contact_id, email, updated_at, is_deleted)) as digest
         from raw_crm.contacts`,
      );
    const expected = await fingerprint(clean.config);
    expect(expected[0]).toMatchObject({ n: 600_003n, keys: 600_003n });
    expect(await fingerprint(killed.config)).toEqual(expected);
    expect(await query(killed.config, `select cursor_value, cursor_key, rows_loaded from _meta.stream_state where stream = 'contacts'`)).toEqual(
      await query(clean.config, `select cursor_value, cursor_key, rows_loaded from _meta.stream_state where stream = 'contacts'`),
    );
  });
});
