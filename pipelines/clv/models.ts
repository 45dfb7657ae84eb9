// Buy-till-you-die models fitted by maximum likelihood: BG/NBD (Fader, Hardie
// and Lee 2005), its modified form MBG/NBD (Batislam, Denizel and Filiztekin
// 2007), in which a customer can also drop out right after the first
// purchase, and the Gamma-Gamma spend model (Fader, Hardie and Lee 2005, "RFM
// and CLV"). Likelihoods are summed in log space over groups of identical
// (x, t_x, T) with weights; terms that depend on x alone are computed once
// per distinct x.
import { hyp2f1, lnGamma, logAddExp } from './special.ts';
import { minimizePositive, standardErrors, type OptimizeResult } from './optimize.ts';

/** Customers summarised for the models, grouped: identical rows become one with a weight. */
export interface FrequencyGroups {
  /** Repeat purchases in the calibration period. */
  x: Float64Array;
  /** Time from the first to the last purchase. */
  tx: Float64Array;
  /** Time from the first purchase to the end of calibration. */
  T: Float64Array;
  weight: Float64Array;
}

export type FrequencyModel = 'bgnbd' | 'mbgnbd';

export interface FrequencyParameters {
  r: number;
  alpha: number;
  a: number;
  b: number;
}

export interface SpendParameters {
  p: number;
  q: number;
  gamma: number;
}

export interface Fit<Parameters> {
  parameters: Parameters;
  logLikelihood: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
  /** Asymptotic standard errors of the parameters (NaN where not defined). */
  standardErrors: Parameters;
}

export class ModelFitError extends Error {
  override name = 'ModelFitError';
}

/** The distinct values of a column and, per group, the index of its value among them. */
function distinctValues(column: Float64Array): { values: number[]; index: Uint32Array } {
  const values = [...new Set(column)].sort((left, right) => left - right);
  const position = new Map(values.map((value, i) => [value, i]));
  const index = new Uint32Array(column.length);
  for (let i = 0; i < column.length; i++) index[i] = position.get(column[i]!)!;
  return { values, index };
}

/**
 * The groups' distinct x, t_x and T: terms that depend on one of them are
 * computed once per distinct value at each evaluation (time in days gives
 * at most a few thousand distinct t_x and T, whatever the number of customers).
 */
export function indexGroups(groups: FrequencyGroups) {
  return { x: distinctValues(groups.x), tx: distinctValues(groups.tx), T: distinctValues(groups.T) };
}

/** The log-likelihood of BG/NBD or MBG/NBD at the given parameters. */
export function frequencyLogLikelihood(
  model: FrequencyModel,
  groups: FrequencyGroups,
  parameters: FrequencyParameters,
  index = indexGroups(groups),
): number {
  const { r, alpha, a, b } = parameters;
  const modified = model === 'mbgnbd';
  const shared = lnGamma(a + b) - lnGamma(b) - lnGamma(r) + r * Math.log(alpha);
  const xTerm = new Float64Array(index.x.values.length);
  const dropTerm = new Float64Array(index.x.values.length);
  for (const [i, x] of index.x.values.entries()) {
    // ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x[+1]) − ln B(a, b)
    const extra = modified ? 1 : 0;
    xTerm[i] = shared + lnGamma(r + x) + lnGamma(b + x + extra) - lnGamma(a + b + x + extra);
    // ln(a / (b + x − 1)) for BG/NBD (only when x > 0), ln(a / (b + x)) for MBG/NBD.
    dropTerm[i] = modified ? Math.log(a) - Math.log(b + x) : x > 0 ? Math.log(a) - Math.log(b + x - 1) : -Infinity;
  }
  const logAlphaT = index.T.values.map((T) => Math.log(alpha + T));
  const logAlphaTx = index.tx.values.map((tx) => Math.log(alpha + tx));
  let total = 0;
  for (let i = 0; i < groups.x.length; i++) {
    const k = index.x.index[i]!;
    const rx = r + groups.x[i]!;
    const stays = -rx * logAlphaT[index.T.index[i]!]!;
    const leaves = dropTerm[k] === -Infinity ? -Infinity : dropTerm[k]! - rx * logAlphaTx[index.tx.index[i]!]!;
    total += groups.weight[i]! * (xTerm[k]! + logAddExp(stays, leaves));
  }
  return total;
}

function checkFit<Parameters extends object>(
  result: OptimizeResult,
  objective: (parameters: number[]) => number,
  names: (keyof Parameters)[],
  what: string,
): Fit<Parameters> {
  if (!Number.isFinite(result.value)) throw new ModelFitError(`${what}: the likelihood is not finite at any point tried`);
  if (!result.converged) {
    throw new ModelFitError(`${what}: did not converge in ${result.iterations} iterations (${result.evaluations} evaluations); last log-likelihood ${(-result.value).toFixed(4)}`);
  }
  const named = (values: number[]) => Object.fromEntries(names.map((name, i) => [name, values[i]])) as Parameters;
  return {
    parameters: named(result.parameters),
    logLikelihood: -result.value,
    iterations: result.iterations,
    evaluations: result.evaluations,
    converged: true,
    standardErrors: named(standardErrors(objective, result.parameters)),
  };
}

