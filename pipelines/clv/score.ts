// The clv step of the transform (which has created the raw_clv contracts):
// fits BG/NBD and Gamma-Gamma to the buyers in
// intermediate.int_customer_clv_summary and writes each buyer's P(alive),
// expected purchases, expected spend and predicted CLV to
// raw_clv.customer_predictions, and the fits to raw_clv.model_fits. Customers
// with the same (x, t_x, T) share one prediction, computed once.
import type { DuckDBAppender } from '@duckdb/node-api';

import type { Logger } from '../log.ts';
import { inTransaction, openWarehouse, queryNumberColumns, queryRows, sqlString } from '../warehouse.ts';
import { expectedPurchases, expectedSpend, fitFrequency, fitSpend, ModelFitError, probabilityAlive, type Fit, type FrequencyParameters, type SpendParameters } from './models.ts';

const SUMMARY = 'intermediate.int_customer_clv_summary';
const DAYS_PER_MONTH = 365.25 / 12;

interface Settings {
  time_unit_days: number;
  horizon_months: number;
  annual_discount_rate: number;
}

/** The purchases expected in each of the next `horizon_months` months, each discounted to today, summed. */
function discountedPurchases(parameters: FrequencyParameters, settings: Settings, x: number, tx: number, T: number): number {
  const monthUnits = DAYS_PER_MONTH / settings.time_unit_days;
  let discounted = 0;
  let before = 0;
  for (let month = 1; month <= settings.horizon_months; month++) {
    const by = expectedPurchases('bgnbd', parameters, month * monthUnits, x, tx, T);
    discounted += (by - before) / (1 + settings.annual_discount_rate) ** (month / 12);
    before = by;
  }
  return discounted;
}

/** Each (x, t_x, T) group's predictions from a BG/NBD fit, and whether every one is a finite number. */
export function scoreGroups(parameters: FrequencyParameters, settings: Settings, x: ArrayLike<number>, tx: ArrayLike<number>, T: ArrayLike<number>) {
  const unitsIn = (days: number) => days / settings.time_unit_days;
  const scores = Array.from(x, (gx, i) => {
    const [gtx, gT] = [tx[i]!, T[i]!];
    return [
      probabilityAlive('bgnbd', parameters, gx, gtx, gT),
      expectedPurchases('bgnbd', parameters, unitsIn(90), gx, gtx, gT),
      expectedPurchases('bgnbd', parameters, unitsIn(365), gx, gtx, gT),
      discountedPurchases(parameters, settings, gx, gtx, gT),
    ] as const;
  });
  return { scores, finite: scores.every((score) => score.every(Number.isFinite)) };
}

