// The models on the tiny fixture, every number worked out by hand in
// test/fixtures/tiny/README.md ("Models").
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { openWarehouse, queryRows } from '../../pipelines/warehouse.ts';
import { runTango, tinyProject } from '../helpers.ts';

const project = tinyProject();

async function rowsOf<Row>(warehouse: string, sql: string): Promise<Row[]> {
  const db = await openWarehouse(warehouse, { readOnly: true });
  try {
    return await queryRows<Row>(db.connection, sql);
  } finally {
    db.close();
  }
}

async function rows<Row>(sql: string): Promise<Row[]> {
  return rowsOf<Row>(project.warehouse, sql);
}

/** `tango run --steps <steps>` on a tiny project. */
function runSteps(tiny: { configFile: string }, steps: string) {
  return runTango(['--config', tiny.configFile, 'run', '--steps', steps]);
}

/** The orders fct_orders holds, by id. */
async function orderIds(warehouse: string): Promise<string[]> {
  return (await rowsOf<{ order_id: string }>(warehouse, 'select order_id from marts.fct_orders order by order_id')).map((order) => order.order_id);
}

const RETENTION_TRIANGLE_SQL = `select strftime(cohort_month, '%Y-%m') as cohort, months_since_first_order as month, active_customers as active,
    active_on_or_after_customers as on_or_after, round(net_revenue, 2)::double as revenue,
    cumulative_revenue::varchar as cumulative, round(cumulative_revenue_per_customer, 2)::double as cumulative_per_customer
  from reports.rpt_cohort_retention_monthly order by cohort_month, months_since_first_order`;

/** The fixture's retention triangle, worked out in its README. */
const RETENTION_TRIANGLE = [
  { cohort: '2024-01', month: 0n, active: 3n, on_or_after: 3n, revenue: 53, cumulative: '53.00', cumulative_per_customer: 17.67 },
  { cohort: '2024-01', month: 1n, active: 1n, on_or_after: 2n, revenue: 35.5, cumulative: '88.50', cumulative_per_customer: 29.5 },
  { cohort: '2024-01', month: 2n, active: 1n, on_or_after: 1n, revenue: 12, cumulative: '100.50', cumulative_per_customer: 33.5 },
  { cohort: '2024-02', month: 0n, active: 2n, on_or_after: 2n, revenue: 50, cumulative: '50.00', cumulative_per_customer: 25 },
  { cohort: '2024-02', month: 1n, active: 1n, on_or_after: 1n, revenue: 22, cumulative: '72.00', cumulative_per_customer: 36 },
];

