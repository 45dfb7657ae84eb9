// Parameter recovery: the generator draws each buyer's purchase rate, drop-out
// probability and spend from known distributions (pipelines/demo/model.ts).
// Fitted through the real `tango clv fit` on 100,000 generated people, the
// models must give those distributions back.
//
// The buyers of the BG/NBD process (the replenishers' steady rhythm is
// another process, so they are left out using the ground truth) drop out
// after every purchase, the first included: that is the modified BG/NBD
// (MBG/NBD, Batislam et al. 2007), which the fit must therefore prefer.
//
// Tolerances. Sampling error is small at this size (the fit's standard
// errors are 1-2 % of each parameter). The systematic one is known: the
// summary merges purchases of one day into one, and at a mean rate of one
// order every 12.5 days about 5 % of these orders share a day with another
// (counted with `count(distinct day)` against `count(*)` on the file). That
// lowers the observed purchase rate by about as much, raises the drop-out per
// observed purchase by about as much, and raises the spend per purchase. It
// thins the fastest buyers most, so the rate distribution looks narrower:
// its shape r and scale alpha move together, more than their ratio. Hence:
// population means within 10 %, shape and scale parameters within 20 %.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

import { DEMO_MODEL } from '../../../pipelines/demo/model.ts';
import { openWarehouse, sqlString } from '../../../pipelines/warehouse.ts';
import { generateDemoSources, runTango, tempDir } from '../../helpers.ts';

interface Frequency {
  r: number;
  alpha: number;
  a: number;
  b: number;
  loglik: number;
}

describe('clv fit on the generated shop (100,000 people)', () => {
  let fit: { customers: number; bgnbd: Frequency; mbgnbd: Frequency; gamma_gamma: { p: number; q: number; gamma: number } };

  beforeAll(async () => {
    const dir = tempDir();
    await generateDemoSources(dir, { customers: 100_000, seed: 11, startDate: '2023-01-01', endDate: '2025-12-31' });
    // One row per order of a BG/NBD buyer (every status: a cancelled order was
    // still a purchase event of the process), by person, amounts in EUR.
    const transactions = path.join(dir, 'transactions.csv');
    const warehouse = await openWarehouse(path.join(dir, 'scratch.duckdb'));
    try {
      await warehouse.connection.run(
        `copy (
           with people as (
             select person_id, unnest(string_split(contact_ids, '|')) as contact_id
             from read_csv(${sqlString(path.join(dir, 'truth', 'customers.csv.gz'))}, all_varchar = true)
             where is_buyer = 'true' and is_replenisher = 'false'),
           orders as (
             select contact_id, try_cast(ordered_at as timestamptz) as ordered, try_cast(amount as double) as amount, currency
             from read_csv(${sqlString(path.join(dir, 'sources', 'crm', 'orders.csv'))}, all_varchar = true, strict_mode = false, ignore_errors = true))
           select person_id as customer, strftime(ordered at time zone 'UTC', '%Y-%m-%d') as day,
             round(case when currency = 'GBP' then amount / 0.86 else amount end, 2) as amount
           from orders join people using (contact_id)
           where ordered is not null and amount is not null
         ) to ${sqlString(transactions)} (header)`,
      );
    } finally {
      warehouse.close();
    }
    const result = await runTango([
      'clv', 'fit', '--transactions', transactions, '--customer-col', 'customer', '--date-col', 'day', '--amount-col', 'amount',
      '--calibration-end', '2025-12-31', '--unit', 'days', '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    fit = JSON.parse(result.stdout);
    // Of 100,000 people about 45 % buy, 85 % of them by BG/NBD.
    expect(fit.customers).toBeGreaterThan(35_000);
  }, 600_000);

  const within = (estimate: number, truth: number, tolerance: number) => expect(Math.abs(estimate / truth - 1), `${estimate} vs ${truth}`).toBeLessThan(tolerance);

  it('prefers the modified BG/NBD, the process the generator follows', () => {
    expect(fit.mbgnbd.loglik).toBeGreaterThan(fit.bgnbd.loglik);
  });

  it('recovers the purchase rate: mean r / alpha and the Gamma(r, alpha) shape', () => {
    const { r, alpha } = DEMO_MODEL.purchaseRate;
    within(fit.mbgnbd.r / fit.mbgnbd.alpha, r / alpha, 0.1);
    within(fit.mbgnbd.r, r, 0.2);
    within(fit.mbgnbd.alpha, alpha, 0.2);
  });

  it('recovers the drop-out: mean a / (a + b) and the Beta(a, b) shape', () => {
    const { a, b } = DEMO_MODEL.dropout;
    within(fit.mbgnbd.a / (fit.mbgnbd.a + fit.mbgnbd.b), a / (a + b), 0.1);
    within(fit.mbgnbd.a, a, 0.2);
    within(fit.mbgnbd.b, b, 0.2);
  });

  it('recovers the Gamma-Gamma spend: p, q, gamma and the mean spend p gamma / (q - 1)', () => {
    const { p, q, gamma } = DEMO_MODEL.spend;
    const fitted = fit.gamma_gamma;
    within((fitted.p * fitted.gamma) / (fitted.q - 1), (p * gamma) / (q - 1), 0.1);
    within(fitted.p, p, 0.2);
    within(fitted.q, q, 0.2);
    within(fitted.gamma, gamma, 0.2);
  });
});
