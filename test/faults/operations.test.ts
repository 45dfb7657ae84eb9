// Operations: what happens around the pipeline rather than in its data. Two
// runs at once, a disk that fills up in the middle of a load, and a file at
// the warehouse path that is not a Tango warehouse. Each must fail cleanly
// and leave the warehouse (or the foreign file) exactly as it was; an empty
// file there holds nothing, and becomes a warehouse.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';

import { openWarehouse, queryRows } from '../../pipelines/warehouse.ts';
import { runTango, tinyProject } from '../helpers.ts';
import { faultClass } from './fault-class.ts';

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Row counts and a digest of every raw table and of the run bookkeeping. */
async function rawState(warehousePath: string): Promise<unknown> {
  const warehouse = await openWarehouse(warehousePath, { readOnly: true });
  try {
    return await queryRows(
      warehouse.connection,
      `select
         (select count(*) from raw_crm.orders) as orders,
         (select count(*) from raw_web.events) as web_events,
         (select sum(hash(event_id, occurred_at, _origin, _line)) from raw_web.events)::hugeint::varchar as web_digest,
         (select count(*) from raw_email.events) as email_events,
         (select count(*) from _meta.loaded_files) as files,
         (select count(*) from _meta.quarantine) as quarantined`,
    );
  } finally {
    warehouse.close();
  }
}

/** A day of web events as NDJSON: `count` valid events. */
function webDay(day: string, count: number): string {
  return Array.from({ length: count }, (_, index) =>
    JSON.stringify({ event_id: `big-${day}-${index}`, anonymous_id: `a${index % 500}`, event_type: 'page_view', occurred_at: `${day}T10:00:00Z`, page_url: `/products/${index}` }),
  ).join('\n') + '\n';
}

