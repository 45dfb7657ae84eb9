import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { stringify } from 'yaml';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { loadConfig, type Config } from '../../../pipelines/config.ts';
import { createLogger } from '../../../pipelines/log.ts';
import { extractSource } from '../../../pipelines/sources/extract.ts';
import { createFileTable } from '../../../pipelines/sources/files.ts';
import { applyMetaContract, openWarehouse, queryRows, type Warehouse } from '../../../pipelines/warehouse.ts';
import { generateDemoSources, killWhen, runTango, tempDir, tinyProject } from '../../helpers.ts';

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

  it("maps a help desk's own ticket states in the config, reads a stream listed as {} in its own layout, and names the files of a stream it does not list", async () => {
    writeFileSync(
      path.join(dir, 'sources/crm/support_tickets-zendesk.csv'),
      'ticket_id,contact_id,opened_at,solved_at,status,topic,satisfaction\nz1,c1,2024-01-11T09:00:00Z,,New,delivery,\nz2,c2,2024-01-12T09:00:00Z,,hold,refund,\n',
    );
    source('crm').streams = {
      contacts: {},
      support_tickets: { map: { status: "case lower(status) when 'new' then 'open' when 'hold' then 'pending' else status end" } },
    };
    const warnings: string[] = [];
    const counts = await extractSource(
      { connection: warehouse.connection, runId: 'test-run', log: { ...log, warn: (message: string) => warnings.push(message) }, fullRefresh: false },
      source('crm'),
    );
    expect(counts.map((stream) => stream.stream)).toEqual(['contacts', 'support_tickets']);
    expect(counts[0]).toMatchObject({ rows_read: 6, rows_loaded: 6 });
    const states = await queryRows<{ ticket_id: string; status: string }>(
      warehouse.connection,
      `select ticket_id, status from raw_crm.support_tickets where ticket_id like 'z%' order by ticket_id`,
    );
    expect(states).toEqual([{ ticket_id: 'z1', status: 'open' }, { ticket_id: 'z2', status: 'pending' }]);
    expect(warnings).toEqual([
      'crm.orders: not read, as the config lists only contacts, support_tickets, though 1 file(s) are in its layout (orders.csv); list it under streams (as orders: {} to keep its layout) to load them',
      'crm.marketing_spend: not read, as the config lists only contacts, support_tickets, though 1 file(s) are in its layout (marketing_spend.csv); list it under streams (as marketing_spend: {} to keep its layout) to load them',
    ]);
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
    // The fixture's three bad CRM rows, once: o10, the spend row dated mid-month and t6 (solved before opened).
    expect(await count('select count(*) as n from _meta.quarantine')).toBe(3);
  });

  it("checks custom properties are one JSON object, and quarantines what is not", async () => {
    writeFileSync(
      path.join(dir, 'sources/crm/contacts-2.csv'),
      'contact_id,email,custom_properties\n' +
        'c7,gus@example.com,"{""tier"": ""gold""}"\n' +
        'c8,hal@example.com,"[""gold""]"\n' +
        'c9,ida@example.com,"{tier: gold}"\n',
    );
    const [contacts] = await extract('crm', false, 'contacts');
    expect(contacts).toMatchObject({ rows_read: 9, rows_loaded: 7, rows_quarantined: 2 });
    const [gus] = await queryRows<{ tier: string }>(warehouse.connection, `select custom_properties->>'tier' as tier from raw_crm.contacts where contact_id = 'c7'`);
    expect(gus?.tier).toBe('gold');
    const reasons = await queryRows<{ reason: string }>(warehouse.connection, `select reason from _meta.quarantine where stream = 'contacts' order by line`);
    expect(reasons.map((row) => row.reason)).toEqual([
      `custom_properties: fails the contract's check (json_type(custom_properties) = 'OBJECT'): ["gold"]`,
      'custom_properties: not a JSON: {tier: gold}',
    ]);
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

  it('does not read again a loaded file with the size and modification time it had, and hashes a touched one', async () => {
    const orders = path.join(dir, 'sources/crm/orders.csv');
    // Whole seconds, which set and read back exactly.
    const loadedAt = new Date('2024-06-01T12:00:00Z');
    utimesSync(orders, loadedAt, loadedAt);
    await extract('crm');
    // Same size, other content, and its old modification time: taken as unchanged, not read (as rsync does).
    const text = readFileSync(orders, 'utf8');
    writeFileSync(orders, text.replace('20.00', '99.00'));
    utimesSync(orders, loadedAt, loadedAt);
    const [untouched] = await extract('crm', false, 'orders');
    expect(untouched).toMatchObject({ files_loaded: 0, files_skipped: 1 });
    expect(untouched?.error).toBeUndefined();
    // Touched: hashed, and the change reported.
    utimesSync(orders, new Date('2024-06-02T12:00:00Z'), new Date('2024-06-02T12:00:00Z'));
    const [touched] = await extract('crm', false, 'orders');
    expect(touched?.error).toMatch(/orders\.csv changed since it was loaded/);
    // Touched but the same content again: skipped, and its new time recorded, so the next run does not hash it.
    writeFileSync(orders, text);
    const [same] = await extract('crm', false, 'orders');
    expect(same).toMatchObject({ files_loaded: 0, files_skipped: 1 });
    expect(same?.error).toBeUndefined();
    const stat = statSync(orders, { bigint: true });
    expect(await count(`select epoch_us(modified_at) as n from _meta.loaded_files where path = '${orders}'`)).toBe(Number(stat.mtimeNs / 1000n));
  });

  it('splits new files into batches by their text, a gzip file counted uncompressed', async () => {
    // Two gzip files of about 9 KB of text each, a few hundred bytes each as
    // gzip: by their file sizes they would fit in one 10 KiB batch, by their
    // text they need two.
    const files = ['date=2024-07-01', 'date=2024-07-02'].map((day, fileIndex) => {
      const lines = Array.from({ length: 70 }, (_, index) =>
        JSON.stringify({ event_id: `b${fileIndex}-${index}`, anonymous_id: 'a1', event_type: 'page_view', occurred_at: '2024-07-01T10:00:00Z', page_url: '/products/1' }),
      );
      const text = `${lines.join('\n')}\n`;
      const file = path.join(dir, 'sources/web', day, 'events-batch.ndjson.gz');
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, gzipSync(text));
      expect(text.length).toBeGreaterThan(8_000);
      expect(statSync(file).size).toBeLessThan(1_000);
      return file;
    });
    process.env.TANGO_FILE_BATCH_MB = String(10 / 1024);
    try {
      await extract('web');
    } finally {
      delete process.env.TANGO_FILE_BATCH_MB;
    }
    // A batch is one transaction, and loaded_at is its start.
    const list = files.map((file) => `'${file}'`).join(', ');
    expect(await count(`select count(distinct loaded_at) as n from _meta.loaded_files where path in (${list})`)).toBe(2);
    expect(await count(`select count(*) as n from raw_web.events where event_id like 'b%'`)).toBe(140);
  });

  it('loads a landing folder of a thousand small files within the default memory limit', async () => {
    // DuckDB holds some memory for every file a statement reads until the
    // statement ends (about 0.4 MB for a web event file): 1,100 files in one
    // batch took more than the default 512 MB and failed the load.
    const files = 1_100;
    for (let day = 0; day < files; day++) {
      const lines = [0, 1, 2].map((index) =>
        JSON.stringify({ event_id: `m${day}-${index}`, anonymous_id: `a${day}`, event_type: 'page_view', occurred_at: '2024-07-01T10:00:00Z' }),
      );
      const file = path.join(dir, 'sources/web', `day=${day}`, 'events.ndjson.gz');
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, gzipSync(`${lines.join('\n')}\n`));
    }
    const [events] = await extract('web', false, 'events');
    expect(events?.error).toBeUndefined();
    expect(await count(`select count(*) as n from raw_web.events where event_id like 'm%'`)).toBe(3 * files);
    expect(await count(`select count(*) as n from _meta.loaded_files where path like '%/day=%'`)).toBe(files);
  }, 120_000);

  it('reloads a stream from scratch with full refresh', async () => {
    await extract('crm');
    appendFileSync(path.join(dir, 'sources/crm/orders.csv'), 'o11,c5,2024-03-01T00:00:00Z,paid,5.00,EUR\n');
    const [orders] = await extract('crm', true, 'orders');
    expect(orders).toMatchObject({ rows_read: 11, rows_loaded: 10, rows_quarantined: 1 });
    expect(await count('select count(*) as n from raw_crm.orders')).toBe(10);
    expect(await count(`select count(*) as n from _meta.quarantine where stream = 'orders'`)).toBe(1);
  });

  it('adds the columns a contract gained to a table an older version made, and loads them', async () => {
    await warehouse.connection.run(`create schema raw_crm; create table raw_crm.orders (
      order_id varchar not null, contact_id varchar not null, ordered_at timestamptz not null, status varchar not null,
      amount decimal(18, 2), currency varchar not null, _loaded_at timestamp not null, _run_id varchar not null, _origin varchar not null, _line bigint)`);
    writeFileSync(
      path.join(dir, 'sources/crm/orders.csv'),
      'order_id,contact_id,ordered_at,status,amount,discount,currency,item_count\no1,c1,2024-01-03T10:00:00Z,paid,20.00,2.00,EUR,3\n',
    );
    const [orders] = await extract('crm', false, 'orders');
    expect(orders).toMatchObject({ rows_loaded: 1, rows_quarantined: 0 });
    const [row] = await queryRows(warehouse.connection, 'select discount, item_count, is_deleted from raw_crm.orders');
    expect(row).toEqual({ discount: 2, item_count: 3, is_deleted: null });
  });

  it('refuses a table whose column type the contract changed, naming it', async () => {
    await warehouse.connection.run(`create schema raw_crm; create table raw_crm.orders (order_id integer)`);
    await expect(extractAll('crm')).rejects.toThrow(
      'raw_crm.orders.order_id is INTEGER but the contract now says VARCHAR; reload the source into a new warehouse, or convert the column yourself',
    );
  });

  describe('web landing folder', () => {
    const web = (name: string) => path.join(dir, 'sources/web', name);

    it('loads CSV, gzipped NDJSON and Parquet events beside NDJSON, each by its extension', async () => {
      writeFileSync(web('events-2024-01-03.csv'), 'event_id,anonymous_id,event_type,occurred_at,device\nw5,a2,page_view,2024-01-03T09:00:00Z,desktop\n');
      writeFileSync(web('events-2024-01-04.ndjson.gz'), gzipSync('{"event_id":"w6","anonymous_id":"a2","event_type":"login","occurred_at":"2024-01-04T09:00:00Z"}\n'));
      await warehouse.connection.run(
        `copy (select 'w7' as event_id, 'a3' as anonymous_id, 'page_view' as event_type, timestamptz '2024-01-05 09:00:00+00' as occurred_at, 42 as session_id)
         to '${web('events-2024-01-05.parquet')}' (format parquet)`,
      );
      const [events] = await extract('web', false, 'events');
      expect(events).toMatchObject({ files_loaded: 4, rows_read: 7, rows_loaded: 7, rows_quarantined: 0 });
      const rows = await queryRows<{ event_id: string; occurred: string; session_id: string | null }>(
        warehouse.connection,
        `select event_id, strftime(occurred_at, '%Y-%m-%d %H:%M') as occurred, session_id from raw_web.events where event_id in ('w5', 'w6', 'w7') order by event_id`,
      );
      expect(rows).toEqual([
        { event_id: 'w5', occurred: '2024-01-03 09:00', session_id: null },
        { event_id: 'w6', occurred: '2024-01-04 09:00', session_id: null },
        { event_id: 'w7', occurred: '2024-01-05 09:00', session_id: '42' },
      ]);
    });

  });

  describe("a batch's file keys", () => {
    const inputs = [
      { path: '/landing/a.ndjson', origin: 'a.ndjson' },
      { path: '/landing/b.ndjson', origin: 'b.ndjson' },
    ];
    const fileKeys = () =>
      queryRows<{ origin: string; key: bigint }>(warehouse.connection, 'select _tango_origin as origin, _tango_file_key as key from _tango_files order by _tango_file_index');

    it('take a seed when two paths share a hash, so every file keeps a key of its own', async () => {
      // Seed 0 gives every path the same key, as a hash collision would.
      const collidingFirst = (name: string, seed: number) => (seed === 0 ? '0::ubigint' : `hash(${name}, ${seed})`);
      expect(await createFileTable(warehouse.connection, inputs, collidingFirst)).toBe('hash(filename, 1)');
      const expected = await queryRows<{ key: bigint }>(
        warehouse.connection,
        `select hash('/landing/a.ndjson', 1) as key union all select hash('/landing/b.ndjson', 1)`,
      );
      expect(await fileKeys()).toEqual([
        { origin: 'a.ndjson', key: expected[0]!.key },
        { origin: 'b.ndjson', key: expected[1]!.key },
      ]);
    });

    it('are refused for a path listed twice, which no seed tells apart', async () => {
      await expect(createFileTable(warehouse.connection, [inputs[0]!, inputs[0]!])).rejects.toThrow(/share hashes under every seed: a path is listed twice/);
    });
  });
});