describe('models on the tiny fixture', () => {
  beforeAll(async () => {
    const result = await runTango(['--config', project.configFile, 'run', '--steps', 'extract,transform', '--unit-tests']);
    expect(result.code, result.stderr).toBe(0);
  }, 180_000);

  it('counts retention "on" and "on or after", revenue and its cumulative value per customer', async () => {
    expect(await rows(RETENTION_TRIANGLE_SQL)).toEqual(RETENTION_TRIANGLE);
  });

  it('keeps money as decimals to the cent, so that its sums are exact and the same on every build', async () => {
    const money = await rows<{ model: string; column_name: string; data_type: string }>(
      `select table_name as model, column_name, data_type from information_schema.columns
       where (table_name, column_name) in (('fct_orders', 'net_revenue'), ('dim_customers', 'net_revenue'),
         ('dim_customer_segments', 'monetary'), ('dim_customer_segments', 'predicted_clv'), ('rpt_segment_summary', 'predicted_clv'))
       order by model, column_name`,
    );
    expect(money.map((column) => `${column.model}.${column.column_name} ${column.data_type.replace(/^DECIMAL\(\d+,\s*2\)$/, 'DECIMAL(_,2)')}`)).toEqual([
      'dim_customer_segments.monetary DECIMAL(_,2)',
      'dim_customer_segments.predicted_clv DECIMAL(_,2)',
      'dim_customers.net_revenue DECIMAL(_,2)',
      'fct_orders.net_revenue DECIMAL(_,2)',
      'rpt_segment_summary.predicted_clv DECIMAL(_,2)',
    ]);
  });

  it('splits each month\'s revenue into new and returning customers, and reports month-1 retention per cohort once complete', async () => {
    const months = await rows<Record<string, unknown>>(
      `select strftime(activity_month, '%Y-%m') as month, active_customers as active, new_customers as new,
         round(new_customer_revenue, 2)::double as from_new, round(returning_customer_revenue, 2)::double as from_returning,
         is_complete_month as complete
       from reports.rpt_customer_activity_monthly order by activity_month`,
    );
    // Jan: c1 20 + c3 15 + c6 18, all new. Feb: c2 10 and c4 40 new, c1 35.50 returning.
    // Mar: c3 12 (resurrecting) + c4 22 (returning); March is running on the reporting day (Mar 15).
    expect(months).toEqual([
      { month: '2024-01', active: 3n, new: 3n, from_new: 53, from_returning: 0, complete: true },
      { month: '2024-02', active: 3n, new: 2n, from_new: 50, from_returning: 35.5, complete: true },
      { month: '2024-03', active: 2n, new: 0n, from_new: 0, from_returning: 34, complete: false },
    ]);
    const kpis = await rows<Record<string, unknown>>(
      `select strftime(cohort_month, '%Y-%m') as cohort, round(retention_month_1_pct, 4)::double as month_1, ltv_12_months
       from reports.rpt_cohort_kpis order by cohort_month`,
    );
    // January's month 1 (February) is over: 1 of 3. February's month 1 (March) is not.
    expect(kpis).toEqual([
      { cohort: '2024-01', month_1: 0.3333, ltv_12_months: null },
      { cohort: '2024-02', month_1: null, ltv_12_months: null },
    ]);
  });

  it('lists every customer once with its contact fields, and "none" for what a non-buyer lacks', async () => {
    const list = await rows<Record<string, unknown>>(
      `select lifecycle_stage, count(*) as customers, count(email) as with_email, list(distinct cohort order by cohort) as cohorts
       from reports.rpt_customer_list group by lifecycle_stage order by lifecycle_stage`,
    );
    // Stages on Mar 15: c1, c3, c4 repeat; c2 new; c5 prospect; c6 at risk.
    expect(list.map((row) => [row.lifecycle_stage, row.customers, row.cohorts])).toEqual([
      ['at_risk', 1n, ['2024-01']],
      ['new', 1n, ['2024-02']],
      ['prospect', 1n, ['none']],
      ['repeat', 3n, ['2024-01', '2024-02']],
    ]);
    expect(list.every((row) => row.with_email === row.customers)).toBe(true);
  });

  it('shows every dbt var of the project with its meaning on the Definitions page', async () => {
    const projectVars = Object.keys((parse(readFileSync(path.resolve('dbt_project.yml'), 'utf8')) as { vars: object }).vars).sort();
    const thresholds = await rows<{ threshold: string; value_in_force: string | null }>(
      'select threshold, value_in_force from reports.rpt_thresholds order by threshold',
    );
    expect(thresholds.map((row) => row.threshold)).toEqual(projectVars);
    // The two that default to the data resolve to the fixture's last paid order day and its currency.
    expect(thresholds.find((row) => row.threshold === 'as_of_date')?.value_in_force).toBe('2024-03-15');
  });

  it('judges each customer against the population interval: 39 days, at risk after day 59', async () => {
    const rhythms = await rows<{ order_number: bigint; rhythm_days: number }>(
      'select order_number, rhythm_days from intermediate.int_population_rhythms order by order_number',
    );
    expect(rhythms).toEqual([
      { order_number: 1n, rhythm_days: 39 },
      { order_number: 2n, rhythm_days: 39 },
    ]);
    const current = await rows<{ customer_id: string; lifecycle_stage: string; since: string }>(
      `select customer_id, lifecycle_stage, strftime(valid_from, '%Y-%m-%d') as since
       from marts.fct_customer_stages where is_current order by customer_id`,
    );
    expect(current).toEqual([
      { customer_id: 'c1', lifecycle_stage: 'repeat', since: '2024-02-14' },
      { customer_id: 'c2', lifecycle_stage: 'new', since: '2024-02-01' },
      { customer_id: 'c3', lifecycle_stage: 'repeat', since: '2024-03-02' },
      { customer_id: 'c4', lifecycle_stage: 'repeat', since: '2024-03-15' },
      { customer_id: 'c5', lifecycle_stage: 'prospect', since: '2024-02-10' },
      { customer_id: 'c6', lifecycle_stage: 'at_risk', since: '2024-03-04' },
    ]);
    const history = await rows<{ lifecycle_stage: string; valid_from: string; valid_to: string | null }>(
      `select lifecycle_stage, strftime(valid_from, '%Y-%m-%d') as valid_from, strftime(valid_to, '%Y-%m-%d') as valid_to
       from marts.fct_customer_stages where customer_id = 'c4' order by valid_from`,
    );
    expect(history).toEqual([
      { lifecycle_stage: 'prospect', valid_from: '2024-02-01', valid_to: '2024-02-05' },
      { lifecycle_stage: 'new', valid_from: '2024-02-05', valid_to: '2024-03-15' },
      { lifecycle_stage: 'repeat', valid_from: '2024-03-15', valid_to: null },
    ]);
  });

  it('counts the stage flows between any two days (tango flows), and refuses a day after the reporting day', async () => {
    // From the fixture README's stage histories. On Feb 1: c1, c2, c3 and c6
    // new, c4 prospect, c5 not yet known. On Mar 10: c1 and c3 repeat, c2
    // and c4 new, c5 prospect, c6 at risk.
    const result = await runTango(['--config', project.configFile, 'flows', '--from', '2024-02-01', '--to', '2024-03-10', '--format', 'csv']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(
      ['from_stage,to_stage,customers', 'unknown,prospect,1', 'prospect,new,1', 'new,new,1', 'new,repeat,2', 'new,at_risk,1', ''].join('\n'),
    );
    const matrix = await runTango(['--config', project.configFile, 'flows', '--from', '2024-02-01', '--to', '2024-03-10']);
    expect(matrix.stdout).toContain('6 known on 2024-03-10');
    expect(matrix.stdout).toMatch(/^new +0 +0 +1 +2 +0 +0 +0 +1 +0 +4$/m);

    const late = await runTango(['--config', project.configFile, 'flows', '--from', '2024-02-01', '--to', '2024-03-16']);
    expect(late.code).toBe(2);
    expect(late.stderr).toContain('2024-03-16 is after the reporting day of the last transform, 2024-03-15');
    const backwards = await runTango(['--config', project.configFile, 'flows', '--from', '2024-03-10', '--to', '2024-02-01']);
    expect(backwards.code).toBe(2);
    expect(backwards.stderr).toContain('the first date (2024-03-10) must be before the second (2024-02-01)');
  });

  it('takes the first touch from the first web session and the referrer from the CRM', async () => {
    const customers = await rows<{ customer_id: string; acquisition_channel: string; referred_by_customer_id: string | null }>(
      `select customer_id, acquisition_channel, referred_by_customer_id from marts.dim_customers
       where customer_id in ('c3', 'c6') order by customer_id`,
    );
    expect(customers).toEqual([
      { customer_id: 'c3', acquisition_channel: 'referral', referred_by_customer_id: 'c1' },
      // CRM says organic; the session before the sign-up came from the newsletter.
      { customer_id: 'c6', acquisition_channel: 'email', referred_by_customer_id: null },
    ]);
  });

  it('drills customers and revenue down by country, first-touch channel and age band', async () => {
    const summary = await rows<Record<string, unknown>>(
      `select breakdown, breakdown_value as value, customers, buyers, net_revenue::double as revenue
       from reports.rpt_segment_summary where breakdown in ('country_code', 'acquisition_channel', 'age_band') order by breakdown, breakdown_value`,
    );
    // Net revenue (README): c1 20 + 35.50 = 55.50, c2 10, c3 15 + 12 = 27,
    // c4 40 + 22 = 62 (o7 refunded), c6 18; c5's only order was quarantined.
    // Countries from the CRM: c1 and c6 DE, c2 FR, c3 GB, c4 NL, c5 US.
    // Channels: the CRM's, but c6's first touch was the newsletter (email).
    // Ages on the reporting day (2024): c1 born 1990 is 34, c3 (2000) 24, c4
    // (1980) 44, c6 (1959) 65; c2 has the CRM's band 45-54; c5 neither.
    expect(summary).toEqual([
      { breakdown: 'acquisition_channel', value: 'email', customers: 2n, buyers: 1n, revenue: 18 },
      { breakdown: 'acquisition_channel', value: 'organic', customers: 1n, buyers: 1n, revenue: 55.5 },
      { breakdown: 'acquisition_channel', value: 'paid_search', customers: 1n, buyers: 1n, revenue: 10 },
      { breakdown: 'acquisition_channel', value: 'referral', customers: 1n, buyers: 1n, revenue: 27 },
      { breakdown: 'acquisition_channel', value: 'social', customers: 1n, buyers: 1n, revenue: 62 },
      { breakdown: 'age_band', value: '18-24', customers: 1n, buyers: 1n, revenue: 27 },
      { breakdown: 'age_band', value: '25-34', customers: 1n, buyers: 1n, revenue: 55.5 },
      { breakdown: 'age_band', value: '35-44', customers: 1n, buyers: 1n, revenue: 62 },
      { breakdown: 'age_band', value: '45-54', customers: 1n, buyers: 1n, revenue: 10 },
      { breakdown: 'age_band', value: '65+', customers: 1n, buyers: 1n, revenue: 18 },
      { breakdown: 'age_band', value: 'none', customers: 1n, buyers: 0n, revenue: 0 },
      { breakdown: 'country_code', value: 'DE', customers: 2n, buyers: 2n, revenue: 73.5 },
      { breakdown: 'country_code', value: 'FR', customers: 1n, buyers: 1n, revenue: 10 },
      { breakdown: 'country_code', value: 'GB', customers: 1n, buyers: 1n, revenue: 27 },
      { breakdown: 'country_code', value: 'NL', customers: 1n, buyers: 1n, revenue: 62 },
      { breakdown: 'country_code', value: 'US', customers: 1n, buyers: 0n, revenue: 0 },
    ]);
  });

  it('sets what a new customer cost against what keeping one cost, per month and per first-touch channel', async () => {
    // Spend (README, "Marketing spend"): the GBP row is 43 x 1.162791 = 50.00
    // EUR; the row dated 2024-03-15 is quarantined. New customers: January
    // c1, c3, c6; February c2, c4. Kept (bought having bought in an earlier
    // month): February c1; March c3, c4.
    expect(
      await rows(
        `select strftime(cost_month, '%Y-%m') as month, is_complete_month as complete, acquisition_spend::double as acquisition, new_customers as new,
           acquisition_cost_per_customer as cac, retention_spend::double as retention, retained_customers as kept,
           retention_cost_per_customer as per_kept, acquisition_to_retention_cost_ratio as ratio,
           acquisition_cost_change_pct as cac_change, retention_cost_change_pct as per_kept_change
         from reports.rpt_marketing_cost_monthly order by cost_month`,
      ),
    ).toEqual([
      // Changes: February's CAC 37.50 / 20 - 1 = 0.875; March's cost per kept 6 / 8 - 1 = -0.25.
      { month: '2024-01', complete: true, acquisition: 60, new: 3n, cac: 20, retention: 5, kept: 0n, per_kept: null, ratio: null, cac_change: null, per_kept_change: null },
      { month: '2024-02', complete: true, acquisition: 75, new: 2n, cac: 37.5, retention: 8, kept: 1n, per_kept: 8, ratio: 4.6875, cac_change: 0.875, per_kept_change: null },
      { month: '2024-03', complete: false, acquisition: 40, new: 0n, cac: null, retention: 12, kept: 2n, per_kept: 6, ratio: null, cac_change: null, per_kept_change: -0.25 },
    ]);
    // Over the complete months (January, February), per channel: each won one
    // customer; net revenue so far c6 18 (email), c1 55.50 (organic), c2 10
    // (paid search, whose March spend is left out), c3 27 (referral), c4 62
    // (social). All: 135 / 5 = 27 per customer, 172.50 / 5 = 34.50 so far;
    // retention 13 for one kept customer, so 27 / 13 = 2.08 times.
    expect(
      await rows(
        `select acquisition_channel as channel, acquisition_spend::double as spend, new_customers as new, acquisition_cost_per_customer as cac,
           net_revenue_per_customer as so_far, round(net_revenue_to_cac, 4) as ltv_to_cac,
           retention_cost_per_customer as per_kept, round(acquisition_to_retention_cost_ratio, 4) as ratio
         from reports.rpt_acquisition_cost_by_channel order by acquisition_channel`,
      ),
    ).toEqual([
      { channel: 'all', spend: 135, new: 5n, cac: 27, so_far: 34.5, ltv_to_cac: 1.2778, per_kept: 13, ratio: 2.0769 },
      { channel: 'email', spend: 10, new: 1n, cac: 10, so_far: 18, ltv_to_cac: 1.8, per_kept: null, ratio: null },
      { channel: 'organic', spend: 30, new: 1n, cac: 30, so_far: 55.5, ltv_to_cac: 1.85, per_kept: null, ratio: null },
      { channel: 'paid_search', spend: 50, new: 1n, cac: 50, so_far: 10, ltv_to_cac: 0.2, per_kept: null, ratio: null },
      { channel: 'referral', spend: 20, new: 1n, cac: 20, so_far: 27, ltv_to_cac: 1.35, per_kept: null, ratio: null },
      { channel: 'social', spend: 25, new: 1n, cac: 25, so_far: 62, ltv_to_cac: 2.48, per_kept: null, ratio: null },
    ]);
  });

  it('measures support: time to solve and ratings per month, and tickets among the churn drivers', async () => {
    // README, "Support tickets": t6 is quarantined (solved before it was
    // opened); t5 was opened at 09:00 UTC. Hours: t1 6, t2 48.5, t4 1.5, t5 24.
    expect(
      await rows(
        `select ticket_id, customer_id, status, is_solved as solved, hours_to_solve as hours, topic, satisfaction, is_poorly_rated as poor
         from marts.fct_support_tickets order by ticket_id`,
      ),
    ).toEqual([
      { ticket_id: 't1', customer_id: 'c1', status: 'solved', solved: true, hours: 6, topic: 'delivery', satisfaction: 5, poor: false },
      { ticket_id: 't2', customer_id: 'c4', status: 'closed', solved: true, hours: 48.5, topic: 'refund', satisfaction: 1, poor: true },
      { ticket_id: 't3', customer_id: 'c4', status: 'open', solved: false, hours: null, topic: 'product', satisfaction: null, poor: null },
      { ticket_id: 't4', customer_id: 'c5', status: 'solved', solved: true, hours: 1.5, topic: 'account', satisfaction: null, poor: null },
      { ticket_id: 't5', customer_id: 'c3', status: 'solved', solved: true, hours: 24, topic: 'delivery', satisfaction: 2, poor: true },
    ]);
    // February: t2 and t4, median of 48.5 and 1.5 = 25, one rated (1 star);
    // March (incomplete): t3 unsolved, t5 solved in 24 h, rated 2.
    expect(
      await rows(
        `select strftime(opened_month, '%Y-%m') as month, is_complete_month as complete, tickets_opened as opened, customers_with_tickets as customers,
           tickets_solved as solved, median_hours_to_solve as median_hours, rated_tickets as rated, satisfied_tickets as satisfied, csat_pct as csat,
           poorly_rated_tickets as poor
         from reports.rpt_support_monthly order by opened_month`,
      ),
    ).toEqual([
      { month: '2024-01', complete: true, opened: 1n, customers: 1n, solved: 1n, median_hours: 6, rated: 1n, satisfied: 1n, csat: 1, poor: 0n },
      { month: '2024-02', complete: true, opened: 2n, customers: 2n, solved: 2n, median_hours: 25, rated: 1n, satisfied: 0n, csat: 0, poor: 1n },
      { month: '2024-03', complete: false, opened: 2n, customers: 2n, solved: 1n, median_hours: 24, rated: 1n, satisfied: 0n, csat: 0, poor: 1n },
    ]);
    // Buyers' tickets in the 90 days from their first order: c1 t1 (5 stars);
    // c3 t5 (2) and c4 t2 (1) rated poorly; c2 (its ticket quarantined) and c6 none.
    expect(
      await rows(
        `select driver_value as value, customers, lapsed_customers as lapsed from reports.rpt_churn_drivers
         where driver = 'support_tickets_first_90_days' order by driver_value`,
      ),
    ).toEqual([
      { value: 'a ticket rated poorly', customers: 2n, lapsed: 0n },
      { value: 'no ticket', customers: 2n, lapsed: 0n },
      { value: 'tickets, none rated poorly', customers: 1n, lapsed: 0n },
    ]);
    // Per customer, and on the marketers' list: c4's t3 is not solved yet.
    expect(
      await rows(
        `select customers.customer_id, support_tickets as tickets, customers.open_support_tickets as open, list.open_support_tickets as listed_open
         from marts.dim_customers as customers join reports.rpt_customer_list as list using (customer_id)
         where support_tickets > 0 order by customer_id`,
      ),
    ).toEqual([
      { customer_id: 'c1', tickets: 1n, open: 0n, listed_open: 0n },
      { customer_id: 'c3', tickets: 1n, open: 0n, listed_open: 0n },
      { customer_id: 'c4', tickets: 2n, open: 1n, listed_open: 1n },
      { customer_id: 'c5', tickets: 1n, open: 0n, listed_open: 0n },
    ]);
    // Rating a ticket answers a survey, which makes warm (DOMAIN.md): c3 and
    // c4 rated theirs (solved Mar 11 and Feb 23, within the 90 days to Mar 15)
    // and have no open, click or visit; c5 did not rate its ticket; c2 has
    // one email received and no response; c1 opened one, c6 visited.
    expect(await rows('select customer_id, engagement_status from marts.dim_customer_segments order by customer_id')).toEqual([
      { customer_id: 'c1', engagement_status: 'warm' },
      { customer_id: 'c2', engagement_status: 'unknown' },
      { customer_id: 'c3', engagement_status: 'warm' },
      { customer_id: 'c4', engagement_status: 'warm' },
      { customer_id: 'c5', engagement_status: 'unknown' },
      { customer_id: 'c6', engagement_status: 'warm' },
    ]);
    const [quarantined] = await rows<{ reason: string }>(`select reason from _meta.quarantine where stream = 'support_tickets'`);
    expect(quarantined?.reason).toMatch(/^solved_at: fails the contract's check/);
  });

  it("carries social handles and the CRM's custom properties to the marketers' list", async () => {
    // README, "Contacts": c1 has an Instagram handle, c2 the shop's own fields.
    expect(
      await rows(
        `select customer_id, social_handles, custom_properties->>'preferred_store' as store, (custom_properties->>'loyalty_card')::boolean as card
         from reports.rpt_customer_list where social_handles is not null or custom_properties is not null order by customer_id`,
      ),
    ).toEqual([
      { customer_id: 'c1', social_handles: 'instagram:@ann.lee', store: null, card: null },
      { customer_id: 'c2', social_handles: null, store: 'Lyon', card: true },
    ]);
  });

  it('documents the models offline with dbt docs generate, columns read from the warehouse', async () => {
    const result = await runTango(['--config', project.configFile, 'docs']);
    expect(result.code, result.stderr).toBe(0);
    const index = /The model documentation is at (\S+)/.exec(result.stdout)?.[1];
    expect(index).toBe(path.join(project.dir, 'dbt', 'target', 'index.html'));
    const catalog = JSON.parse(readFileSync(path.join(path.dirname(index!), 'catalog.json'), 'utf8')) as {
      nodes: Record<string, { columns: Record<string, unknown> }>;
    };
    expect(Object.keys(catalog.nodes['model.tango.fct_customer_stages']!.columns)).toContain('valid_to');
  });

  // Last: it changes the warehouse the tests above read.
  it("drops what no model builds any more from dbt's schemas, and leaves everything else", async () => {
    const db = await openWarehouse(project.warehouse);
    try {
      // A table and a view as models removed since would have left them, and an analyst's own table.
      await db.connection.run(
        `create table staging.stg_web__repeated_events as select 1 as event_id;
         create view marts.fct_old as select 1 as x;
         create schema analyst; create table analyst.notes as select 'kept' as note`,
      );
    } finally {
      db.close();
    }
    const result = await runTango(['--config', project.configFile, 'transform']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr + result.stdout).toMatch(/dropped 2 relation\(s\) that no model or seed builds any more: marts\.fct_old, staging\.stg_web__repeated_events/);
    const left = await rows<{ name: string }>(
      `select schema_name || '.' || table_name as name from duckdb_tables() where table_name in ('stg_web__repeated_events', 'notes', 'fct_orders', 'currency_rates')
       union all select schema_name || '.' || view_name from duckdb_views() where view_name in ('fct_old', 'stg_crm__orders')
       order by name`,
    );
    expect(left.map((row) => row.name)).toEqual(['analyst.notes', 'marts.fct_orders', 'seeds.currency_rates', 'staging.stg_crm__orders']);
  });

  it("runs every unit test of the project with --unit-tests (the first run), and none in a transform without it", async () => {
    const modelsDir = path.resolve('models');
    const defined = readdirSync(modelsDir, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.yml'))
      .flatMap((file) => (parse(readFileSync(path.join(modelsDir, file), 'utf8')) as { unit_tests?: { name: string }[] }).unit_tests ?? [])
      .map((test) => test.name)
      .sort();
    expect(defined.length).toBeGreaterThan(0);
    const result = await runTango(['--config', project.configFile, 'transform']);
    expect(result.code, result.stderr).toBe(0);
    const ran = await rows<{ run: string; name: string; status: string; resource_type: string }>(
      `with runs as (select run_id, min(recorded_at) as recorded_at from _meta.dbt_results group by run_id)
       select case when run_id = (select arg_min(run_id, recorded_at) from runs) then 'first' when run_id = (select arg_max(run_id, recorded_at) from runs) then 'last' end as run,
         split_part(unique_id, '.', 4) as name, status, resource_type
       from _meta.dbt_results where run is not null order by name`,
    );
    const unitTests = (run: string) => ran.filter((node) => node.run === run && node.resource_type === 'unit_test');
    expect(unitTests('first').map((node) => node.name)).toEqual(defined);
    expect(unitTests('first').every((node) => node.status === 'pass')).toBe(true);
    expect(unitTests('last')).toEqual([]);
    // The data tests still run.
    expect(ran.filter((node) => node.run === 'last' && node.resource_type === 'test').length).toBeGreaterThan(100);
  });
});

describe('rows the CRM marks deleted, on the tiny fixture', () => {
  const deleting = tinyProject();
  const crm = path.join(deleting.dir, 'sources', 'crm');
  const ORDERS_HEADER = 'order_id,contact_id,ordered_at,status,amount,currency,is_deleted';
  const transformed = async () => {
    const result = await runSteps(deleting, 'extract,transform');
    expect(result.code, result.stderr).toBe(0);
  };

  it('are loaded into raw, flagged, and left out of every model: the numbers are the fixture\'s own', async () => {
    // Counted, o11 would give c1 a third order day in February, and c7 would
    // be a prospect, on the marketers' list.
    writeFileSync(path.join(crm, 'orders-deleted.csv'), `${ORDERS_HEADER}\no11,c1,2024-02-20T10:00:00Z,paid,100.00,EUR,true\n`);
    writeFileSync(
      path.join(crm, 'contacts-deleted.csv'),
      'contact_id,email,first_name,last_name,country,acquisition_channel,referred_by_contact_id,created_at,updated_at,is_deleted\n' +
        'c7,gus@example.com,Gus,Ro,DE,organic,,2024-01-20T08:00:00Z,2024-01-20T08:00:00Z,true\n',
    );
    await transformed();
    expect(
      await rowsOf(
        deleting.warehouse,
        `select order_id as id, is_deleted from raw_crm.orders where order_id = 'o11'
         union all select contact_id, is_deleted from raw_crm.contacts where contact_id = 'c7' order by id`,
      ),
    ).toEqual([
      { id: 'c7', is_deleted: true },
      { id: 'o11', is_deleted: true },
    ]);
    expect(await orderIds(deleting.warehouse)).toEqual(['o1', 'o2', 'o3', 'o4', 'o5', 'o6', 'o7', 'o8', 'o9']);
    const customers = await rowsOf<{ customer_id: string }>(deleting.warehouse, 'select customer_id from marts.dim_customers order by customer_id');
    expect(customers.map((customer) => customer.customer_id)).toEqual(['c1', 'c2', 'c3', 'c4', 'c5', 'c6']);
    expect(await rowsOf(deleting.warehouse, "select count(*) as listed from reports.rpt_customer_list where email = 'gus@example.com'")).toEqual([{ listed: 0n }]);
    expect(await rowsOf(deleting.warehouse, RETENTION_TRIANGLE_SQL)).toEqual(RETENTION_TRIANGLE);
  }, 180_000);

  it('an order deleted after it was counted leaves the models at the next transform', async () => {
    // o2 (c1's February order) deleted in the CRM. c1 is left with o1 (Jan 3,
    // 20.00), and one order day: its interval is the population's after one
    // order, the median of the other first gaps, c3 34 and c4 39 days: 36.5.
    // At risk from day floor(36.5 x 1.5) + 1 = 55, Feb 27; on the reporting
    // day, Mar 15 (o8), c1 is at risk.
    writeFileSync(path.join(crm, 'orders-later.csv'), `${ORDERS_HEADER}\no2,c1,2024-02-14T10:00:00Z,paid,35.50,EUR,true\n`);
    await transformed();
    expect(await orderIds(deleting.warehouse)).toEqual(['o1', 'o3', 'o4', 'o5', 'o6', 'o7', 'o8', 'o9']);
    expect(
      await rowsOf(
        deleting.warehouse,
        `select customers.paid_orders, customers.net_revenue::varchar as net_revenue, stages.lifecycle_stage, sequenced.expected_interval_days
         from marts.dim_customers as customers
         join marts.fct_customer_stages as stages on stages.customer_id = customers.customer_id and stages.is_current
         join intermediate.int_customer_orders_sequenced as sequenced on sequenced.customer_id = customers.customer_id
         where customers.customer_id = 'c1'`,
      ),
    ).toEqual([{ paid_orders: 1n, net_revenue: '20.00', lifecycle_stage: 'at_risk', expected_interval_days: 36.5 }]);
  }, 180_000);
});

describe('who a list may email, and who is cold, on the tiny fixture', () => {
  const emailing = tinyProject();
  const sources = path.join(emailing.dir, 'sources');

  beforeAll(async () => {
    // Every contact consents here. At the email service: c1 unsubscribed, c3
    // complained, c4's address bounced hard, c2's soft. Subscriber S6 is c6
    // (its first address is c6's); its old address bounced hard, which is
    // not the address a list gives for c6 (identity makes the old address
    // c6's too, through S6: no customer of its own). c2 was also sent five
    // more campaigns, reported as sends only, with no delivery events.
    const contacts = readFileSync(path.join(sources, 'crm', 'contacts.csv'), 'utf8').trim().split('\n');
    writeFileSync(path.join(sources, 'crm', 'contacts.csv'), contacts.map((line, index) => `${line},${index === 0 ? 'email_consent' : 'true'}`).join('\n') + '\n');
    const sendsToBob = [2, 3, 4, 5, 6].map((n) => `s${n},CMP${n},,bob@example.com,sent,2024-02-0${n}T09:00:00Z,\n`).join('');
    writeFileSync(
      path.join(sources, 'email', 'email_events-2.csv'),
      'event_id,campaign_id,subscriber_id,subscriber_email,event_type,occurred_at,bounce_type\n' +
        'e5,CMP1,,ann@example.com,unsubscribed,2024-01-09T09:00:00Z,\n' +
        'e6,CMP1,,cy@example.com,complained,2024-01-09T09:00:00Z,\n' +
        'e7,CMP1,,dee@example.com,bounced,2024-01-08T09:01:00Z,hard\n' +
        'e8,CMP1,,bob@example.com,bounced,2024-01-08T09:01:00Z,soft\n' +
        'e9,CMP1,S6,fay@example.com,sent,2024-01-08T09:00:00Z,\n' +
        'e10,CMP1,S6,fay.old@example.org,bounced,2024-01-08T09:01:00Z,hard\n' +
        sendsToBob,
    );
    const result = await runSteps(emailing, 'extract,transform');
    expect(result.code, result.stderr).toBe(0);
  }, 180_000);

  it('everyone with an address and consent, but for an opt-out from any address or a hard bounce of the list address', async () => {
    expect(
      await rowsOf(
        emailing.warehouse,
        'select customer_id, is_emailable, email_suppressed_reason from reports.rpt_customer_list order by customer_id',
      ),
    ).toEqual([
      { customer_id: 'c1', is_emailable: false, email_suppressed_reason: 'unsubscribed' },
      { customer_id: 'c2', is_emailable: true, email_suppressed_reason: null },
      { customer_id: 'c3', is_emailable: false, email_suppressed_reason: 'complained' },
      { customer_id: 'c4', is_emailable: false, email_suppressed_reason: 'bounced (hard)' },
      { customer_id: 'c5', is_emailable: true, email_suppressed_reason: null },
      { customer_id: 'c6', is_emailable: true, email_suppressed_reason: null },
    ]);
    expect(await rowsOf(emailing.warehouse, 'select sum(emailable_customers)::integer as emailable from reports.rpt_customer_list_counts')).toEqual([
      { emailable: 3 },
    ]);
  });

  it('counts an email sent and not bounced as received where the service reports no deliveries', async () => {
    // c2: CMP1 was sent and bounced (not received), CMP2-6 sent: 5 received,
    // the cold threshold, with no open, click or visit in the 90 days to Mar 15.
    // c1: CMP1 sent, opened on Jan 8 (within the window): warm.
    expect(
      await rowsOf(
        emailing.warehouse,
        "select customer_id, emails_received, engagement_status from marts.dim_customer_segments where customer_id in ('c1', 'c2') order by customer_id",
      ),
    ).toEqual([
      { customer_id: 'c1', emails_received: 1n, engagement_status: 'warm' },
      { customer_id: 'c2', emails_received: 5n, engagement_status: 'cold' },
    ]);
  });
});

describe('data tests of the incremental models, on the tiny fixture', () => {
  const building = tinyProject();

  it('read the rows the build wrote: a stored row is not tested again, a new one is', async () => {
    // The accepted event types' test of the last transform: it warns, with the rows that fail it.
    const lastEventTypeTest = () =>
      rowsOf<{ status: string; failures: number }>(
        building.warehouse,
        `select status, failures::integer as failures from _meta.dbt_results
         where name like 'accepted_values_stg_web__events_event_type%' order by recorded_at desc limit 1`,
      );
    const first = await runSteps(building, 'extract,transform');
    expect(first.code, first.stderr).toBe(0);
    // A stored event that the accepted values no longer allow (as if the
    // list had changed since it was written): a build that writes no event
    // does not test it again.
    const db = await openWarehouse(building.warehouse);
    try {
      await db.connection.run("update staging.stg_web__events set event_type = 'refund' where event_id = 'w1'");
    } finally {
      db.close();
    }
    const again = await runSteps(building, 'transform');
    expect(again.code, again.stderr).toBe(0);
    expect(await lastEventTypeTest()).toEqual([{ status: 'pass', failures: 0 }]);
    // A new event of that type is tested: one row, not the stored one too.
    writeFileSync(
      path.join(building.dir, 'sources', 'web', 'events-2024-01-03.ndjson'),
      '{"event_id":"w9","anonymous_id":"a9","event_type":"refund","occurred_at":"2024-01-03T10:00:00Z"}\n',
    );
    const later = await runSteps(building, 'extract,transform');
    expect(later.code, later.stderr).toBe(0);
    expect(await lastEventTypeTest()).toEqual([{ status: 'warn', failures: 1 }]);
  }, 180_000);
});

describe('event types and states no model uses, on the tiny fixture', () => {
  const tracked = tinyProject();

  it("are kept, counted as what they are not, and warned about: the transform succeeds, and the fixture's numbers stay", async () => {
    // A tracker's scroll five minutes after a1's add_to_cart of January 5
    // (w3), so in that session; an email tool's deferral of a second
    // campaign to Bob; a CRM's own lead state.
    writeFileSync(
      path.join(tracked.dir, 'sources', 'web', 'events-2024-01-05.ndjson'),
      `${JSON.stringify({ event_id: 'w5', anonymous_id: 'a1', event_type: 'scroll', occurred_at: '2024-01-05T09:55:00Z' })}\n`,
    );
    writeFileSync(
      path.join(tracked.dir, 'sources', 'email', 'email_events-deferred.csv'),
      'event_id,campaign_id,subscriber_email,event_type,occurred_at\ne5,CMP2,bob@example.com,deferred,2024-01-09T09:00:00Z\n',
    );
    writeFileSync(
      path.join(tracked.dir, 'sources', 'crm', 'leads.csv'),
      'lead_id,contact_id,lead_type,status,created_at\nl1,c6,quote,qualified,2024-03-01T10:00:00Z\n',
    );
    const result = await runSteps(tracked, 'extract,transform');
    expect(result.code, result.stderr).toBe(0);
    const warned = await rowsOf<{ name: string }>(
      tracked.warehouse,
      "select name from _meta.dbt_results where status = 'warn' and name like 'accepted_values%' order by name",
    );
    // The test's model and column (dbt shortens and hashes the long names).
    expect(warned.map((test) => /^accepted_values_(\w+?)_(event_type|lead_status)_/.exec(test.name)?.slice(1, 3).join('.'))).toEqual([
      'fct_email_events.event_type',
      'stg_crm__leads.lead_status',
      'stg_email__events.event_type',
      'stg_web__events.event_type',
    ]);
    // a1's sessions: w1 and w2 on January 2 (a page view and the sign-up), w3 and w5 on January 5.
    expect(
      await rowsOf(tracked.warehouse, "select session_number, events, page_views, has_add_to_cart from marts.fct_web_sessions where anonymous_id = 'a1' order by session_number"),
    ).toEqual([
      { session_number: 1n, events: 2n, page_views: 1n, has_add_to_cart: false },
      { session_number: 2n, events: 2n, page_views: 0n, has_add_to_cart: true },
    ]);
    // A deferral is no send: Bob received CMP1 (e3) only.
    expect(
      await rowsOf(
        tracked.warehouse,
        `select segments.emails_received from marts.dim_customer_segments as segments
         join marts.dim_customers as customers using (customer_id) where customers.email = 'bob@example.com'`,
      ),
    ).toEqual([{ emails_received: 1n }]);
    expect(await rowsOf(tracked.warehouse, RETENTION_TRIANGLE_SQL)).toEqual(RETENTION_TRIANGLE);
  }, 180_000);
});

describe('a shop with no order yet, on the tiny fixture', () => {
  const early = tinyProject();

  it('is modelled as of the last day anything was recorded: its contacts are prospects and leads, each with a strategy', async () => {
    rmSync(path.join(early.dir, 'sources', 'crm', 'orders.csv'));
    const result = await runSteps(early, 'extract,transform');
    expect(result.code, result.stderr).toBe(0);
    // c5's creation on February 10 is the last record (the email events end
    // on January 8, the web events on January 5); most marketing spend is in EUR.
    expect(
      await rowsOf(early.warehouse, "select strftime(as_of_date, '%Y-%m-%d') as day, reporting_currency from intermediate.int_reporting_settings"),
    ).toEqual([{ day: '2024-02-10', reporting_currency: 'EUR' }]);
    // c6 (fay) put a product in the cart on January 5: a lead; the other five are prospects.
    expect(
      await rowsOf(
        early.warehouse,
        `select lifecycle_stage, strategy, string_agg(customer_id, ',' order by customer_id) as customers
         from marts.dim_customer_segments group by all order by lifecycle_stage`,
      ),
    ).toEqual([
      { lifecycle_stage: 'lead', strategy: 'start', customers: 'c6' },
      { lifecycle_stage: 'prospect', strategy: 'start', customers: 'c1,c2,c3,c4,c5' },
    ]);
  }, 180_000);
});

describe("a shop's one address for walk-in customers, on the tiny fixture", () => {
  const shop = tinyProject();

  it('is no one\'s: each contact on it is a customer of its own, with its own order and no address for a list', async () => {
    // 11 contacts on one address, one more than identity_max_contacts_per_email
    // (10), in two spellings; 2 on noemail@, a placeholder pattern. Each bought once.
    const walkIns = Array.from({ length: 11 }, (_, index) => [`w${index + 1}`, index % 2 ? 'WalkIn@Shop.example' : ' walkin@shop.example']);
    const placeholders = [['n1', 'noemail@shop.example'], ['n2', 'NoEmail@shop.example']];
    const contacts = [...walkIns, ...placeholders];
    writeFileSync(
      path.join(shop.dir, 'sources', 'crm', 'contacts-walk-in.csv'),
      ['contact_id,email,created_at,updated_at', ...contacts.map(([id, email]) => `${id},${email},2024-01-02T10:00:00Z,2024-01-02T10:00:00Z`)].join('\n') + '\n',
    );
    writeFileSync(
      path.join(shop.dir, 'sources', 'crm', 'orders-walk-in.csv'),
      ['order_id,contact_id,ordered_at,status,amount,currency', ...contacts.map(([id]) => `o-${id},${id},2024-01-04T10:00:00Z,paid,10.00,EUR`)].join('\n') + '\n',
    );
    const result = await runSteps(shop, 'extract,transform');
    expect(result.code, result.stderr).toBe(0);
    const customers = await rowsOf<{ customer_id: string; email: string | null; paid_orders: bigint }>(
      shop.warehouse,
      `select customer_id, email, paid_orders from marts.dim_customers
       where customer_id similar to '(w|n)[0-9]+' order by customer_id`,
    );
    expect(customers.map((customer) => customer.customer_id).sort()).toEqual(contacts.map(([id]) => id).sort());
    expect(customers.every((customer) => customer.email === null && customer.paid_orders === 1n)).toBe(true);
    // The fixture's own customers are as they were: c1 (Ann) keeps her address.
    expect(await rowsOf(shop.warehouse, "select email from marts.dim_customers where customer_id = 'c1'")).toEqual([{ email: 'ann@example.com' }]);
  }, 180_000);
});
