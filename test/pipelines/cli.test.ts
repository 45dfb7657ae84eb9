import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';

import { openWarehouse, queryRows } from '../../pipelines/warehouse.ts';
import { runTango, tinyProject } from '../helpers.ts';

describe('tango CLI', () => {
  it('lists every command in --help', async () => {
    const result = await runTango(['--help']);
    expect(result.code).toBe(0);
    for (const command of ['demo', 'generate', 'run', 'extract', 'transform', 'export', 'flows', 'report', 'schedule']) {
      expect(result.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    }
    expect(result.stdout).toContain('Exit codes:');
  });

  it.each([['demo'], ['generate'], ['run'], ['extract'], ['transform'], ['export'], ['flows'], ['report', 'build'], ['report', 'serve'], ['schedule']])(
    'has --help for %s',
    async (...command) => {
      const result = await runTango([...command, '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`Usage: tango ${command.join(' ')}`);
    },
  );

  it('exits 2 on an unknown command', async () => {
    const result = await runTango(['dance']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown command 'dance'");
  });

  it('refuses an unknown data set, listing the known ones, with exit code 2', async () => {
    const result = await runTango(['demo', '--dataset', 'nope', '--no-serve']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("option '--dataset <name>' argument 'nope' is invalid. must be one of synthetic, cdnow, online-retail, jaffle-shop");
  });

  it('refuses a public data set whose folder is missing, saying where it looked and how to point elsewhere, with exit code 2', async () => {
    const result = await runTango(['demo', '--dataset', 'cdnow', '--no-serve'], { env: { TANGO_PUBLIC_DATA: '/nonexistent/public' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('data set cdnow: its files are read from /nonexistent/public/cdnow, which does not exist');
    expect(result.stderr).toContain('set TANGO_PUBLIC_DATA');
  });

  it('refuses a day the calendar does not have (February 30 would roll over to March 1), with exit code 2', async () => {
    for (const args of [['generate', '--start', '2024-02-30'], ['flows', '--from', '2023-02-29', '--to', '2024-01-01']]) {
      const result = await runTango(args);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('must be a date YYYY-MM-DD');
    }
  });

  it('refuses a bad cron expression in the config, naming the key, with exit code 2', async () => {
    const { configFile } = tinyProject({
      schedule: { jobs: [{ name: 'nightly', cron: '0 25 * * *', timezone: 'Europe/Berlin', steps: ['extract'] }] },
    });
    const result = await runTango(['--config', configFile, 'schedule', '--check']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`Invalid config ${configFile}`);
    expect(result.stderr).toMatch(/schedule\.jobs\[0\]\.cron: not a valid cron expression "0 25 \* \* \*"/);
  });

  it('prints the next run times of valid jobs with --check', async () => {
    const { configFile } = tinyProject({
      schedule: { jobs: [{ name: 'nightly', cron: '30 3 * * *', timezone: 'Asia/Tokyo', steps: ['extract'] }] },
    });
    const result = await runTango(['--config', configFile, 'schedule', '--check']);
    expect(result.code).toBe(0);
    // 03:30 in Tokyo (UTC+9, no daylight saving) is 18:30 UTC the day before.
    expect(result.stderr).toMatch(/job nightly \(30 3 \* \* \*, Asia\/Tokyo\): next runs \d{4}-\d\d-\d\dT18:30:00\.000Z \(\d{4}-\d\d-\d\d 03:30:00 Asia\/Tokyo\)/);
  });

  it('exits 1 and records a failed run when a step fails', async () => {
    const { configFile, dir, warehouse } = tinyProject();
    writeFileSync(`${dir}/sources/crm/orders.csv`, 'order_id\no1\n');
    const result = await runTango(['--config', configFile, 'extract']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/source crm, stream orders: .*missing required column\(s\) contact_id, ordered_at, status, currency/);
    const db = await openWarehouse(warehouse);
    try {
      const runs = await queryRows<{ status: string; error: string }>(db.connection, 'select status, error from _meta.pipeline_runs');
      expect(runs).toEqual([{ status: 'failed', error: expect.stringContaining('stream orders') }]);
      // The failing stream loaded nothing; the other streams did.
      const [counts] = await queryRows<{ orders: bigint; contacts: bigint }>(
        db.connection,
        'select (select count(*) from raw_crm.orders) as orders, (select count(*) from raw_crm.contacts) as contacts',
      );
      expect(counts).toEqual({ orders: 0n, contacts: 6n });
    } finally {
      db.close();
    }
  });
});