describe('file sources, killed', () => {
  it('after kill -9 in the middle of a load, a rerun gives exactly the state of an uninterrupted run', async () => {
    const dir = tempDir();
    await generateDemoSources(dir, { customers: 4000, seed: 5, startDate: '2023-01-01', endDate: '2024-12-31' });
    const project = (name: string) => {
      const configFile = path.join(dir, `${name}.yaml`);
      writeFileSync(
        configFile,
        stringify({
          warehouse: { path: `${name}.duckdb` },
          sources: ['crm', 'web', 'email'].map((domain) => ({ name: domain, kind: `${domain}_files`, path: `sources/${domain}` })),
        }),
      );
      return loadConfig(configFile);
    };
    const killed = project('killed');
    // Killed as soon as the CRM is in, while the web events are loading.
    const log = path.join(dir, 'data', 'logs', 'tango.jsonl');
    const first = await runTango(['--config', killed.file, 'extract'], {
      onStart: killWhen(() => existsSync(log) && readFileSync(log, 'utf8').includes('extract: crm.reviews'), 20),
    });
    expect(first.signal).toBe('SIGKILL');
    const partial = await (async () => {
      const db = await openWarehouse(killed.warehousePath, { readOnly: true });
      try {
        return (await queryRows<{ files: bigint }>(db.connection, 'select count(*) as files from _meta.loaded_files'))[0]!.files;
      } finally {
        db.close();
      }
    })();
    const rerun = await runTango(['--config', killed.file, 'extract']);
    expect(rerun.code, rerun.stderr).toBe(0);
    const clean = project('clean');
    const whole = await runTango(['--config', clean.file, 'extract']);
    expect(whole.code, whole.stderr).toBe(0);

    const state = async (config: Config) => {
      const db = await openWarehouse(config.warehousePath, { readOnly: true });
      try {
        return await queryRows(
          db.connection,
          `select
             (select count(*) from raw_web.events) as web_rows,
             (select sum(hash(event_id, anonymous_id, occurred_at, _origin, _line)) from raw_web.events) as web_digest,
             (select sum(hash(order_id, contact_id, ordered_at, amount)) from raw_crm.orders) as orders_digest,
             (select count(*) from raw_email.events) as email_rows,
             (select count(*) from _meta.quarantine) as quarantined,
             (select count(*) from _meta.loaded_files) as files`,
        );
      } finally {
        db.close();
      }
    };
    const expected = await state(clean);
    expect(await state(killed)).toEqual(expected);
    // The kill came in the middle: some files were loaded, not all.
    expect(Number(partial)).toBeGreaterThan(0);
    expect(Number(partial)).toBeLessThan(Number(expected[0]!.files));
  });
});