export async function scoreCustomers(warehousePath: string, runId: string, log: Logger): Promise<void> {
  const started = Date.now();
  const warehouse = await openWarehouse(warehousePath);
  const { connection } = warehouse;
  try {
    const [settings] = await queryRows<Settings>(connection, `select any_value(time_unit_days)::double as time_unit_days,
      any_value(horizon_months)::integer as horizon_months, any_value(annual_discount_rate)::double as annual_discount_rate from ${SUMMARY}`);
    const [x, tx, T, weight] = await queryNumberColumns(
      connection,
      // Ordered, so that the likelihood sums in the same order every run: same data, same fit, to the last bit.
      `select repeat_purchases::double, recency::double, age::double, count(*)::double from ${SUMMARY} group by all order by all`,
    );
    const [spendX, spendMean, spendWeight] = await queryNumberColumns(
      connection,
      `select repeat_purchases::double, mean_repeat_value::double, count(*)::double from ${SUMMARY}
       where repeat_purchases > 0 and mean_repeat_value > 0 group by all order by all`,
    );
    const [counts] = await queryRows<{ customers: bigint; repeaters: bigint; excluded: bigint }>(
      connection,
      `select count(*) as customers, count(*) filter (where repeat_purchases > 0) as repeaters,
         count(*) filter (where repeat_purchases > 0 and not coalesce(mean_repeat_value > 0, false)) as excluded from ${SUMMARY}`,
    );
    const fitRows: string[] = [];
    const record = (model: string, fit: Fit<FrequencyParameters | SpendParameters> | undefined, problem: Error | undefined, excluded: number) => {
      if (problem) log.warn(`clv: ${problem.message}; no predictions from this model`);
      fitRows.push(
        `(${sqlString(runId)}, now()::timestamp, '${model}', '${fit && !problem ? 'fitted' : 'failed'}', ${fit ? sqlString(JSON.stringify(fit.parameters)) : 'null'},
          ${fit?.logLikelihood ?? 'null'}, ${fit?.iterations ?? 'null'}, ${fit?.evaluations ?? 'null'}, ${counts!.customers}, ${counts!.repeaters}, ${excluded},
          ${problem ? sqlString(problem.message) : 'null'}, ${fit ? sqlString(JSON.stringify(fit.standardErrors)) : 'null'})`,
      );
    };
    // A fit that fails is recorded and warned; the models' own checks say why (too few buyers, no convergence, ...).
    const attempt = <Parameters>(work: () => Fit<Parameters>): { fit?: Fit<Parameters>; error?: Error } => {
      try {
        return { fit: work() };
      } catch (error) {
        if (error instanceof ModelFitError) return { error };
        throw error;
      }
    };

    // A fit to a handful of buyers can run its parameters off to zero or
    // infinity and give predictions that are NaN or infinite: such a fit is
    // recorded as failed and predicts nothing, like one that did not converge.
    const notFinite = (model: string, parameters: object) =>
      new ModelFitError(`${model}: the fit gives predictions that are not finite numbers (parameters ${JSON.stringify(parameters)}), as a fit to few buyers can`);
    const frequency = attempt(() => fitFrequency('bgnbd', { x: x!, tx: tx!, T: T!, weight: weight! }));
    const groups = frequency.fit ? scoreGroups(frequency.fit.parameters, settings!, x!, tx!, T!) : undefined;
    const frequencyProblem = frequency.error ?? (groups && !groups.finite ? notFinite('bgnbd', frequency.fit!.parameters) : undefined);
    const frequencyUsable = frequencyProblem ? undefined : frequency.fit;
    record('bgnbd', frequency.fit, frequencyProblem, 0);
    const spend = attempt(() => fitSpend({ x: spendX!, meanSpend: spendMean!, weight: spendWeight! }));
    const spendFinite = spend.fit && spend.fit.parameters.q > 1 ? spend.fit : undefined;
    // Spend depends on the customer's mean value: per distinct (x, mean).
    const [vx, vMean] = spendFinite
      ? await queryNumberColumns(connection, `select distinct repeat_purchases::double, coalesce(mean_repeat_value, 0)::double from ${SUMMARY}`)
      : [[], []];
    const spendValues = spendFinite ? Array.from(vx!, (gx, i) => expectedSpend(spendFinite.parameters, vMean![i]! > 0 ? gx : 0, vMean![i]!)) : [];
    const spendUsable = spendFinite && spendValues.every(Number.isFinite) ? spendFinite : undefined;
    const spendProblem =
      spend.error ??
      (spend.fit && !spendFinite ? new ModelFitError(`gamma-gamma: q = ${spend.fit.parameters.q} <= 1, so the expected spend is infinite`) : undefined) ??
      (spendFinite && !spendUsable ? notFinite('gamma-gamma', spendFinite.parameters) : undefined);
    record('gamma_gamma', spend.fit, spendProblem, Number(counts!.excluded));

    await inTransaction(connection, async () => {
      await connection.run(`delete from raw_clv.customer_predictions`);
      await connection.run(
        `insert into raw_clv.model_fits (run_id, fitted_at, model, status, parameters, log_likelihood, iterations, evaluations,
           customers, repeat_customers, excluded_customers, message, standard_errors)
         values ${fitRows.join(', ')}`,
      );
      if (!frequencyUsable) return;
      await connection.run(
        `create or replace temp table _tango_clv_groups (repeat_purchases double, recency double, age double, p_alive double,
           expected_purchases_90d double, expected_purchases_365d double, discounted_purchases double)`,
      );
      const appender = await connection.createAppender('_tango_clv_groups', 'main', 'temp');
      for (const [i, score] of groups!.scores.entries()) {
        appender.appendDouble(x![i]!);
        appender.appendDouble(tx![i]!);
        appender.appendDouble(T![i]!);
        for (const value of score) appender.appendDouble(value);
        appender.endRow();
      }
      appender.closeSync();
      // CLV = spend x discounted purchases.
      await connection.run(`create or replace temp table _tango_clv_spend (repeat_purchases double, mean_repeat_value double, expected_spend double)`);
      if (spendUsable) {
        const values: DuckDBAppender = await connection.createAppender('_tango_clv_spend', 'main', 'temp');
        for (const [i, value] of spendValues.entries()) {
          values.appendDouble(vx![i]!);
          values.appendDouble(vMean![i]!);
          values.appendDouble(value);
          values.endRow();
        }
        values.closeSync();
      }
      await connection.run(
        `insert into raw_clv.customer_predictions
         select summary.customer_id, groups.p_alive, groups.expected_purchases_90d, groups.expected_purchases_365d,
           spend.expected_spend, spend.expected_spend * groups.discounted_purchases, ${sqlString(runId)}, now()::timestamp
         from ${SUMMARY} as summary
         join _tango_clv_groups as groups
           on summary.repeat_purchases = groups.repeat_purchases and summary.recency = groups.recency and summary.age = groups.age
         left join _tango_clv_spend as spend
           on summary.repeat_purchases = spend.repeat_purchases and coalesce(summary.mean_repeat_value, 0) = spend.mean_repeat_value`,
      );
    });
    const fitted = frequencyUsable?.parameters;
    if (fitted) {
      const seconds = (Date.now() - started) / 1000;
      log.info(
        `clv: ${counts!.customers} buyers scored; BG/NBD r ${fitted.r.toFixed(3)} alpha ${fitted.alpha.toFixed(3)} a ${fitted.a.toFixed(3)} b ${fitted.b.toFixed(3)}` +
          (spendUsable ? `; Gamma-Gamma p ${spendUsable.parameters.p.toFixed(3)} q ${spendUsable.parameters.q.toFixed(3)} gamma ${spendUsable.parameters.gamma.toFixed(3)}` : '') +
          ` (fit and scoring ${seconds.toFixed(1)} s)`,
        { clv_buyers: Number(counts!.customers), clv_seconds: seconds },
      );
    }
  } finally {
    warehouse.close();
  }
}