export function fitFrequency(model: FrequencyModel, groups: FrequencyGroups): Fit<FrequencyParameters> {
  let customers = 0;
  let repeaters = 0;
  for (let i = 0; i < groups.x.length; i++) {
    customers += groups.weight[i]!;
    if (groups.x[i]! > 0) repeaters += groups.weight[i]!;
  }
  if (repeaters < 2) {
    throw new ModelFitError(`${model}: ${repeaters} of ${customers} customers bought more than once; at least 2 repeat buyers are needed to fit the model`);
  }
  const index = indexGroups(groups);
  const objective = ([r, alpha, a, b]: number[]) => -frequencyLogLikelihood(model, groups, { r: r!, alpha: alpha!, a: a!, b: b! }, index);
  return checkFit<FrequencyParameters>(minimizePositive(objective, [1, 1, 1, 1]), objective, ['r', 'alpha', 'a', 'b'], model);
}

/** Repeat buyers for the spend model: repeat purchases and their mean value, grouped. */
export interface SpendGroups {
  x: Float64Array;
  meanSpend: Float64Array;
  weight: Float64Array;
}

export function spendLogLikelihood(
  groups: SpendGroups,
  { p, q, gamma }: SpendParameters,
  xs = distinctValues(groups.x),
  logSpend?: Float64Array,
): number {
  const xTerm = new Float64Array(xs.values.length);
  for (const [i, x] of xs.values.entries()) xTerm[i] = lnGamma(p * x + q) - lnGamma(p * x) - lnGamma(q) + q * Math.log(gamma) + p * x * Math.log(x);
  let total = 0;
  for (let i = 0; i < groups.x.length; i++) {
    const x = groups.x[i]!;
    const m = groups.meanSpend[i]!;
    const logM = logSpend ? logSpend[i]! : Math.log(m);
    total += groups.weight[i]! * (xTerm[xs.index[i]!]! + (p * x - 1) * logM - (p * x + q) * Math.log(gamma + m * x));
  }
  return total;
}

export function fitSpend(groups: SpendGroups): Fit<SpendParameters> {
  let buyers = 0;
  for (let i = 0; i < groups.x.length; i++) {
    if (!(groups.meanSpend[i]! > 0)) throw new ModelFitError(`gamma-gamma: a repeat buyer has a non-positive mean spend (${groups.meanSpend[i]}); exclude such customers first`);
    buyers += groups.weight[i]!;
  }
  if (buyers < 2) throw new ModelFitError(`gamma-gamma: ${buyers} repeat buyer(s) with a positive spend; at least 2 are needed`);
  const xs = distinctValues(groups.x);
  const logSpend = groups.meanSpend.map(Math.log);
  const objective = ([p, q, gamma]: number[]) => -spendLogLikelihood(groups, { p: p!, q: q!, gamma: gamma! }, xs, logSpend);
  return checkFit<SpendParameters>(minimizePositive(objective, [1, 1, 1]), objective, ['p', 'q', 'gamma'], 'gamma-gamma');
}

/** The probability that a customer with (x, t_x, T) is still alive. */
export function probabilityAlive(model: FrequencyModel, { r, alpha, a, b }: FrequencyParameters, x: number, tx: number, T: number): number {
  if (model === 'bgnbd' && x === 0) return 1;
  const logOdds = Math.log(a) - Math.log(model === 'mbgnbd' ? b + x : b + x - 1) + (r + x) * (Math.log(alpha + T) - Math.log(alpha + tx));
  return 1 / (1 + Math.exp(logOdds));
}

/**
 * Expected purchases in the next `t` time units for a customer with (x, t_x, T).
 * The published form has ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x; a+b+x−1; z); by
 * Euler's transformation that is (1−z)^(a−1) 2F1(a+b−1−r, a−1; a+b+x−1; z),
 * whose series converges in a few terms even for frequent buyers (the
 * first form needs thousands when x is in the hundreds).
 */
export function expectedPurchases(model: FrequencyModel, parameters: FrequencyParameters, t: number, x: number, tx: number, T: number): number {
  const { r, alpha, a, b } = parameters;
  const modified = model === 'mbgnbd' ? 1 : 0;
  const head = (a + b + x - 1 + modified) / (a - 1);
  const z = t / (alpha + T + t);
  const tail = Math.exp((a - 1) * Math.log1p(-z)) * hyp2f1(a + b - 1 + modified - r, a - 1, a + b + x - 1 + modified, z);
  return head * (1 - tail) * probabilityAlive(model, parameters, x, tx, T);
}

/** The expected mean value of a customer's future purchases (Gamma-Gamma; needs q > 1). */
export function expectedSpend({ p, q, gamma }: SpendParameters, x: number, meanSpend: number): number {
  if (q <= 1) throw new ModelFitError(`gamma-gamma: q = ${q} <= 1, so the expected spend is infinite`);
  if (x === 0) return (p * gamma) / (q - 1);
  return (p * (gamma + x * meanSpend)) / (p * x + q - 1);
}
