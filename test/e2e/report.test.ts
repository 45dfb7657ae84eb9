// End to end: the tiny hand-made fixture -> `tango run` (extract, dbt build,
// snapshot, Evidence build) -> the served site in real headless Chromium.
// The expected numbers are worked out by hand in test/fixtures/tiny/README.md.
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createLogger } from '../../pipelines/log.ts';
import { serveSite } from '../../pipelines/report.ts';
import { openWarehouse, queryRows } from '../../pipelines/warehouse.ts';
import { runTango, tinyProject } from '../helpers.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Without the background-networking flags Chromium calls home at start.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The visible rows of the cohort table, as arrays of cell texts. */
async function tableRows(page: Page): Promise<string[][]> {
  // Evidence renders the table twice (one hidden copy) and with no tbody.
  const rows = await page.locator('table').filter({ visible: true }).first().locator('tr:has(td)').allInnerTexts();
  return rows.map((row) => row.split('\t').map((cell) => cell.trim()));
}

describe('report site, end to end', () => {
  let server: Server;
  let url: string;
  let browser: Browser;
  let context: BrowserContext;
  let warehouse: string;
  const requests: string[] = [];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    const project = tinyProject();
    warehouse = project.warehouse;
    const run = await runTango(['--config', project.configFile, 'run']);
    expect(run.stderr).toContain('succeeded');
    expect(run.code).toBe(0);
    ({ server, url } = await serveSite('127.0.0.1', 0, createLogger({ quiet: true })));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 1200 } });
    // Context-wide, so requests from workers (DuckDB-WASM) are seen too.
    context.on('request', (request) => requests.push(request.url()));
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    if (server) await new Promise((resolve) => server.close(resolve));
  });

  it('records the run and loads every row it read', async () => {
    const db = await openWarehouse(warehouse);
    try {
      const [run] = await queryRows<{ status: string; steps: string }>(db.connection, `select status, step_timings::varchar as steps from _meta.pipeline_runs`);
      expect(run?.status).toBe('succeeded');
      expect((JSON.parse(run!.steps) as { step: string }[]).map((step) => step.step)).toEqual(['extract', 'transform', 'report']);
      const [quarantine] = await queryRows<{ n: bigint }>(db.connection, `select count(*) as n from _meta.quarantine`);
      expect(quarantine?.n).toBe(2n); // o10 (bad timestamp) and e4 (no subscriber_email)
    } finally {
      db.close();
    }
  });

  it('shows the hand-computed retention, filters in the browser, and downloads the rows as CSV', async () => {
    const page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(String(error)));
    await page.goto(url, { waitUntil: 'networkidle' });

    await expect.poll(() => tableRows(page)).toEqual([
      ['2024-01', '0', '3', '3', '100.0%', 'true'],
      ['2024-01', '1', '3', '1', '33.3%', 'true'],
      ['2024-01', '2', '3', '1', '33.3%', 'false'],
      ['2024-02', '0', '2', '2', '100.0%', 'true'],
      ['2024-02', '1', '2', '1', '50.0%', 'false'],
    ]);

    // The fixture has only contacts, orders, web events and email events: the page says what is missing.
    await expect
      .poll(() => page.getByText('No data for:').innerText())
      .toContain('No data for: crm leads, crm payments, crm referrals, crm refunds, email campaigns.');

    // Choosing a cohort re-runs the page query in DuckDB-WASM in the browser.
    await page.getByRole('combobox', { name: 'Cohort' }).first().click();
    await page.getByRole('option', { name: '2024-02' }).click();
    await page.keyboard.press('Escape');
    await expect.poll(() => tableRows(page)).toEqual([
      ['2024-02', '0', '2', '2', '100.0%', 'true'],
      ['2024-02', '1', '2', '1', '50.0%', 'false'],
    ]);

    const table = page.locator('table').filter({ visible: true }).first();
    await table.hover();
    const downloadButton = page.getByRole('button', { name: /download/i }).filter({ visible: true }).last();
    const [download] = await Promise.all([page.waitForEvent('download'), downloadButton.click()]);
    const csv = readFileSync(await download.path(), 'utf8').replace(/^\uFEFF/, '');
    const [header, ...lines] = csv.trim().split(/\r?\n/);
    expect(header?.split(',')).toEqual([
      'cohort_label',
      'months_since_first_order',
      'cohort_customers',
      'active_customers',
      'retention_pct',
      'is_complete_period',
    ]);
    // Evidence's CSV export writes booleans as TRUE / FALSE.
    expect(lines.map((line) => line.split(',').map((cell) => cell.replace(/"/g, '')))).toEqual([
      ['2024-02', '0', '2', '2', '1', 'TRUE'],
      ['2024-02', '1', '2', '1', '0.5', 'FALSE'],
    ]);
    expect(consoleErrors).toEqual([]);
  });

  it('sends no request beyond 127.0.0.1', () => {
    expect(requests.length).toBeGreaterThan(10);
    const outside = requests.filter((request) => {
      const { protocol, hostname } = new URL(request);
      if (protocol === 'data:' || protocol === 'blob:') return false;
      return hostname !== '127.0.0.1';
    });
    expect(outside).toEqual([]);
  });
});
