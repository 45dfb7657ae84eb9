// Customer list exports against a hand-made rpt_customer_list in a real
// DuckDB file: the filters, the files in both formats, the row counts, and
// the `tango export` command on that warehouse.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { exportList, exportStandardLists, publishStandardLists } from '../../pipelines/export.ts';
import { openWarehouse, queryRows, type Warehouse } from '../../pipelines/warehouse.ts';
import { runTango, tempDir } from '../helpers.ts';

// Five customers; the expected lists below are read off this table by hand.
// is_emailable is the model's rule (dim_customers): c4 has an address and
// consent, but bounced hard.
const LIST_ROWS = `
  ('c1', 'ann@example.com', 'Ann', true,  true,  'regular', 'champions', 'harvest',  '2024-01', 'organic', 900.0, 'DE', '25-34'),
  ('c2', 'bob@example.com', 'Bob', false, false, 'regular', 'champions', 'harvest',  '2024-02', 'email',   500.0, 'FR', '35-44'),
  ('c3', null,              'Cy',  true,  false, 'at_risk', 'at_risk',   'protect',  '2024-01', 'organic', 300.0, 'DE', '25-34'),
  ('c4', 'dee@example.com', 'Dee', true,  false, 'lapsed',  'lost',      'win_back', '2023-11', 'social',  null,  null, 'none'),
  ('c5', 'eve@example.com', 'Eve', true,  true,  'lead',    'none',      'start',    'none',    'organic', null,  'US', '18-24')`;

async function makeWarehouse(file: string): Promise<void> {
  const warehouse = await openWarehouse(file);
  try {
    await warehouse.connection.run(`create schema reports;
      create table reports.rpt_customer_list as
      select * from (values ${LIST_ROWS}) as t(customer_id, email, first_name, has_email_consent, is_emailable, lifecycle_stage,
        rfm_segment, strategy, cohort, acquisition_channel, predicted_clv, country_code, age_band)
      cross join (select 0.0 as net_revenue)`);
  } finally {
    warehouse.close();
  }
}

function csvIds(file: string): string[] {
  const [header, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  expect(header?.split(',')[0]).toBe('customer_id');
  return lines.map((line) => line.split(',')[0]!);
}

describe('customer list exports', () => {
  let dir: string;
  let warehouse: Warehouse;
  beforeEach(async () => {
    dir = tempDir();
    await makeWarehouse(path.join(dir, 'warehouse.duckdb'));
    warehouse = await openWarehouse(path.join(dir, 'warehouse.duckdb'), { readOnly: true });
  });
  afterEach(() => warehouse.close());

  it('writes the customers every filter selects, most valuable first, as CSV and Parquet', async () => {
    const files = await exportList(warehouse.connection, path.join(dir, 'out'), 'organic-active', {
      channel: ['organic'],
      stage: ['regular', 'at_risk', 'lead'],
    });
    expect(files.map((file) => [path.basename(file.file), file.rows])).toEqual([
      ['organic-active.csv', 3],
      ['organic-active.parquet', 3],
    ]);
    expect(csvIds(files[0]!.file)).toEqual(['c1', 'c3', 'c5']); // 900, 300, then no prediction
    const parquet = await queryRows<{ customer_id: string }>(warehouse.connection, `select customer_id from read_parquet('${files[1]!.file}')`);
    expect(parquet.map((row) => row.customer_id)).toEqual(['c1', 'c3', 'c5']);
  });

  it('filters by country, "none" being the customers with no country on record', async () => {
    const [csv] = await exportList(warehouse.connection, path.join(dir, 'out'), 'de-or-unknown', { country: ['DE', 'none'] }, ['csv']);
    expect(csvIds(csv!.file)).toEqual(['c1', 'c3', 'c4']); // DE: c1 900, c3 300; none: c4, no prediction
  });

  it('filters by age band', async () => {
    const [csv] = await exportList(warehouse.connection, path.join(dir, 'out'), 'young', { ageBand: ['18-24', '25-34'] }, ['csv']);
    expect(csvIds(csv!.file)).toEqual(['c1', 'c3', 'c5']); // 25-34: c1 900, c3 300; 18-24: c5, no prediction
  });

  it('keeps only the customers the model says may be emailed when asked to', async () => {
    const [csv] = await exportList(warehouse.connection, path.join(dir, 'out'), 'emailable', { emailable: true }, ['csv']);
    expect(csvIds(csv!.file)).toEqual(['c1', 'c5']); // c2 has no consent, c3 no email, c4 bounced hard
  });

  it('writes every customer and one list per strategy, with nothing half-written left', async () => {
    const files = await exportStandardLists(warehouse.connection, path.join(dir, 'std'), ['csv']);
    expect(Object.fromEntries(files.map((file) => [path.basename(file.file), file.rows]))).toEqual({
      'customers.csv': 5,
      'strategy-harvest.csv': 2,
      'strategy-protect.csv': 1,
      'strategy-start.csv': 1,
      'strategy-win_back.csv': 1,
    });
    expect(readdirSync(path.join(dir, 'std')).filter((name) => name.includes('partial'))).toEqual([]);
  });

  it('replaces the published lists as a whole', async () => {
    const published = path.join(dir, 'site', 'exports');
    await publishStandardLists(warehouse.connection, published);
    const again = await publishStandardLists(warehouse.connection, published);
    expect(again).toHaveLength(10);
    expect(readdirSync(path.join(dir, 'site')).sort()).toEqual(['exports']);
    expect(existsSync(path.join(published, 'strategy-win_back.parquet'))).toBe(true);
  });
});

describe('tango export', () => {
  it('writes a filtered list from the configured warehouse, and refuses filters without a name', async () => {
    const dir = tempDir();
    await makeWarehouse(path.join(dir, 'warehouse.duckdb'));
    const env = { TANGO_WAREHOUSE: path.join(dir, 'warehouse.duckdb') };
    const out = path.join(dir, 'lists');

    const refused = await runTango(['--quiet', 'export', '--strategy', 'harvest', '--out', out], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--name');

    const run = await runTango(['--quiet', 'export', '--strategy', 'harvest', 'protect', '--name', 'keep', '--format', 'csv', '--out', out], { env });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('3 customers');
    expect(csvIds(path.join(out, 'keep.csv'))).toEqual(['c1', 'c2', 'c3']);
    expect(existsSync(path.join(out, 'keep.parquet'))).toBe(false);

    const french = await runTango(['--quiet', 'export', '--country', 'FR', '--name', 'fr', '--format', 'csv', '--out', out], { env });
    expect(french.code, french.stderr).toBe(0);
    expect(csvIds(path.join(out, 'fr.csv'))).toEqual(['c2']);

    const aged = await runTango(['--quiet', 'export', '--age-band', '35-44', 'none', '--name', 'aged', '--format', 'csv', '--out', out], { env });
    expect(aged.code, aged.stderr).toBe(0);
    expect(csvIds(path.join(out, 'aged.csv'))).toEqual(['c2', 'c4']);
  });

  it('says what to run when the warehouse has no list yet', async () => {
    const dir = tempDir();
    const warehouse = await openWarehouse(path.join(dir, 'warehouse.duckdb'));
    warehouse.close();
    const run = await runTango(['export', '--out', path.join(dir, 'lists')], { env: { TANGO_WAREHOUSE: path.join(dir, 'warehouse.duckdb') } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('run `tango transform`');
  });
});
