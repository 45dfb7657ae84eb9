// End to end: the tiny hand-made fixture -> `tango run` (extract, dbt build,
// snapshot, Evidence build, list exports) -> the served site in real headless
// Chromium. The expected numbers are worked out by hand in
// test/fixtures/tiny/README.md. Every page is screenshotted, full length, into
// $TANGO_SCREENSHOT_DIR (default test/output/screenshots).
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Server } from 'node:http';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createLogger } from '../../pipelines/log.ts';
import { serveSite } from '../../pipelines/report.ts';
import { REPORT_BUILD_DIR } from '../../pipelines/paths.ts';
import { openWarehouse, queryRows } from '../../pipelines/warehouse.ts';
import { runTango, tinyProject } from '../helpers.ts';

const SCREENSHOT_DIR = process.env.TANGO_SCREENSHOT_DIR ?? path.resolve('test', 'output', 'screenshots');
/** Every page of the site: its path, and a heading it must show. */
const PAGES = [
  ['', 'Overview'],
  ['cohorts', 'Cohorts'],
  ['lifecycle', 'Lifecycle'],
  ['ltv', 'Lifetime value'],
  ['churn', 'Churn'],
  ['segments', 'Segments'],
  ['lists', 'Lists'],
  ['health', 'Data health'],
  ['definitions', 'Definitions'],
] as const;
const EMAIL = /[\w.+-]+@[\w-]+\.[\w.]+/;

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

/** Picks an option of an Evidence dropdown by its title. */
async function choose(page: Page, dropdown: string, option: string): Promise<void> {
  await page.getByRole('combobox', { name: dropdown }).first().click();
  await page.getByRole('option', { name: option, exact: true }).click();
  await page.keyboard.press('Escape');
}

