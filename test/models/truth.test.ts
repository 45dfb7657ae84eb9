// The models against the demo generator's ground truth (truth/customers.csv.gz):
// the generator knows who each person is, which contacts are theirs, when they
// stopped buying and whom they referred.
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openWarehouse, queryRows, sqlString, type Warehouse } from '../../pipelines/warehouse.ts';
import { runTango, tempDir } from '../helpers.ts';

const END = '2025-12-31';

describe('models against the generator truth (10,000 people)', () => {
  let warehouse: Warehouse;
  const rows = <Row>(sql: string) => queryRows<Row>(warehouse.connection, sql);

  beforeAll(async () => {
    const dir = tempDir();
    const generated = await runTango(['generate', '--customers', '10000', '--seed', '7', '--end', END, '--out', dir]);
    expect(generated.code, generated.stderr).toBe(0);
    const configFile = path.join(dir, 'tango.config.yaml');
    writeFileSync(
      configFile,
      stringify({
        warehouse: { path: 'warehouse.duckdb' },
        sources: ['crm', 'web', 'email'].map((domain) => ({ name: domain, kind: `${domain}_files`, path: `sources/${domain}` })),
      }),
    );
    const run = await runTango(['--config', configFile, 'run', '--steps', 'extract,transform']);
    expect(run.code, run.stderr).toBe(0);
    warehouse = await openWarehouse(path.join(dir, 'warehouse.duckdb'), { readOnly: true });
    await warehouse.connection.run(`create temp table truth as select * from read_csv(${sqlString(path.join(dir, 'truth', 'customers.csv.gz'))}, header = true)`);
    // Each person's customer, through its first contact.
    await warehouse.connection.run(
      `create temp table person_customers as
       select truth.*, keys.customer_id
       from truth
       join intermediate.int_customer_keys_resolved as keys
         on keys.key_type = 'contact_id' and keys.key_value = string_split(truth.contact_ids, '|')[1]`,
    );
  }, 300_000);
  afterAll(() => warehouse?.close());

  it('resolves a person with two contacts (the email spelt differently) to one customer, and two people never to one', async () => {
    const [merged] = await rows<{ people: bigint; resolved_to_one: bigint }>(
      `select count(*) as people,
         count(*) filter (where (select count(distinct keys.customer_id) from intermediate.int_customer_keys_resolved as keys
                                 where keys.key_type = 'contact_id' and list_contains(string_split(truth.contact_ids, '|'), keys.key_value)) = 1) as resolved_to_one
       from truth where contains(contact_ids, '|')`,
    );
    // DEMO_WARTS.duplicateContactShare = 6 % of 10,000: hundreds, all merged.
    expect(Number(merged!.people)).toBeGreaterThan(400);
    expect(merged!.resolved_to_one).toBe(merged!.people);
    const [shared] = await rows<{ customers: bigint }>(
      'select count(*) as customers from (select customer_id from person_customers group by customer_id having count(*) > 1)',
    );
    expect(shared!.customers).toBe(0n);
    // The shop's test accounts (DEMO_WARTS.internalAccountShare) are left out of the customers.
    const [internal] = await rows<{ people: bigint; customers: bigint }>(
      `select count(*) as people, count(dim.customer_id) as customers
       from person_customers left join marts.dim_customers as dim using (customer_id) where person_customers.is_internal`,
    );
    expect(Number(internal!.people)).toBeGreaterThan(50);
    expect(internal!.customers).toBe(0n);
  });

  it('finds the first-touch channel the generator drew for each buyer', async () => {
    const [agreement] = await rows<{ buyers: bigint; same: bigint }>(
      `select count(*) as buyers, count(*) filter (where dim.acquisition_channel = person_customers.acquisition_channel) as same
       from person_customers join marts.dim_customers as dim using (customer_id)
       where person_customers.paid_orders > 0 and not person_customers.is_internal`,
    );
    // Exact: the first session's UTM (or, for organic, the CRM) names the channel drawn.
    expect(agreement!.same).toBe(agreement!.buyers);
  });

  it('puts the customers it made drop out more than 180 days before the end in at risk or lapsed', async () => {
    const [dropped] = await rows<{ customers: bigint; overdue: bigint }>(
      `select count(*) as customers, count(*) filter (where stages.lifecycle_stage in ('at_risk', 'lapsed')) as overdue
       from person_customers
       join marts.fct_customer_stages as stages on stages.customer_id = person_customers.customer_id and stages.is_current
       where not person_customers.is_internal and person_customers.paid_orders > 0
         and person_customers.dropped_out_at < timestamp '${END}' - interval 180 day`,
    );
    // Not 100 %: a customer whose own rhythm is over 60 days is not yet 3
    // rhythms overdue after 180 days, and one whose orders were all refunded
    // never bought (the generator counts refunded orders as paid).
    expect(Number(dropped!.customers)).toBeGreaterThan(1000);
    expect(Number(dropped!.overdue) / Number(dropped!.customers)).toBeGreaterThan(0.97);
  });

  it('counts the stage mix and the month-end stage flows from the stints as finding each customer’s stage on each day does', async () => {
    // Two implementations of one rule: the report models count stints that
    // start and end by month; here each customer's stage is looked up on
    // each month end, and the flows come from reports.stage_flows_between.
    const mix = await rows<{ snapshot_date: string; lifecycle_stage: string; customers: bigint }>(
      `select strftime(snapshot_date, '%Y-%m-%d') as snapshot_date, lifecycle_stage, customers
       from reports.rpt_stage_mix_monthly where customers > 0 order by all`,
    );
    const stintsOnMonthEnds = await rows(
      `select strftime(days.snapshot_date, '%Y-%m-%d') as snapshot_date, stints.lifecycle_stage, count(*) as customers
       from (select distinct snapshot_date from reports.rpt_stage_mix_monthly) as days
       join marts.fct_customer_stages as stints
         on stints.valid_from <= days.snapshot_date and days.snapshot_date < coalesce(stints.valid_to, date '9999-12-31')
       group by all order by all`,
    );
    expect(mix.length).toBeGreaterThan(200);
    expect(mix).toEqual(stintsOnMonthEnds);

    const pairs = await rows<{ from_date: string; to_date: string; comparison: string }>(
      `select distinct strftime(from_date, '%Y-%m-%d') as from_date, strftime(to_date, '%Y-%m-%d') as to_date, comparison
       from reports.rpt_stage_flows order by all`,
    );
    // Each month end to the next, and each but the reporting day to it.
    const monthEnds = new Set(mix.map((row) => row.snapshot_date)).size;
    expect(monthEnds).toBeGreaterThan(24);
    expect(pairs.length).toBe(2 * (monthEnds - 1));
    for (const pair of pairs) {
      const flows = `select from_stage, to_stage, customers from `;
      const counted = await rows(
        `${flows} reports.rpt_stage_flows
         where from_date = '${pair.from_date}' and to_date = '${pair.to_date}' and comparison = '${pair.comparison}' order by all`,
      );
      expect(counted, `${pair.comparison} ${pair.from_date} -> ${pair.to_date}`).toEqual(
        await rows(`${flows} reports.stage_flows_between('${pair.from_date}', '${pair.to_date}') order by all`),
      );
    }
  });

  it('makes advocates of the referrers whose referred friends bought, while they buy with a rhythm', async () => {
    const [referrers] = await rows<{ customers: bigint; advocates: bigint }>(
      `with referrers as (
         select distinct referred_by_person_id as person_id from truth
         where referred_by_person_id is not null and paid_orders > 0 and not is_internal)
       select count(*) as customers, count(*) filter (where stages.lifecycle_stage = 'advocate') as advocates
       from referrers
       join person_customers using (person_id)
       join marts.fct_customer_stages as stages on stages.customer_id = person_customers.customer_id and stages.is_current
       where stages.lifecycle_stage in ('regular', 'loyal', 'advocate')`,
    );
    // Not 100 %: a friend whose only orders were refunded has not bought.
    expect(Number(referrers!.customers)).toBeGreaterThan(100);
    expect(Number(referrers!.advocates) / Number(referrers!.customers)).toBeGreaterThan(0.95);
  });

  it('lapses a buyer from the day the predictive model gives it up, as the clv step scores it on the reporting day', async () => {
    // Two implementations of one rule: the breakpoints solve BG/NBD's
    // P(alive) < 0.1 (var lifecycle_lapsed_max_p_alive) for the day, in SQL;
    // the clv step computes P(alive) on the reporting day, in TypeScript.
    const [agreement] = await rows<{ buyers: bigint; gone: bigint; disagree: bigint; gone_not_lapsed: bigint }>(
      `with latest as (
         select * from intermediate.int_customer_stage_breakpoints
         qualify row_number() over (partition by customer_id order by stage_date desc) = 1)
       select count(*) as buyers,
         count(*) filter (where predictions.p_alive < 0.1) as gone,
         count(*) filter (where (predictions.p_alive < 0.1) <> coalesce(latest.predicted_gone_from <= settings.as_of_date, false)) as disagree,
         count(*) filter (where predictions.p_alive < 0.1 and latest.lifecycle_stage <> 'lapsed') as gone_not_lapsed
       from raw_clv.customer_predictions as predictions
       join latest using (customer_id)
       cross join intermediate.int_reporting_settings as settings`,
    );
    expect(Number(agreement!.buyers)).toBeGreaterThan(1000);
    expect(Number(agreement!.gone)).toBeGreaterThan(100);
    expect(agreement!.disagree).toBe(0n);
    expect(agreement!.gone_not_lapsed).toBe(0n);
  });

  it('scores every buyer with the predictive models, and recovers the drop-out and spend the generator drew', async () => {
    const [predictions] = await rows<{ buyers: bigint; predicted: bigint; bad: bigint }>(
      `select (select count(*) from marts.dim_customers where paid_orders > 0) as buyers,
         count(*) as predicted,
         count(*) filter (where not (p_alive between 0 and 1) or isnan(predicted_clv) or predicted_clv < 0 or expected_purchases_365d < expected_purchases_90d) as bad
       from raw_clv.customer_predictions`,
    );
    expect(predictions!.predicted).toBe(predictions!.buyers);
    expect(predictions!.bad).toBe(0n);
    const fits = await rows<{ model: string; status: string; parameters: string }>('select model, status, parameters::varchar as parameters from raw_clv.model_fits order by model');
    expect(fits.map((fit) => `${fit.model} ${fit.status}`)).toEqual(['bgnbd fitted', 'gamma_gamma fitted']);
    const bgnbd = JSON.parse(fits[0]!.parameters) as { a: number; b: number };
    // Drop-out after each purchase: Beta(1, 24), mean 0.04, for 85 % of buyers;
    // 0.04 for the replenishers too: 0.04 overall. With about 5,000 buyers the
    // estimate is within +-20 %.
    expect(bgnbd.a / (bgnbd.a + bgnbd.b)).toBeGreaterThan(0.04 * 0.8);
    expect(bgnbd.a / (bgnbd.a + bgnbd.b)).toBeLessThan(0.04 * 1.2);
    // Spend: Gamma-Gamma p 6.25, q 3.74, gamma 15.44, mean p * gamma / (q - 1) = 35.22.
    // Discounts and same-day merges move it a little; tens of thousands of repeat
    // orders make the sampling error small: within 5 %.
    const spend = JSON.parse(fits[1]!.parameters) as { p: number; q: number; gamma: number };
    expect(Math.abs((spend.p * spend.gamma) / (spend.q - 1) / 35.22 - 1)).toBeLessThan(0.05);
  });
});
