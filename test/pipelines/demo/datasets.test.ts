// The public data sets in ../shared/data/public, loaded through their
// datasets/<name>.yaml mappings. Row counts and facts are the ones its README
// states, not what the loader printed.
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { loadConfig } from '../../../pipelines/config.ts';
import { datasetConfigFile } from '../../../pipelines/demo/datasets.ts';
import { createLogger } from '../../../pipelines/log.ts';
import { extractSource } from '../../../pipelines/sources/extract.ts';
import type { StreamCounts } from '../../../pipelines/sources/types.ts';
import { applyMetaContract, openWarehouse, queryRows } from '../../../pipelines/warehouse.ts';
import { runTango, tempDir } from '../../helpers.ts';

async function load(name: 'cdnow' | 'online-retail' | 'jaffle-shop') {
  const config = loadConfig(datasetConfigFile(name));
  const warehouse = await openWarehouse(path.join(tempDir(), 'warehouse.duckdb'));
  await applyMetaContract(warehouse.connection);
  const streams: StreamCounts[] = [];
  for (const source of config.sources) {
    streams.push(...(await extractSource({ connection: warehouse.connection, runId: 'test', log: createLogger({ quiet: true }) }, source)));
  }
  const counts = Object.fromEntries(streams.map((stream) => [stream.stream, stream]));
  const value = async (sql: string) => Object.values((await queryRows<Record<string, unknown>>(warehouse.connection, sql))[0]!)[0];
  return { streams, counts, value, close: () => warehouse.close() };
}

describe('public data sets', () => {
  it('loads CDNOW master: 69,659 purchases by the 23,570 customers of 1997-Q1, 1997-01-01 .. 1998-06-30', async () => {
    const { counts, value, close } = await load('cdnow');
    try {
      expect(counts.orders).toMatchObject({ rows_read: 69_659, rows_loaded: 69_659, rows_quarantined: 0 });
      expect(await value('select count(distinct contact_id) from raw_crm.orders')).toBe(23_570n);
      expect(await value(`select strftime(min(ordered_at), '%Y-%m-%d') || ' .. ' || strftime(max(ordered_at), '%Y-%m-%d') from raw_crm.orders`)).toBe(
        '1997-01-01 .. 1998-06-30',
      );
      // Leading zeros are part of the id; the first line of the file after its header.
      expect(await value(`select contact_id || ' ' || amount || ' ' || item_count from raw_crm.orders where _line = 2`)).toBe('00001 11.77 1');
    } finally {
      close();
    }
  });

  it('loads the UCI Online Retail invoices: 25,943 rows, credit notes as refunds, m/d/Y dates', async () => {
    const { counts, value, close } = await load('online-retail');
    try {
      expect(counts.orders!.rows_read + counts.refunds!.rows_read).toBe(25_943);
      // Not sales, so quarantined: 1,336 invoices without a C of negative
      // Quantity at UnitPrice 0 (stock write-offs, counted in the CSV with
      // `Quantity < 0 and not InvoiceNo like 'C%'`), and the two
      // "adjust bad debt" invoices A563186 and A563187 of UnitPrice -11062.06.
      expect(counts.orders!.rows_quarantined).toBe(1336 + 2);
      expect(counts.refunds!.rows_quarantined).toBe(0);
      expect(await value(`select count(*) from raw_crm.refunds where not starts_with(refund_id, 'C')`)).toBe(0n);
      // First line: 536365,12/1/2010 8:26,17850,United Kingdom,40,3.91
      expect(await value(`select strftime(ordered_at, '%Y-%m-%d %H:%M') || ' ' || contact_id || ' ' || amount from raw_crm.orders where order_id = '536365'`)).toBe(
        '2010-12-01 08:26 17850 156.40',
      );
    } finally {
      close();
    }
  });

  it('loads the jaffle_shop seeds: 100 customers, 99 orders, 113 payments with amounts in cents', async () => {
    const { counts, value, close } = await load('jaffle-shop');
    try {
      expect(counts.contacts).toMatchObject({ rows_read: 100, rows_loaded: 100 });
      expect(counts.orders).toMatchObject({ rows_read: 99, rows_loaded: 99 });
      expect(counts.payments).toMatchObject({ rows_read: 113, rows_loaded: 113 });
      // raw_payments line 1: 1,1,credit_card,1000 -> 10.00
      expect(await value(`select amount from raw_crm.payments where payment_id = '1'`)).toBe(10);
    } finally {
      close();
    }
  });

  it('runs CDNOW through dbt: one customer per id, all in the three 1997-Q1 cohorts, no web or email data', async () => {
    const warehouse = path.join(tempDir(), 'warehouse.duckdb');
    const result = await runTango(['--config', datasetConfigFile('cdnow'), 'run', '--steps', 'extract,transform'], { env: { TANGO_WAREHOUSE: warehouse } });
    expect(result.code, result.stderr).toBe(0);
    const db = await openWarehouse(warehouse, { readOnly: true });
    try {
      const rows = await queryRows<{ cohort_month: string; customers: bigint }>(
        db.connection,
        `select strftime(cohort_month, '%Y-%m') as cohort_month, count(*) as customers from marts.dim_customers group by all order by 1`,
      );
      expect(rows.map((row) => row.cohort_month)).toEqual(['1997-01', '1997-02', '1997-03']);
      expect(rows.reduce((sum, row) => sum + Number(row.customers), 0)).toBe(23_570);
      const [empty] = await queryRows<{ web: bigint; email: bigint }>(
        db.connection,
        'select (select count(*) from staging.stg_web__events) as web, (select count(*) from staging.stg_email__events) as email',
      );
      expect(empty).toEqual({ web: 0n, email: 0n });
    } finally {
      db.close();
    }
  });

  it('runs jaffle_shop through dbt: orders and lifetime value per customer as worked out by hand', async () => {
    const warehouse = path.join(tempDir(), 'warehouse.duckdb');
    const result = await runTango(['--config', datasetConfigFile('jaffle-shop'), 'run', '--steps', 'extract,transform'], { env: { TANGO_WAREHOUSE: warehouse } });
    expect(result.code, result.stderr).toBe(0);
    const db = await openWarehouse(warehouse, { readOnly: true });
    try {
      const rows = await queryRows<{ customer_id: string; paid_orders: bigint; net_revenue: number }>(
        db.connection,
        `select customer_id, paid_orders, net_revenue::double as net_revenue from marts.dim_customers
         where customer_id in ('1', '3', '54') order by customer_id::integer`,
      );
      expect(rows).toEqual([
        // Orders 1 (2018-01-01, returned: 10.00 paid, refunded) and 37 (completed, 2300 cents).
        { customer_id: '1', paid_orders: 1n, net_revenue: 23 },
        // Orders 2, 24, 69, all completed: 2000 + 2600 + 1900 cents.
        { customer_id: '3', paid_orders: 3n, net_revenue: 65 },
        // Orders 6, 19, 52 (return_pending counts as paid), 54 (two payments: 1800 + 1100), 83:
        // 600 + 600 + 1500 + 2900 + 100 cents.
        { customer_id: '54', paid_orders: 5n, net_revenue: 57 },
      ]);
    } finally {
      db.close();
    }
  });
});