faultClass('operations', 'a clean failure with a clear message, and the warehouse (or the file at its path) exactly as before', () => {
  it('two runs at once: one runs, the other is refused, naming the first', async () => {
    const { configFile, warehouse } = tinyProject();
    const args = ['--config', configFile, 'run', '--steps', 'extract,transform'];
    const results = await Promise.all([runTango(args), runTango(args)]);
    // On a failure, both runs' output says which of them did what.
    const outputs = results.map((result, index) => `run ${index + 1} exited ${result.code}:\n${result.stderr}`).join('\n');
    expect(results.map((result) => result.code).sort(), outputs).toEqual([0, 3]);
    const refused = results.find((result) => result.code === 3)!;
    expect(refused.stderr).toMatch(/Another Tango process is already writing this warehouse: pid \d+ on .*"tango --config .* run --steps extract,transform"/);
    const db = await openWarehouse(warehouse, { readOnly: true });
    try {
      const runs = await queryRows<{ status: string; stream_counts: string }>(db.connection, 'select status, stream_counts from _meta.pipeline_runs');
      expect(runs).toHaveLength(1);
      expect(runs[0]?.status).toBe('succeeded');
      const streams = JSON.parse(runs[0]!.stream_counts) as { rows_read: number; rows_loaded: number; rows_quarantined: number }[];
      // Every stream of the three kinds: crm 9, web 1, email 2.
      expect(streams).toHaveLength(12);
      for (const stream of streams) expect(stream.rows_read).toBe(stream.rows_loaded + stream.rows_quarantined);
    } finally {
      db.close();
    }
  });

  it('the disk fills up during a load: the load fails with the reason, the warehouse is as before, and a later run loads everything', async () => {
    const { configFile, dir, warehouse } = tinyProject();
    const first = await runTango(['--config', configFile, 'extract']);
    expect(first.code, first.stderr).toBe(0);
    const before = await rawState(warehouse);
    // About 30 MB of new events against a limit 512 KiB above the warehouse's size.
    for (const day of ['2024-02-01', '2024-02-02', '2024-02-03']) writeFileSync(path.join(dir, 'sources/web', `events-${day}.ndjson`), webDay(day, 100_000));
    const limitKiB = Math.ceil(statSync(warehouse).size / 1024) + 512;
    const full = await runTango(['--config', configFile, 'extract'], { fileSizeLimitKiB: limitKiB });
    expect(full.code).not.toBe(0);
    expect(full.stderr).toMatch(/File too large|No space left|could not write|Could not write/i);
    expect(await rawState(warehouse)).toEqual(before);
    const later = await runTango(['--config', configFile, 'extract']);
    expect(later.code, later.stderr).toBe(0);
    const [after] = (await rawState(warehouse)) as { web_events: bigint }[];
    // The fixture's 4 events and the 300,000 new ones.
    expect(after!.web_events).toBe(4n + 300_000n);
  });

  it('a transform whose data test fails leaves the models of the last good one, and records the failure', async () => {
    const { configFile, dir, warehouse } = tinyProject();
    const args = ['--config', configFile, 'run', '--steps', 'extract,transform'];
    const good = await runTango(args);
    expect(good.code, good.stderr).toBe(0);
    const models = async () => {
      const db = await openWarehouse(warehouse, { readOnly: true });
      try {
        return await queryRows(
          db.connection,
          `select (select count(*) from marts.fct_orders) as orders, (select count(*) from raw_crm.orders) as raw_orders,
             (select sum(hash(customer_id, paid_orders, last_paid_order_at))::hugeint::varchar from marts.dim_customers) as customers`,
        );
      } finally {
        db.close();
      }
    };
    const [before] = (await models()) as { orders: bigint; raw_orders: bigint }[];
    // A status outside the accepted values: the test on stg_crm__orders fails.
    // It runs in dbt's second pass, after the first has rebuilt fct_orders and
    // dim_customers on the transform's work file: they stay as they were only
    // if nothing (dbt or tango) checkpointed that file, which shares the warehouse's blocks.
    writeFileSync(path.join(dir, 'sources/crm/orders-2.csv'), 'order_id,contact_id,ordered_at,status,amount,currency\no11,c1,2024-03-10T10:00:00Z,on_hold,12.00,EUR\n');
    const failed = await runTango(args);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/accepted_values_stg_crm__orders_order_status/);
    // Each failed test in a line, with what its column's description says a failure means.
    expect(failed.stderr).toMatch(/data test accepted_values_stg_crm__orders_order_status\S* failed on 1 row of stg_crm__orders\.order_status: .*map it to one of the three/);
    const [after] = (await models()) as { orders: bigint; raw_orders: bigint }[];
    // The extract loaded the order; the models are those of the good run.
    expect(after).toEqual({ ...before, raw_orders: before!.raw_orders + 1n });
    const db = await openWarehouse(warehouse, { readOnly: true });
    try {
      const failures = await queryRows<{ name: string }>(
        db.connection,
        `select name from _meta.dbt_results where status = 'fail'
         and run_id = (select run_id from _meta.pipeline_runs where status = 'failed')`,
      );
      expect(failures.map((row) => row.name)).toContain('accepted_values_stg_crm__orders_order_status__paid__refunded__cancelled');
    } finally {
      db.close();
    }
  });

  it('a warehouse built by an earlier version of an incremental model: the transform names it and says to run --full-refresh once, keeps the models, and that run rebuilds them', async () => {
    const { configFile, warehouse } = tinyProject();
    const good = await runTango(['--config', configFile, 'run', '--steps', 'extract,transform']);
    expect(good.code, good.stderr).toBe(0);
    const sessionColumns = async () => {
      const db = await openWarehouse(warehouse, { readOnly: true });
      try {
        return (
          await queryRows<{ column_name: string }>(
            db.connection,
            `select column_name from information_schema.columns where table_schema = 'marts' and table_name = 'fct_web_sessions' order by column_name`,
          )
        ).map((row) => row.column_name);
      } finally {
        db.close();
      }
    };
    const built = await sessionColumns();
    expect(built).toContain('last_loaded_at');
    // As an earlier version built it: without the columns added since.
    const db = await openWarehouse(warehouse);
    try {
      await db.connection.run('alter table marts.fct_web_sessions drop column first_loaded_at; alter table marts.fct_web_sessions drop column last_loaded_at');
    } finally {
      db.close();
    }
    const earlier = await sessionColumns();
    const refused = await runTango(['--config', configFile, 'transform']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/incremental model\(s\) fct_web_sessions failed: .*run `tango transform --full-refresh` once/);
    expect(await sessionColumns()).toEqual(earlier);
    const rebuilt = await runTango(['--config', configFile, 'transform', '--full-refresh']);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(await sessionColumns()).toEqual(built);
  });

  const foreignFiles: [string, Buffer | ((file: string) => Promise<void>), RegExp][] = [
    ['random bytes', Buffer.from(Array.from({ length: 64 * 1024 }, (_, index) => (index * 7919) % 256)), /not a valid DuckDB database file/],
    ['a CSV file', Buffer.from('order_id,amount\no1,20.00\n'), /not a valid DuckDB database file/],
    ['an SQLite database', Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(4080)]), /not a valid DuckDB database file/],
    [
      "another application's DuckDB database",
      async (file: string) => {
        const other = await openWarehouse(file);
        try {
          await other.connection.run('create table invoices (id integer, total decimal(18, 2)); insert into invoices values (1, 9.99)');
        } finally {
          other.close();
        }
      },
      /is a DuckDB database but not a Tango warehouse/,
    ],
  ];

  it.each(foreignFiles)('%s at the warehouse path is refused, and left unchanged', async (_name, content, message) => {
    const { configFile, warehouse } = tinyProject();
    if (typeof content === 'function') await content(warehouse);
    else writeFileSync(warehouse, content);
    const digest = sha256(warehouse);
    const result = await runTango(['--config', configFile, 'run', '--steps', 'extract,transform']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain(warehouse);
    expect(sha256(warehouse)).toBe(digest);
  });

  it('an empty file at the warehouse path (what a kill leaves while DuckDB creates one) becomes a new warehouse, made whole before it takes the name', async () => {
    const { dir, configFile, warehouse } = tinyProject();
    writeFileSync(warehouse, '');
    const result = await runTango(['--config', configFile, 'extract']);
    expect(result.code, result.stderr).toBe(0);
    expect(await rawState(warehouse)).toEqual([expect.objectContaining({ orders: 9n })]);
    // The folder the new file was made in is gone.
    expect(readdirSync(dir).filter((name) => name.endsWith('.new'))).toEqual([]);
  });
});
