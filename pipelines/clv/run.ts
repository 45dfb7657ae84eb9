// `tango clv fit` and `tango clv validate`: the models fitted to a
// transaction file, and their predictions checked against a holdout period.
import { expectedPurchases, fitFrequency, fitSpend, type Fit, type FrequencyParameters, type SpendParameters } from './models.ts';
import { hyp2f1 } from './special.ts';
import { holdoutData, summarizeTransactions, TIME_UNITS, type SummaryOptions } from './transactions.ts';

export interface FitReport {
  customers: number;
  repeat_customers: number;
  /** Repeat buyers left out of the spend model (mean repeat value not positive). */
  spend_excluded: number;
  unit: string;
  calibration_end: string;
  bgnbd: FrequencyParameters & { loglik: number };
  mbgnbd: FrequencyParameters & { loglik: number };
  gamma_gamma: SpendParameters & { loglik: number };
  diagnostics: Record<
    'bgnbd' | 'mbgnbd' | 'gamma_gamma',
    { iterations: number; evaluations: number; converged: boolean; standard_errors: Record<string, number> }
  >;
}

const described = <Parameters>(fit: Fit<Parameters>) => ({ ...fit.parameters, loglik: fit.logLikelihood });
const diagnostics = (fit: Fit<FrequencyParameters> | Fit<SpendParameters>) => ({
  iterations: fit.iterations,
  evaluations: fit.evaluations,
  converged: fit.converged,
  standard_errors: { ...fit.standardErrors },
});

export async function fitTransactions(options: SummaryOptions): Promise<FitReport> {
  const summary = await summarizeTransactions(options);
  const bgnbd = fitFrequency('bgnbd', summary.frequency);
  const mbgnbd = fitFrequency('mbgnbd', summary.frequency);
  const gammaGamma = fitSpend(summary.spend);
  return {
    customers: summary.customers,
    repeat_customers: summary.repeatCustomers,
    spend_excluded: summary.spendExcluded,
    unit: options.unit,
    calibration_end: options.calibrationEnd,
    bgnbd: described(bgnbd),
    mbgnbd: described(mbgnbd),
    gamma_gamma: described(gammaGamma),
    diagnostics: { bgnbd: diagnostics(bgnbd), mbgnbd: diagnostics(mbgnbd), gamma_gamma: diagnostics(gammaGamma) },
  };
}

/** BG/NBD: expected repeat purchases of a new customer in its first t units. */
function unconditionalPurchases({ r, alpha, a, b }: FrequencyParameters, t: number): number {
  if (t <= 0) return 0;
  return ((a + b - 1) / (a - 1)) * (1 - Math.exp(r * (Math.log(alpha) - Math.log(alpha + t))) * hyp2f1(r, b, a + b - 1, t / (alpha + t)));
}

export interface ValidationReport {
  parameters: FrequencyParameters;
  calibration_end: string;
  holdout_end: string;
  /** The holdout's length in the time unit. */
  holdout_length: number;
  unit: string;
  total: { actual: number; predicted: number };
  /** By repeat purchases in calibration: customers, and mean holdout repeat purchases actual and predicted. */
  by_frequency: { calibration_purchases: string; customers: number; actual: number; predicted: number }[];
  /** Cumulative repeat purchases of all customers at the end of each period since the first purchase in the data. */
  cumulative: { period: number; actual: number; predicted: number }[];
}

/** Fits BG/NBD on the calibration period and compares its predictions with the holdout. */
export async function validateTransactions(options: SummaryOptions & { holdoutEnd?: string }): Promise<ValidationReport> {
  const data = await holdoutData(options);
  const parameters = fitFrequency('bgnbd', data.summary.frequency).parameters;
  const unitDays = TIME_UNITS[options.unit];
  const horizon = data.holdoutDays / unitDays;

  const bins = new Map<string, { customers: number; actual: number; predicted: number }>();
  let actualTotal = 0;
  let predictedTotal = 0;
  const { holdout } = data;
  for (let i = 0; i < holdout.x.length; i++) {
    const x = holdout.x[i]!;
    const predicted = expectedPurchases('bgnbd', parameters, horizon, x, holdout.tx[i]!, holdout.T[i]!) * holdout.customers[i]!;
    const label = x >= 7 ? '7+' : String(x);
    const bin = bins.get(label) ?? { customers: 0, actual: 0, predicted: 0 };
    bin.customers += holdout.customers[i]!;
    bin.actual += holdout.actual[i]!;
    bin.predicted += predicted;
    bins.set(label, bin);
    actualTotal += holdout.actual[i]!;
    predictedTotal += predicted;
  }

  const lastDay = Math.max(...data.repeatPurchases.day, ...data.firstPurchases.day, 0);
  const periods = Math.ceil((lastDay + 1) / unitDays);
  const cumulative: ValidationReport['cumulative'] = [];
  let actual = 0;
  let next = 0;
  for (let period = 1; period <= periods; period++) {
    // The period's last day, counted from the first purchase in the data.
    const until = period * unitDays - 1;
    while (next < data.repeatPurchases.day.length && data.repeatPurchases.day[next]! <= until) actual += data.repeatPurchases.purchases[next++]!;
    let predicted = 0;
    for (let i = 0; i < data.firstPurchases.day.length; i++) {
      predicted += data.firstPurchases.customers[i]! * unconditionalPurchases(parameters, (until - data.firstPurchases.day[i]!) / unitDays);
    }
    cumulative.push({ period, actual, predicted });
  }

  return {
    parameters,
    calibration_end: options.calibrationEnd,
    holdout_end: data.holdoutEnd,
    holdout_length: horizon,
    unit: options.unit,
    total: { actual: actualTotal, predicted: predictedTotal },
    by_frequency: [...bins.entries()]
      .sort(([left], [right]) => (left === '7+' ? 99 : Number(left)) - (right === '7+' ? 99 : Number(right)))
      .map(([label, bin]) => ({ calibration_purchases: label, customers: bin.customers, actual: bin.actual / bin.customers, predicted: bin.predicted / bin.customers })),
    cumulative,
  };
}