/** Downloads the visible table's rows as CSV; returns the header and rows. */
async function downloadTable(page: Page): Promise<{ header: string[]; rows: string[][] }> {
  const table = page.locator('table').filter({ visible: true }).first();
  await table.hover();
  const downloadButton = page.getByRole('button', { name: /download/i }).filter({ visible: true }).last();
  const [download] = await Promise.all([page.waitForEvent('download'), downloadButton.click()]);
  const csv = readFileSync(await download.path(), 'utf8').replace(/^\uFEFF/, '');
  const [header, ...lines] = csv.trim().split(/\r?\n/);
  return {
    header: header!.split(','),
    rows: lines.map((line) => line.split(',').map((cell) => cell.replace(/"/g, ''))),
  };
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
  }, 600_000);

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
      // o10 (bad timestamp), e4 (no subscriber_email), the spend row dated mid-month, t6 (solved before opened).
      expect(quarantine?.n).toBe(4n);
    } finally {
      db.close();
    }
  });

  /** A new page that records console errors into consoleErrors. */
  async function openPage(pathname: string): Promise<Page> {
    const page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(`${pathname}: ${message.text()}`);
    });
    page.on('pageerror', (error) => consoleErrors.push(`${pathname}: ${String(error)}`));
    await page.goto(url + pathname, { waitUntil: 'networkidle' });
    return page;
  }

  it('loads every page with its charts and no console error, shows contact details only on Lists, and screenshots each', async () => {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    for (const [pathname, heading] of PAGES) {
      const page = await openPage(pathname);
      await expect.poll(() => page.getByRole('heading', { level: 1 }).first().innerText()).toBe(heading);
      // Each page draws at least one chart or table once its queries have run.
      await expect.poll(() => page.locator('.chart, table').filter({ visible: true }).count()).toBeGreaterThan(0);
      await page.waitForLoadState('networkidle');
      const text = await page.locator('article, main').first().innerText();
      if (pathname === 'lists') expect(text).toMatch(EMAIL);
      else expect(text).not.toMatch(EMAIL);
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${pathname || 'overview'}.png`), fullPage: true });
      await page.close();
    }
    expect(consoleErrors).toEqual([]);
  });

  it('ships contact details to the browser only in the Lists data', async () => {
    const dataDir = path.join(REPORT_BUILD_DIR, 'data');
    const parquetFiles = (readdirSync(dataDir, { recursive: true }) as string[]).filter((file) => file.endsWith('.parquet'));
    expect(parquetFiles.length).toBeGreaterThan(20);
    const db = await openWarehouse(warehouse, { readOnly: true });
    try {
      const contactColumns = await queryRows<{ file: string; name: string }>(
        db.connection,
        `select file_name as file, name from parquet_schema([${parquetFiles.map((file) => `'${path.join(dataDir, file)}'`).join(', ')}])
         where name in ('email', 'phone', 'first_name', 'last_name') order by name`,
      );
      expect(contactColumns.map((column) => [path.basename(column.file), column.name])).toEqual([
        ['rpt_customer_list.parquet', 'email'],
        ['rpt_customer_list.parquet', 'first_name'],
        ['rpt_customer_list.parquet', 'last_name'],
        ['rpt_customer_list.parquet', 'phone'],
      ]);
    } finally {
      db.close();
    }
  });

  it('shows the hand-computed retention, filters in the browser, and downloads the rows as CSV', async () => {
    const page = await openPage('cohorts');
    await expect.poll(() => tableRows(page)).toEqual([
      ['2024-01', '0', '3', '3', '100.0%', 'true'],
      ['2024-01', '1', '3', '1', '33.3%', 'true'],
      ['2024-01', '2', '3', '1', '33.3%', 'false'],
      ['2024-02', '0', '2', '2', '100.0%', 'true'],
      ['2024-02', '1', '2', '1', '50.0%', 'false'],
    ]);

    // Choosing a cohort re-runs the page query in DuckDB-WASM in the browser.
    await choose(page, 'Cohort', '2024-02');
    await expect.poll(() => tableRows(page), { timeout: 20_000 }).toEqual([
      ['2024-02', '0', '2', '2', '100.0%', 'true'],
      ['2024-02', '1', '2', '1', '50.0%', 'false'],
    ]);

    const { header, rows } = await downloadTable(page);
    expect(header).toEqual([
      'cohort_label',
      'months_since_first_order',
      'cohort_customers',
      'active_customers',
      'retention_pct',
      'is_complete_period',
    ]);
    // Evidence's CSV export writes booleans as TRUE / FALSE.
    expect(rows).toEqual([
      ['2024-02', '0', '2', '2', '1', 'TRUE'],
      ['2024-02', '1', '2', '1', '0.5', 'FALSE'],
    ]);
    expect(consoleErrors).toEqual([]);
  });

  it('opens the trend of one interval on a month some cohort has lived through: month 1', async () => {
    // Only January has lived through a month (February); no cohort through two.
    const page = await openPage('cohorts');
    const chosen = () => page.locator('button[aria-label="Month since first order"]').innerText();
    await expect.poll(chosen, { timeout: 20_000 }).toMatch(/\b1$/);
    // ... and draws it (January's month 1). The chart shows its empty message
    // until its query has run, and for good on a month no cohort has lived through.
    await expect.poll(() => page.getByText('No cohort has lived through this month yet.').count(), { timeout: 20_000 }).toBe(0);
    expect(consoleErrors).toEqual([]);
  });

  it('opens the stage flows on the latest pair of dates, and shows another pair when chosen', async () => {
    // Stage histories in test/fixtures/tiny/README.md. On Feb 29 (the last
    // month end) c1 is repeat, c2, c3, c4 and c6 new, c5 a prospect; on the
    // reporting day, Mar 15, c3 and c4 are repeat and c6 at risk.
    const page = await openPage('lifecycle');
    const chosen = () => page.locator('button[aria-label="Dates"]').innerText();
    await expect.poll(chosen, { timeout: 20_000 }).toContain('Latest');
    const flows = () => tableRows(page).then((rows) => rows.map((row) => row.join(' ')));
    await expect.poll(flows, { timeout: 20_000 }).toEqual([
      'new repeat 2',
      'new at_risk 1',
      'new new 1',
      'prospect prospect 1',
      'repeat repeat 1',
    ]);
    // On Jan 31 c1, c3 and c6 are new, c2 a prospect; c4 and c5 are not known yet.
    await choose(page, 'Dates', '2024-01-31 to 2024-02-29');
    await expect.poll(flows, { timeout: 20_000 }).toEqual([
      'new new 2',
      'new repeat 1',
      'prospect new 1',
      'unknown new 1',
      'unknown prospect 1',
    ]);
    expect(consoleErrors).toEqual([]);
  });

  it('switches the retention triangle between "on" and "on or after"', async () => {
    const page = await openPage('cohorts');
    const cells = () => page.locator('.chart svg text').allTextContents();
    // January cohort (c1, c3, c6), month 1: c1 orders in it ("on", 1 of 3);
    // c1 and c3 order in it or later ("on or after", 2 of 3).
    await expect.poll(cells).toContain('33%');
    expect(await cells()).not.toContain('67%');
    await page.getByRole('button', { name: 'Customers, on or after' }).click();
    await expect.poll(cells, { timeout: 20_000 }).toContain('67%');
    expect(consoleErrors).toEqual([]);
  });

  it('downloads from Lists exactly the customers of the chosen stage, with their contact fields, and narrows them by country and age', async () => {
    const db = await openWarehouse(warehouse, { readOnly: true });
    let modelRows: { customer_id: string; email: string | null }[];
    try {
      modelRows = await queryRows(db.connection, `select customer_id, email from reports.rpt_customer_list where lifecycle_stage = 'repeat' order by customer_id`);
    } finally {
      db.close();
    }
    // c1, c3 and c4 have two order days and are within their rhythm on the reporting day.
    expect(modelRows).toHaveLength(3);

    const page = await openPage('lists');
    await expect.poll(() => page.getByText('Customers in this list').first().isVisible()).toBe(true);
    await choose(page, 'Stage', 'repeat');
    await expect.poll(async () => (await tableRows(page)).length, { timeout: 20_000 }).toBe(3);
    const { header, rows } = await downloadTable(page);
    expect(header).toEqual(expect.arrayContaining(['customer_id', 'email', 'first_name', 'last_name', 'strategy', 'campaign_type']));
    const id = header.indexOf('customer_id');
    const email = header.indexOf('email');
    expect(rows.map((row) => [row[id], row[email]]).sort()).toEqual(modelRows.map((row) => [row.customer_id, row.email ?? '']));
    // Repeat and in Germany: c1 (c3 is in GB, c4 in NL; c6, also in DE, is at risk).
    await choose(page, 'Country', 'DE');
    await expect.poll(async () => (await tableRows(page)).map((row) => row[0]), { timeout: 20_000 }).toEqual(['c1']);
    // Repeat, any country, aged 35-44 on the reporting day: c4 (born 1980; c1 is 34, c3 24).
    await choose(page, 'Country', 'All countries');
    await choose(page, 'Age band', '35-44');
    await expect.poll(async () => (await tableRows(page)).map((row) => row[0]), { timeout: 20_000 }).toEqual(['c4']);

    // The pipeline's full list for a strategy is served beside the site.
    const response = await page.request.get(`${url}exports/strategy-enhance.csv`);
    expect(response.status()).toBe(200);
    const exported = (await response.text()).trim().split('\n');
    const dbCheck = await openWarehouse(warehouse, { readOnly: true });
    try {
      const [count] = await queryRows<{ n: bigint }>(dbCheck.connection, `select count(*) as n from reports.rpt_customer_list where strategy = 'enhance'`);
      expect(exported.length - 1).toBe(Number(count!.n));
    } finally {
      dbCheck.close();
    }
    expect(consoleErrors).toEqual([]);
  });

  it('sets what a new customer cost against a kept one on the Lifetime value page, and the month\'s CAC on the Overview', async () => {
    // Worked out in test/fixtures/tiny/README.md ("Marketing spend"), over
    // January and February; channels by CAC, highest first, then all.
    const page = await openPage('ltv');
    const table = page.locator('table').filter({ hasText: 'So far / CAC' }).filter({ visible: true }).first();
    const rows = async () => (await table.locator('tr:has(td)').allInnerTexts()).map((row) => row.split('\t').map((cell) => cell.trim()).slice(0, 6));
    await expect.poll(rows, { timeout: 20_000 }).toEqual([
      ['paid_search', '50', '1', '50.00', '10.00', '0.20'],
      ['organic', '30', '1', '30.00', '55.50', '1.85'],
      ['social', '25', '1', '25.00', '62.00', '2.48'],
      ['referral', '20', '1', '20.00', '27.00', '1.35'],
      ['email', '10', '1', '10.00', '18.00', '1.80'],
      ['all', '135', '5', '27.00', '34.50', '1.28'],
    ]);
    // 27 per new customer against 13 per kept one (February's c1): 2.1 times.
    const ratio = page.getByText('Winning one costs, times keeping one').locator('..');
    await expect.poll(() => ratio.innerText()).toContain('2.1');
    // The Overview's last complete month, February: CAC 37.50, 87.5 % above January's 20.
    const overview = await openPage('');
    const cac = overview.getByText('Cost per new customer (CAC)', { exact: true }).locator('..');
    await expect.poll(() => cac.innerText(), { timeout: 20_000 }).toMatch(/37\.50[\s\S]*87\.5%/);
    expect(consoleErrors).toEqual([]);
  });

  it('shows support per month opened on the Churn page: time to solve and CSAT', async () => {
    // Worked out in test/fixtures/tiny/README.md ("Support tickets").
    const page = await openPage('churn');
    const table = page.locator('table').filter({ hasText: 'Median hours to solve' }).filter({ visible: true }).first();
    const rows = async () => (await table.locator('tr:has(td)').allInnerTexts()).map((row) => row.split('\t').map((cell) => cell.trim()));
    await expect.poll(rows, { timeout: 20_000 }).toEqual([
      ['Mar 2024', '2', '2', '1', '24.0', '1', '0%', '1'],
      ['Feb 2024', '2', '2', '2', '25.0', '1', '0%', '1'],
      ['Jan 2024', '1', '1', '1', '6.0', '1', '100%', '0'],
    ]);
    expect(consoleErrors).toEqual([]);
  });

  it('says on Data health which sources sent nothing, and that every dbt test passed', async () => {
    const page = await openPage('health');
    // The fixture has only contacts, orders, web events and email events.
    await expect
      .poll(() => page.getByText('No data for:').innerText())
      .toContain('No data for: crm leads, crm payments, crm referrals, crm refunds, crm reviews, email campaigns.');
    await expect.poll(() => page.getByText('Every dbt test passed on the build behind this report.').isVisible()).toBe(true);
    // o10's ordered_at is "not-a-date": counted by the kind of fault, without the value.
    const reasons = await page.locator('table').filter({ hasText: 'Reason' }).filter({ visible: true }).first().innerText();
    expect(reasons).toContain('ordered_at: not a TIMESTAMP WITH TIME ZONE');
    expect(reasons).not.toContain('not-a-date');
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
